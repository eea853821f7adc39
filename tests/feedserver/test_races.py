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
from feedserver.storage.models import User
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
    """Gunicorn with two workers on the same database."""
    with gunicorn(postgres_url, tmp_path, workers=2) as running:
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
    for _ in range(TRIALS):
        path = f"/sign-in/{new_link(pg)}"
        browsers = [requests.Session() for _ in range(BROWSERS)]
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
