"""Microsoft 365 pushed calendars end to end: the calendars page, the jobs, Graph's emulator.

The app is configured as production would be, with only the identity platform and Graph
pointed at the emulator (and its test CA trusted); a school admin connects on the page and the
jobs do the rest.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import select

from connectors.microsoft import wire
from feedserver import catalog
from feedserver.pipeline import push
from feedserver.storage.models import Connection
from tests.emulators.graph import GraphEmulator
from tests.feedserver.conftest import Server, _server
from tests.feedserver.test_pages import csrf, sign_in

TENANT = "demo-primary.example"
SENCO = "senco@demo-primary.example"
SLT = "slt@demo-primary.example"
GROUP = "6c1f7a52-29a4-4d1e-9a0c-5e2c0ca1b0d7"
REDIRECT = "http://127.0.0.1:8000/calendars/microsoft/done"
PUPIL_PACK = (
    'pack: la-pupil\ntitle: Pupil test\npublisher: {kind: la, code: "999", name: Example Borough Council}\n'
    'version: "1"\nrules:\n'
    "  - id: pupil-review\n    title: Review for one pupil\n    kind: meeting\n"
    "    audience: [senco, slt]\n    category: ehcp\n    pupil_level: true\n"
    "    when: {month: january, day: 20}\n"
)


@pytest.fixture
def graph() -> Iterator[GraphEmulator]:
    with GraphEmulator() as emulator:
        emulator.add_tenant(TENANT)
        emulator.add_app(TENANT, "sencocal-app", "app-secret", roles=["Calendars.ReadWrite"],
                         redirect_uris=[REDIRECT])  # fmt: skip
        emulator.add_user(TENANT, SENCO)
        emulator.add_user(TENANT, SLT, kind="shared_mailbox")
        emulator.add_group(TENANT, GROUP, [SENCO])
        yield emulator


@pytest.fixture
def app(tmp_path: Any, graph: GraphEmulator) -> Iterator[Server]:
    extra = {
        "SENCOCAL_MICROSOFT_CLIENT_ID": "sencocal-app",
        "SENCOCAL_MICROSOFT_CLIENT_SECRET": "app-secret",
        "SENCOCAL_MICROSOFT_TENANT": TENANT,
        "SENCOCAL_MICROSOFT_AUTHORITY_URL": graph.base_url,
        "SENCOCAL_MICROSOFT_GRAPH_URL": graph.graph_url,
        "SENCOCAL_MICROSOFT_CA_BUNDLE": graph.ca_file,
    }
    for server in _server(f"sqlite:///{tmp_path / 'test.db'}", tmp_path, extra=extra):
        la = catalog.demo_file("la-example").decode("utf-8")
        assert server.publish(la, "la-example.yaml").status_code == 201
        assert server.add_demo_school("demo-primary").status_code == 201
        yield server


def connect_app_only(app: Server, **fields: str) -> Any:
    sign_in(app, app.admin_key)
    page = app.client.get("/schools/demo-primary/calendars")
    data = {"csrf_token": csrf(page.text), "audience": "slt", "tenant": TENANT,
            "where": "shared", "mailbox": SLT, **fields}  # fmt: skip
    return app.client.post("/schools/demo-primary/calendars/microsoft", data=data)


def only_connection(app: Server) -> Connection:
    with app.services.db.session() as s:
        return s.scalars(select(Connection)).one()


def ours(graph: GraphEmulator, mailbox: str, row: Connection) -> list[dict[str, Any]]:
    calendar = None if row.calendar_id in {None, "default"} else row.calendar_id
    return [e for e in graph.events(mailbox, calendar) if wire.remote_event(e, row.tag)]


def expected(app: Server, audience: str) -> set[str]:
    titles: set[str] = set()
    for year in (2026, 2027):
        answer = app.client.get(
            f"/api/schools/demo-primary/preview?year={year}&audience={audience}",
            headers=app.headers(),
        )
        titles |= {e["title"] for e in answer.json["events"]}
    return titles


def test_the_slt_overlay_fills_a_shared_mailbox_calendar_app_only(app, graph):
    answer = connect_app_only(app)
    assert answer.status_code == 302
    row = only_connection(app)
    assert (row.provider, row.auth_kind, row.account, row.state) == (
        "microsoft", "app_only", SLT, "active",
    )  # fmt: skip
    pushed = ours(graph, SLT, row)
    assert {e["subject"] for e in pushed} == expected(app, "slt")
    reminded = [e for e in pushed if e["isReminderOn"]]
    assert reminded and all(e["reminderMinutesBeforeStart"] > 0 for e in reminded)
    for event in (e for e in pushed if e["isAllDay"]):
        assert event["start"]["dateTime"].endswith("T00:00:00.0000000")
        assert event["end"]["dateTime"].endswith("T00:00:00.0000000")
    page = app.client.get("/schools/demo-primary/calendars").text
    assert "Up to date:" in page and f"The main calendar of {SLT}" in page


def test_no_pupil_level_entry_ever_reaches_the_slt_shared_mailbox(app, graph):
    assert app.publish(PUPIL_PACK, "la-pupil.yaml").status_code == 201
    connect_app_only(app)
    row = only_connection(app)
    assert ours(graph, SLT, row), "the calendar was filled"
    assert "Review for one pupil" not in {e["subject"] for e in ours(graph, SLT, row)}
    preview = app.client.get(
        "/api/schools/demo-primary/preview?year=2026", headers=app.headers()
    ).json["events"]
    assert "Review for one pupil" in {e["title"] for e in preview}  # the school's feed has it


def test_an_app_restricted_away_from_the_mailbox_stops_with_no_access(app, graph):
    graph.restrict_app("sencocal-app", [SENCO])  # Exchange RBAC: the SLT mailbox is not in scope
    connect_app_only(app)
    row = only_connection(app)
    assert (row.state, row.stop_reason) == ("stopped", "no_access")
    assert "cannot change this calendar" in app.client.get("/schools/demo-primary/calendars").text


def test_revoked_consent_stops_the_connection_and_says_what_to_do(app, graph):
    connect_app_only(app)
    graph.revoke_consent("sencocal-app")
    row = only_connection(app)
    with push.runtime.using(app.services):
        push.sync_connection(row.id, reason="now")
    row = only_connection(app)
    assert (row.state, row.stop_reason) == ("stopped", "grant_revoked")
    page = app.client.get("/schools/demo-primary/calendars").text
    assert "Microsoft 365 no longer accepts this connection" in page


def test_a_bad_tenant_is_refused_naming_the_field_and_nothing_is_stored(app):
    answer = connect_app_only(app, tenant="not a tenant")
    assert answer.status_code == 422
    assert 'href="#ms-tenant"' in answer.text and "Microsoft 365 domain" in answer.text
    with app.services.db.session() as s:
        assert s.scalars(select(Connection)).all() == []


def test_disconnecting_with_removal_empties_the_shared_mailbox_calendar(app, graph):
    connect_app_only(app)
    row = only_connection(app)
    page = app.client.get("/schools/demo-primary/calendars")
    app.client.post(f"/schools/demo-primary/calendars/{row.id}/disconnect",
                    data={"csrf_token": csrf(page.text), "remove": "yes"})  # fmt: skip
    assert ours(graph, SLT, row) == []
    assert only_connection(app).state == "disconnected"


def sign_in_with_microsoft(app: Server, graph: GraphEmulator, **fields: str) -> Any:
    """The page's consent form, Microsoft's sign-in page, and its form posted back to us."""
    sign_in(app, app.admin_key)
    page = app.client.get("/schools/demo-primary/calendars")
    data = {"csrf_token": csrf(page.text), "audience": "slt", "tenant": TENANT, **fields}
    start = app.client.post("/schools/demo-primary/calendars/microsoft/consent", data=data)
    assert start.status_code == 302 and start.location.startswith(graph.base_url), start.text
    graph.consent_as(SENCO)
    with requests.Session() as browser:
        browser.verify, browser.trust_env = graph.ca_file, False
        login = browser.get(start.location, allow_redirects=False, timeout=5)
    assert f'action="{REDIRECT}"' in login.text
    form = {k: html.unescape(v) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"',
                                                       login.text)}  # fmt: skip
    other = app.app.test_client()  # Microsoft's page posts cross-site: no session cookie
    return other.post("/calendars/microsoft/done", data=form)


def test_signing_in_with_microsoft_connects_a_group_calendar_delegated(app, graph):
    done = sign_in_with_microsoft(app, graph, where="group", group=GROUP)
    assert done.status_code == 303 and "added=" in done.location
    row = only_connection(app)
    assert (row.auth_kind, row.account, row.state) == ("delegated", GROUP, "active")
    pushed = ours(graph, GROUP, row)
    assert {e["subject"] for e in pushed} == expected(app, "slt")
    assert row.secret is not None and b"refresh" not in row.secret  # sealed


def test_a_refresh_token_microsoft_rotates_is_kept_sealed(app, graph):
    sign_in_with_microsoft(app, graph, where="own-main")
    before = only_connection(app)
    with push.runtime.using(app.services):
        push.sync_connection(before.id, reason="now")
    after = only_connection(app)
    assert after.state == "active" and after.account == SENCO
    assert after.secret != before.secret  # the new refresh token replaced the old, sealed
    opened = json.loads(app.services.secretbox.open(after.secret))
    assert opened["refresh_token"] and opened["target"] == "user"


def test_a_group_calendar_cannot_be_connected_app_only(app):
    answer = connect_app_only(app, where="group", mailbox="")
    assert answer.status_code == 422 and 'href="#ms-where-user-main"' in answer.text


def test_an_altered_sign_in_answer_is_refused(app, graph):
    other = app.app.test_client()
    answer = other.post("/calendars/microsoft/done", data={"state": "forged", "code": "x"})
    assert answer.status_code == 400 and "expired or was altered" in answer.text
