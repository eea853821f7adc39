"""Pushed calendars end to end: the calendars page, the sync jobs, and Google's emulator.

The app is configured exactly as production would be, only with Google's endpoints pointed at
the emulator; a school admin connects a calendar on the page and the jobs do the rest.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from connectors.google import wire
from feedserver import catalog
from feedserver.pipeline import push
from feedserver.storage.models import AuditEntry, Connection, LedgerRow
from tests.emulators.faults import Fault
from tests.emulators.google_calendar import GoogleCalendarEmulator
from tests.feedserver.conftest import Server, _server
from tests.feedserver.test_jobs import waiting, work
from tests.feedserver.test_pages import csrf, sign_in

USER = "senco@demo-primary.example"


@pytest.fixture
def google() -> Iterator[GoogleCalendarEmulator]:
    with GoogleCalendarEmulator() as emulator:
        emulator.add_user(USER)
        emulator.add_group("slt@demo-primary.example", [USER])
        emulator.add_oauth_client("sencocal-client", "client-secret",
                                  ["http://127.0.0.1:8000/calendars/google/done"])  # fmt: skip
        yield emulator


@pytest.fixture
def app(tmp_path: Any, google: GoogleCalendarEmulator) -> Iterator[Server]:
    extra = {
        "SENCOCAL_GOOGLE_API_URL": google.base_url,
        "SENCOCAL_GOOGLE_TOKEN_URI": google.token_uri,
        "SENCOCAL_GOOGLE_AUTH_URI": google.auth_uri,
        "SENCOCAL_GOOGLE_CLIENT_ID": "sencocal-client",
        "SENCOCAL_GOOGLE_CLIENT_SECRET": "client-secret",
    }
    for server in _server(f"sqlite:///{tmp_path / 'test.db'}", tmp_path, extra=extra):
        la = catalog.demo_file("la-example").decode("utf-8")
        assert server.publish(la, "la-example.yaml").status_code == 201
        assert server.add_demo_school("demo-primary").status_code == 201
        yield server


def delegated_key(google: GoogleCalendarEmulator) -> dict[str, Any]:
    key = google.add_service_account("demo-primary.example")
    google.grant_delegation(key["client_id"], [
        "https://www.googleapis.com/auth/calendar.app.created",
        "https://www.googleapis.com/auth/calendar",
    ])  # fmt: skip
    return key


def connect(app: Server, key: dict[str, Any] | bytes, **fields: str) -> Any:
    sign_in(app, app.admin_key)
    page = app.client.get("/schools/demo-primary/calendars")
    data = {"csrf_token": csrf(page.text), "audience": "slt", "target": "dedicated",
            "share_with": "slt@demo-primary.example", "account": USER, **fields}  # fmt: skip
    body = key if isinstance(key, bytes) else json.dumps(key).encode()
    data["key_file"] = (__import__("io").BytesIO(body), "key.json")
    return app.client.post(
        "/schools/demo-primary/calendars/google", data=data, content_type="multipart/form-data"
    )


def only_connection(app: Server) -> Connection:
    with app.services.db.session() as s:
        return s.scalars(select(Connection)).one()


def ours(google: GoogleCalendarEmulator, row: Connection) -> list[dict[str, Any]]:
    assert row.calendar_id is not None
    return [e for e in google.events(row.calendar_id) if wire.remote_event(e, row.tag)]


def expected_slt(app: Server) -> set[str]:
    answer = app.client.get(
        "/api/schools/demo-primary/preview?year=2026&audience=slt", headers=app.headers()
    )
    titles = {e["title"] for e in answer.json["events"]}
    nxt = app.client.get(
        "/api/schools/demo-primary/preview?year=2027&audience=slt", headers=app.headers()
    )
    return titles | {e["title"] for e in nxt.json["events"]}


def test_a_school_connects_google_and_its_slt_calendar_is_made_shared_and_filled(app, google):
    answer = connect(app, delegated_key(google))
    assert answer.status_code == 302
    row = only_connection(app)
    assert row.state == "active" and row.calendar_id is not None
    calendar = google.calendar(row.calendar_id)
    assert calendar["summary"] == "SLT SEND overlay"
    acl = google.acl(row.calendar_id)
    assert {"role": "reader", "scope": {"type": "group", "value": "slt@demo-primary.example"}} in [
        {"role": r["role"], "scope": r["scope"]} for r in acl
    ]
    pushed = ours(google, row)
    assert {e["summary"] for e in pushed} == expected_slt(app)
    assert all(e["reminders"]["useDefault"] is False for e in pushed)
    deadlines = [e for e in pushed if e["reminders"]["overrides"]]
    assert deadlines, "deadlines get reminders"
    page = app.client.get("/schools/demo-primary/calendars").text
    assert "Up to date:" in page and f"{len(pushed)} added" in page
    with app.services.db.session() as s:
        assert s.scalar(select(LedgerRow.connection_id).limit(1)) == row.id
        actions = {a.action for a in s.scalars(select(AuditEntry))}
    assert "calendar.connect" in actions


def test_the_key_is_kept_sealed_and_never_shown_or_stored_in_clear(app, google):
    key = delegated_key(google)
    connect(app, key)
    row = only_connection(app)
    assert row.secret is not None and key["private_key"].encode() not in row.secret
    assert key["client_email"] not in app.client.get("/schools/demo-primary/calendars").text


def test_a_change_to_the_school_reaches_its_calendar_and_only_the_changed_events_are_written(
    app, google
):
    connect(app, delegated_key(google))
    row = only_connection(app)
    before = {e["id"]: e["summary"] for e in ours(google, row)}
    writes = google.stats.writes
    profile = app.client.get("/api/schools/demo-primary", headers=app.headers()).json["profile"]
    profile["local_events"] = [
        *profile.get("local_events", []),
        {"id": "open-evening", "title": "SEND open evening for parents", "start": "2027-01-14",
         "kind": "event", "audience": ["slt"]},
    ]  # fmt: skip
    answer = app.client.put("/api/schools/demo-primary", json=profile, headers=app.headers())
    assert answer.status_code == 200, answer.json
    after = {e["id"]: e["summary"] for e in ours(google, row)}
    assert set(after) - set(before) and len(after) == len(before) + 1
    assert "SEND open evening for parents" in after.values()
    assert google.stats.writes - writes == 1  # one event added, nothing else touched


@pytest.mark.parametrize("audience", ["senco", "slt"])  # slt: the shared secondary calendar
def test_pupil_level_entries_never_reach_a_pushed_calendar(app, google, audience):
    pack = (
        'pack: la-pupil\ntitle: Pupil test\npublisher: {kind: la, code: "999", name: Example Borough Council}\n'
        'version: "1"\nrules:\n'
        "  - id: pupil-review\n    title: Review for one pupil\n    kind: meeting\n"
        "    audience: [senco, slt]\n    category: ehcp\n    pupil_level: true\n"
        "    when: {month: january, day: 20}\n"
    )
    answer = app.publish(pack, "la-pupil.yaml")
    if answer.status_code != 201:
        pytest.fail(f"the test pack was refused: {answer.json}")
    connect(app, delegated_key(google), audience=audience)
    row = only_connection(app)
    assert ours(google, row), "the calendar was filled"
    assert "Review for one pupil" not in {e["summary"] for e in ours(google, row)}
    preview = app.client.get(
        "/api/schools/demo-primary/preview?year=2026", headers=app.headers()
    ).json["events"]
    assert "Review for one pupil" in {e["title"] for e in preview}  # the feed has it


def test_a_key_file_that_is_not_a_key_is_refused_naming_the_file_and_nothing_is_stored(app):
    answer = connect(app, b'{"type": "authorized_user"}')
    assert answer.status_code == 422
    assert "not a service-account key" in answer.text
    assert 'href="#sa-key_file"' in answer.text
    with app.services.db.session() as s:
        assert s.scalars(select(Connection)).all() == []


def test_a_withdrawn_delegation_stops_the_connection_and_says_what_to_do(app, google):
    key = delegated_key(google)
    connect(app, key)
    google.revoke_grant(key["client_id"])
    row = only_connection(app)
    with push.runtime.using(app.services):
        push.sync_connection(row.id, reason="now")
    row = only_connection(app)
    assert (row.state, row.stop_reason) == ("stopped", "grant_revoked")
    page = app.client.get("/schools/demo-primary/calendars").text
    assert "no longer accepts this connection" in page and "Connect the calendar again" in page


def test_disconnecting_with_removal_deletes_every_entry_sencocal_put_there(app, google):
    connect(app, delegated_key(google))
    row = only_connection(app)
    assert ours(google, row)
    page = app.client.get("/schools/demo-primary/calendars")
    answer = app.client.post(
        f"/schools/demo-primary/calendars/{row.id}/disconnect",
        data={"csrf_token": csrf(page.text), "remove": "yes"},
    )
    assert answer.status_code == 302
    assert ours(google, row) == []
    row = only_connection(app)
    assert row.state == "disconnected" and row.secret is None
    assert "No calendars connected yet." in app.client.get("/schools/demo-primary/calendars").text


def test_signing_in_with_google_connects_with_a_refresh_token(app, google):
    google.consent_as(USER)
    sign_in(app, app.admin_key)
    page = app.client.get("/schools/demo-primary/calendars")
    answer = app.client.post(
        "/schools/demo-primary/calendars/google/consent",
        data={
            "csrf_token": csrf(page.text),
            "audience": "senco",
            "target": "chosen",
            "calendar_id": USER,
        },  # fmt: skip
    )
    assert answer.status_code == 302 and answer.location.startswith(google.auth_uri)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(answer.location).query)
    assert query["access_type"] == ["offline"]
    consent = __import__("requests").get(answer.location, allow_redirects=False, timeout=5)
    back = urllib.parse.urlsplit(consent.headers["Location"])
    done = app.client.get(f"{back.path}?{back.query}")
    assert done.status_code == 302, done.text
    row = only_connection(app)
    assert (row.auth_kind, row.calendar_id, row.state) == ("oauth", USER, "active")
    assert len(ours(google, row)) > 100  # the SENCO's own calendar, filled


def test_a_consent_answer_from_another_session_is_refused(app, google):
    sign_in(app, app.admin_key)
    page = app.client.get("/schools/demo-primary/calendars")
    answer = app.client.post(
        "/schools/demo-primary/calendars/google/consent",
        data={"csrf_token": csrf(page.text), "audience": "senco", "target": "dedicated"},
    )
    state = urllib.parse.parse_qs(urllib.parse.urlsplit(answer.location).query)["state"][0]
    other = app.app.test_client()
    token = csrf(other.get("/sign-in").text)
    other.post("/sign-in", data={"csrf_token": token, "key": app.admin_key})
    refused = other.get(f"/calendars/google/done?state={state}&code=anything")
    assert refused.status_code == 400
    assert re.search(r"another session", refused.text)


# ------------------------------------------------------------------ through rq on real Redis


@pytest.fixture
def queued_app(tmp_path: Any, google: GoogleCalendarEmulator, redis_db: Any, redis_url: str):
    extra = {
        "SENCOCAL_GOOGLE_API_URL": google.base_url,
        "SENCOCAL_GOOGLE_TOKEN_URI": google.token_uri,
    }
    for server in _server(f"sqlite:///{tmp_path / 'q.db'}", tmp_path, redis_url, extra=extra):
        la = catalog.demo_file("la-example").decode("utf-8")
        assert server.publish(la, "la-example.yaml").status_code == 201
        assert server.add_demo_school("demo-primary").status_code == 201
        work(server)
        yield server


def test_a_connection_is_synced_by_a_worker_on_the_sync_queue(queued_app, google):
    connect(queued_app, delegated_key(google))
    assert waiting(queued_app, "sync") == [
        f"sync_connection__{only_connection(queued_app).id}__connect"
    ]
    assert google.stats.writes == 0  # the request only queued it
    work(queued_app, "sync")
    row = only_connection(queued_app)
    assert row.last_sync_at is not None and len(ours(google, row)) > 50


def test_a_school_change_queues_its_calendars_sync_after_the_evaluation(queued_app, google):
    connect(queued_app, delegated_key(google))
    work(queued_app, "sync")
    row = only_connection(queued_app)
    profile = queued_app.client.get("/api/schools/demo-primary", headers=queued_app.headers()).json[
        "profile"
    ]
    profile["local_events"] = [{"id": "visit", "title": "LA SEND officer visit",
                                "start": "2027-02-03", "kind": "meeting", "audience": ["slt"]}]  # fmt: skip
    queued_app.client.put("/api/schools/demo-primary", json=profile, headers=queued_app.headers())
    assert waiting(queued_app, "sync") == []  # not before the school's events have changed
    work(queued_app, "evaluate")
    assert waiting(queued_app, "sync") == [f"sync_connection__{row.id}__events"]
    work(queued_app, "sync")
    assert "LA SEND officer visit" in {e["summary"] for e in ours(google, row)}


def test_a_throttled_sync_is_queued_again_for_when_google_asked(queued_app, google):
    from rq.registry import ScheduledJobRegistry

    connect(queued_app, delegated_key(google))
    google.faults.on_write(3, Fault("status", status=429, retry_after=300))
    started = time.time()
    work(queued_app, "sync")
    row = only_connection(queued_app)
    assert row.state == "active" and row.waiting.get("retry_at")
    registry = ScheduledJobRegistry("sync", connection=queued_app.services.jobs.connection)
    [job_id] = registry.get_job_ids()
    when = registry.get_scheduled_time(job_id).timestamp()
    assert started + 299 <= when <= time.time() + 301
    assert "asked sencocal to wait" in queued_app.client.get("/schools/demo-primary/calendars").text
