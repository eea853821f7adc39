"""The EHCP roster: sealed at rest, its own fingerprint, and reached only by the school's admins."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from feedserver.storage import apikeys, las
from feedserver.storage import roster as roster_store
from feedserver.storage.models import AuditEntry, RosterRow, School
from rules.roster import roster_fingerprint
from rules.roster_csv import TEMPLATE, parse_csv
from tests.feedserver.conftest import Server

CSV = {"Content-Type": "text/csv"}


def roster_school(server: Server) -> str:
    """demo-primary with the README template's four pupils, imported by its own key."""
    assert server.add_demo_school("demo-primary").status_code == 201
    key = server.school_key("demo-primary")
    answer = server.client.post(
        "/api/schools/demo-primary/roster.csv",
        data=TEMPLATE,
        headers={**server.headers(key), **CSV},
    )
    assert answer.status_code == 200, answer.json
    return key


def la_key(server: Server, code: str) -> str:
    with server.services.db.session() as s:
        las.create(s, code, "Example LA", "test", server.clock.now())
        return apikeys.create_key(s, "la", server.clock.now(), la_code=code, label="la")


def test_a_roster_is_sealed_at_rest_and_reads_back_whole(any_server: Server):
    key = roster_school(any_server)
    with any_server.services.db.engine.connect() as conn:
        raw = conn.execute(text("SELECT * FROM ehcp_rosters")).all()
    dumped = repr(raw)
    assert len(raw) == 1
    for secret in ("P-0412", "P-0601", "2023-03-14", "post16"):
        assert secret not in dumped
    answer = any_server.client.get(
        "/api/schools/demo-primary/roster", headers=any_server.headers(key)
    )
    assert answer.status_code == 200
    assert [p["ref"] for p in answer.json["pupils"]] == ["P-0412", "P-0419", "P-0533", "P-0601"]
    with any_server.services.db.session() as s:
        assert roster_store.fingerprint(s, "demo-primary") == roster_fingerprint(
            parse_csv(TEMPLATE)
        )
        assert roster_store.read(s, any_server.services.secretbox, "demo-primary") == parse_csv(
            TEMPLATE
        )


def test_removing_a_pupil_keeps_the_others_and_changes_the_fingerprint(any_server: Server):
    key = roster_school(any_server)
    with any_server.services.db.session() as s:
        before = roster_store.fingerprint(s, "demo-primary")
    path = "/api/schools/demo-primary/roster/P-0419"
    assert any_server.client.delete(path, headers=any_server.headers(key)).status_code == 204
    again = any_server.client.delete(path, headers=any_server.headers(key))
    assert again.status_code == 404 and "No pupil" in again.json["error"]
    pupils = any_server.client.get(
        "/api/schools/demo-primary/roster", headers=any_server.headers(key)
    ).json["pupils"]
    assert [p["ref"] for p in pupils] == ["P-0412", "P-0533", "P-0601"]
    with any_server.services.db.session() as s:
        assert roster_store.fingerprint(s, "demo-primary") != before


def test_a_roster_goes_with_its_school(any_server: Server):
    roster_school(any_server)
    answer = any_server.client.delete("/api/schools/demo-primary", headers=any_server.headers())
    assert answer.status_code == 200
    with any_server.services.db.session() as s:
        assert s.scalars(select(RosterRow)).all() == []


def test_a_bad_csv_lists_every_problem_with_its_line_and_saves_nothing(server: Server):
    key = roster_school(server)
    bad = "ref,year_group,plan_issued\nP-1,4,2020-01-01\nAmy Jones,4,2020-01-01\nP-3,99,someday\n"
    answer = server.client.post(
        "/api/schools/demo-primary/roster.csv", data=bad, headers={**server.headers(key), **CSV}
    )
    assert answer.status_code == 422
    assert [(p["line"], p["field"]) for p in answer.json["problems"]] == [
        (3, "ref"),
        (4, "year_group"),
        (4, "plan_issued"),
    ]
    pupils = server.client.get("/api/schools/demo-primary/roster", headers=server.headers(key))
    assert len(pupils.json["pupils"]) == 4


def test_put_replaces_the_roster_and_says_who_joined_and_left(server: Server):
    key = roster_school(server)
    body = {"pupils": [
        {"ref": "P-0412", "year_group": 4, "plan_issued": "2023-03-14"},
        {"ref": "P-0700", "year_group": 1, "plan_issued": "2026-06-01", "under_5": False},
    ]}  # fmt: skip
    answer = server.client.put(
        "/api/schools/demo-primary/roster", json=body, headers=server.headers(key)
    )
    assert answer.status_code == 200, answer.json
    assert {k: answer.json[k] for k in ("pupils", "added", "removed", "kept")} == {
        "pupils": 2, "added": 1, "removed": 3, "kept": 1}  # fmt: skip
    same = server.client.put(
        "/api/schools/demo-primary/roster", json=body, headers=server.headers(key)
    )
    assert same.json["calendar_update_queued"] is False
    refused = server.client.put(
        "/api/schools/demo-primary/roster",
        json={"pupils": [{"ref": "P-1", "name": "Amy", "year_group": 4, "plan_issued": "x"}]},
        headers=server.headers(key),
    )
    assert refused.status_code == 422 and refused.json["problems"][0]["field"] == "name"


def test_only_the_schools_own_admins_reach_its_roster(demo_server: Server):
    server = demo_server
    own = server.school_key("demo-primary")
    server.client.post("/api/schools/demo-primary/roster.csv", data=TEMPLATE,
                       headers={**server.headers(own), **CSV})  # fmt: skip
    other = server.school_key("demo-secondary")
    la = la_key(server, "330")
    routes = [
        ("GET", "/api/schools/demo-primary/roster", None),
        ("PUT", "/api/schools/demo-primary/roster", {"pupils": []}),
        ("POST", "/api/schools/demo-primary/roster.csv", TEMPLATE),
        ("DELETE", "/api/schools/demo-primary/roster/P-0412", None),
    ]
    for method, path, body in routes:
        kwargs: dict = {"json": body} if isinstance(body, dict) else {"data": body}
        missing = server.client.open(path.replace("demo-primary", "no-such-school"),
                                     method=method, headers=server.headers(other), **kwargs)  # fmt: skip
        for key in (other, la):
            answer = server.client.open(path, method=method, headers={**server.headers(key), **CSV}
                                        if body == TEMPLATE else server.headers(key), **kwargs)  # fmt: skip
            assert answer.status_code == 404 == missing.status_code, (method, path)
            assert answer.json == missing.json
            assert "P-0412" not in answer.get_data(as_text=True)
        nobody = server.client.open(path, method=method, **kwargs)
        assert nobody.status_code == 401
        admin = server.client.open(path, method=method, headers=server.headers(), **kwargs)
        assert admin.status_code == 403 and "P-0412" not in admin.get_data(as_text=True)
    pupils = server.client.get("/api/schools/demo-primary/roster", headers=server.headers(own))
    assert len(pupils.json["pupils"]) == 4


def test_the_roster_is_never_in_the_profile_the_school_list_or_the_audit_log(server: Server):
    key = roster_school(server)
    for path in ("/api/schools/demo-primary", "/api/schools"):
        for who in (key, None):
            answer = server.client.get(path, headers=server.headers(who))
            if answer.status_code == 200:
                assert "P-04" not in answer.get_data(as_text=True), path
    with server.services.db.session() as s:
        profile = s.get(School, "demo-primary").profile  # type: ignore[union-attr]
        entries = s.scalars(select(AuditEntry)).all()
        dumped = json.dumps([e.details for e in entries]) + json.dumps(profile)
    assert "P-04" not in dumped and "roster.replace" in [e.action for e in entries]


@pytest.mark.parametrize("kind", ["text/html", "application/json"])
def test_the_csv_import_wants_the_csv_type(server: Server, kind: str):
    key = roster_school(server)
    answer = server.client.post("/api/schools/demo-primary/roster.csv", data=TEMPLATE,
                                headers={**server.headers(key), "Content-Type": kind})  # fmt: skip
    assert answer.status_code == 415


def test_the_template_is_public_and_reads_back(server: Server):
    answer = server.client.get("/api/ehcp-roster-template.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert len(parse_csv(answer.data)) == 4


def test_a_confirmation_form_that_was_tampered_with_changes_nothing(server: Server):
    from tests.feedserver.test_pages import csrf, sign_in

    key = roster_school(server)
    sign_in(server, key)
    token = csrf(server.client.get("/schools/demo-primary/roster").text)
    answer = server.client.post("/schools/demo-primary/roster/import/confirm",
                                data={"csrf_token": token, "sealed": "not-a-sealed-roster"})  # fmt: skip
    assert answer.status_code == 400
    pupils = server.client.get("/api/schools/demo-primary/roster", headers=server.headers(key))
    assert len(pupils.json["pupils"]) == 4
