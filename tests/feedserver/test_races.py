"""Requests that arrive together: real PostgreSQL, gunicorn with two worker processes.

Each test makes its data in this process, then sends several requests at once from threads
(each its own browser, with its own cookies) to gunicorn's two workers, and counts what the
database ends up with.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from feedserver.storage import accounts
from feedserver.storage.models import Feed, User
from tests.feedserver.conftest import Server, _server
from tests.feedserver.served import Served, all_at_once, gunicorn

TRIALS = 15
BROWSERS = 4


@pytest.fixture
def pg(postgres_url: str, tmp_path: Path) -> Iterator[Server]:
    """The app on this run's PostgreSQL database (tables emptied afterwards), with a school."""
    with contextlib.contextmanager(_server)(postgres_url, tmp_path) as server:
        assert server.add_demo_school("demo-primary").status_code == 201
        yield server


@pytest.fixture
def served(pg: Server, postgres_url: str, tmp_path: Path) -> Iterator[Served]:
    """Gunicorn with two workers on the same database.

    It trusts one proxy, so each browser can come from an address of its own (X-Forwarded-For)
    and a trial's refused attempts never reach the limit on failed sign-in links.
    """
    env = {"SENCOCAL_TRUSTED_PROXIES": "1"}
    with gunicorn(postgres_url, tmp_path, workers=2, env=env) as running:
        yield running


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def post_form(browser: requests.Session, url: str, token: str, **fields: str) -> int:
    answer = browser.post(
        url, data={"csrf_token": token, **fields}, allow_redirects=False, timeout=20
    )
    return answer.status_code


def new_link(server: Server) -> str:
    """A fresh sign-in link for a school admin, made now by the real clock (gunicorn's)."""
    now = dt.datetime.now(dt.UTC)
    with server.services.db.session() as db:
        user = db.query(User).filter_by(name="Sam Senco").one_or_none()
        if user is None:
            user = User(name="Sam Senco", role="school", school_id="demo-primary", created_at=now)
            db.add(user)
            db.flush()
        return accounts.new_link(db, user, "test", now)


def test_a_sign_in_link_used_by_four_browsers_at_once_signs_in_exactly_one(
    pg: Server, served: Served
):
    signed_in = []
    for trial in range(TRIALS):
        path = f"/sign-in/{new_link(pg)}"
        browsers = [requests.Session() for _ in range(BROWSERS)]
        for i, browser in enumerate(browsers):
            browser.headers["X-Forwarded-For"] = f"10.1.{trial}.{i}"
        forms = [csrf_of(b.get(served.url(path), timeout=10).text) for b in browsers]

        codes = all_at_once(
            [
                lambda b=b, t=t, p=path: post_form(b, served.url(p), t)
                for b, t in zip(browsers, forms, strict=True)
            ]
        )
        assert set(codes) <= {302, 410}, (codes, served.log_text()[-3000:])
        signed_in.append(codes.count(302))
        for browser in browsers:
            browser.close()
    assert signed_in == [1] * TRIALS


def api_calls(served: Served, method: str, path: str, key: str, bodies: list[dict]) -> list[int]:
    """The same kind of API request, one per body, all at once; their status codes."""
    sessions = [requests.Session() for _ in bodies]

    def call(session: requests.Session, body: dict) -> int:
        answer = session.request(
            method, served.url(path), json=body, headers={"Authorization": f"Bearer {key}"},
            timeout=20,
        )  # fmt: skip
        return answer.status_code

    try:
        return all_at_once(
            [lambda s=s, b=b: call(s, b) for s, b in zip(sessions, bodies, strict=True)]
        )
    finally:
        for session in sessions:
            session.close()


def live_token_names(server: Server, school: str, audience: str) -> list[str]:
    with server.services.db.session() as db:
        feed = db.query(Feed).filter_by(school_id=school, audience=audience).one()
        return sorted(t.name for t in feed.tokens if t.revoked_at is None)


def test_two_token_creations_with_one_name_at_once_make_one_token(pg: Server, served: Served):
    pg.new_feed("demo-primary", "slt", "first")
    path = "/api/schools/demo-primary/feeds/slt/tokens"
    for trial in range(TRIALS):
        name = f"office {trial}"
        codes = api_calls(served, "POST", path, pg.admin_key, [{"name": name}] * BROWSERS)
        assert sorted(codes) == [201] + [409] * (BROWSERS - 1), (codes, served.log_text()[-3000:])
        assert live_token_names(pg, "demo-primary", "slt").count(name) == 1
        gone = pg.client.delete(f"{path}/{name}", headers=pg.headers())
        assert gone.status_code == 204
        assert name not in live_token_names(pg, "demo-primary", "slt")


def test_two_first_feeds_for_one_audience_at_once_make_one_feed(pg: Server, served: Served):
    codes = api_calls(
        served, "POST", "/api/schools/demo-primary/feeds", pg.admin_key,
        [{"audience": "governors", "token_name": f"board {i}"} for i in range(BROWSERS)],
    )  # fmt: skip
    assert codes == [201] * BROWSERS, (codes, served.log_text()[-3000:])
    assert live_token_names(pg, "demo-primary", "governors") == [
        f"board {i}" for i in range(BROWSERS)
    ]


def test_two_new_schools_with_one_id_at_once_make_one_and_the_other_hears_409(
    pg: Server, served: Served
):
    profile = pg.client.get("/api/schools/demo-primary", headers=pg.headers()).json["profile"]
    for trial in range(TRIALS):
        body = {**profile, "id": f"race-{trial}", "name": f"Race {trial}"}
        codes = api_calls(served, "POST", "/api/schools", pg.admin_key, [body] * 2)
        assert sorted(codes) == [201, 409], (codes, served.log_text()[-3000:])
