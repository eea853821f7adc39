"""The JSON API: schools, term dates, feeds, packs; authentication; bad input never stores."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from sqlalchemy import func, select

from feedserver import catalog
from feedserver.storage.models import (
    ApiKey,
    AuditEntry,
    EventRow,
    Feed,
    FeedToken,
    PackVersion,
    PageSession,
    School,
    SignInLink,
    User,
)
from feedserver.web.apiroutes import ENDPOINTS
from tests.feedserver.conftest import Server


def snapshot(server: Server) -> dict[str, object]:
    """Everything a request could change, to prove a rejected one changed nothing."""
    with server.services.db.session() as s:
        counts = {
            m.__name__: s.scalar(select(func.count()).select_from(m))
            for m in (
                School,
                PackVersion,
                EventRow,
                Feed,
                FeedToken,
                ApiKey,
                AuditEntry,
                User,
                SignInLink,
                PageSession,
            )  # fmt: skip
        }
        profiles = {r.id: r.profile_hash for r in s.scalars(select(School))}
        tokens = sorted((t.name, t.revoked_at is None) for t in s.scalars(select(FeedToken)))
        tokens += sorted(("key", k.id, k.revoked_at is None) for k in s.scalars(select(ApiKey)))
    return {"counts": counts, "profiles": profiles, "tokens": tokens}


def fill(path: str, school: str) -> str:
    values = {"school_id": school, "audience": "senco", "name": "default", "key_id": "1",
              "user_id": "1", "link_id": "1", "token_id": "1", "la_code": "999",
              "slug": "la-example", "revision": "1", "run_id": "1", "ref": "P-0001"}  # fmt: skip
    return re.sub(r"<(\w+)>", lambda m: values[m.group(1)], path)


def call(
    server: Server, method: str, path: str, key: str | None, body: str | None, client: str = ""
):
    headers = {} if key is None else server.headers(key)
    kwargs: dict[str, object] = {"headers": headers}
    if client:  # another address, so that failures are not limited (see test_limits.py)
        kwargs["environ_base"] = {"REMOTE_ADDR": client}
    if body == "json":
        kwargs["json"] = {"audience": "senco", "name": "x", "label": "x", "phases": ["primary"]}
    elif body == "csv":
        kwargs["data"] = "academic_year,label,start,end\n2026,inset,2026-09-01,2026-09-01\n"
        headers["Content-Type"] = "text/csv"
    elif body == "yaml":
        kwargs["data"] = catalog.demo_file("la-example").decode()
        headers["Content-Type"] = "application/yaml"
    return server.client.open(path[len("") :], method=method, **kwargs)


# ---------------------------------------------------------------------------- isolation


def test_a_schools_key_can_never_read_or_change_another_school(demo_server: Server):
    demo_server.new_feed("demo-secondary", "senco")  # so feed and token routes have targets
    primary_key = demo_server.school_key("demo-primary")
    before = snapshot(demo_server)
    walked = 0
    for ep in ENDPOINTS:
        if ep.access == "public":
            continue
        answer = call(demo_server, ep.method, fill(ep.path, "demo-secondary"), primary_key, ep.body)
        expected = 404 if ep.access in {"school", "la"} else 403
        assert answer.status_code == expected, (ep.method, ep.path, answer.status_code, answer.json)
        assert "demo-secondary" not in answer.get_data(as_text=True), ep.path
        walked += 1
    assert walked == len([e for e in ENDPOINTS if e.access != "public"]) >= 14
    assert snapshot(demo_server) == before


def test_other_schools_look_exactly_like_missing_ones(demo_server: Server):
    key = demo_server.school_key("demo-primary")
    other = demo_server.client.get("/api/schools/demo-secondary", headers=demo_server.headers(key))
    missing = demo_server.client.get(
        "/api/schools/no-such-school", headers=demo_server.headers(key)
    )
    assert other.status_code == missing.status_code == 404 and other.json == missing.json


def test_every_non_public_endpoint_needs_a_valid_key(demo_server: Server):
    for i, ep in enumerate(ENDPOINTS):
        if ep.access == "public":
            continue
        for key in (None, "not-a-real-key"):
            path = fill(ep.path, "demo-primary")
            answer = call(demo_server, ep.method, path, key, ep.body, client=f"10.0.0.{i}")
            assert answer.status_code == 401, (ep.path, key)
            assert "Bearer" in answer.json["error"]


def test_a_schools_key_works_on_its_own_school(demo_server: Server):
    key = demo_server.school_key("demo-primary")
    assert (
        demo_server.client.get(
            "/api/schools/demo-primary", headers=demo_server.headers(key)
        ).status_code
        == 200
    )
    path = demo_server.new_feed("demo-primary", "slt", key=key)
    assert demo_server.client.get(path).status_code == 200
    assert (
        demo_server.client.get("/api/schools", headers=demo_server.headers(key)).status_code == 403
    )


# ---------------------------------------------------------------------------- schools


def test_creating_a_school_evaluates_it_and_reports_its_status(server: Server):
    la = catalog.demo_file("la-example").decode()
    server.publish(la, "la-example.yaml")
    answer = server.add_demo_school()
    assert answer.status_code == 201
    assert answer.json["status"]["evaluated_at"] == server.clock.now().isoformat()
    assert answer.json["status"]["up_to_date"] is True
    warnings = answer.json["status"]["warnings"]
    assert warnings and all(w["kind"] == "unpublished" for w in warnings)
    assert all("is not published yet" in w["message"] for w in warnings)
    assert all(ref not in w["message"] for w in warnings for ref in w["refs"])  # titles, not ids
    events = server.client.get("/api/schools/demo-primary/events", headers=server.headers()).json
    assert events["window"] == [2026, 2027] and len(events["events"]) > 300
    assert server.add_demo_school().status_code == 409


def test_patching_a_profile_changes_the_calendar(demo_server: Server):
    before = demo_server.client.get(
        "/api/schools/demo-primary/events", headers=demo_server.headers()
    ).json["events"]
    answer = demo_server.client.patch(
        "/api/schools/demo-primary",
        json={"rules_off": ["senco-annual-cycle:slt-send-meeting"]},
        headers=demo_server.headers(),
    )
    assert answer.status_code == 200, answer.json
    after = demo_server.client.get(
        "/api/schools/demo-primary/events", headers=demo_server.headers()
    ).json["events"]
    today = demo_server.clock.now().date().isoformat()
    past = {e["uid"] for e in before if e["rule"] == "slt-send-meeting" and e["end"] <= today}
    assert past  # the autumn 1 meeting has happened: turning the rule off leaves it there
    assert {e["uid"] for e in after} == {
        e["uid"] for e in before if e["rule"] != "slt-send-meeting" or e["uid"] in past
    }


def test_missing_term_dates_show_up_as_warnings_and_setup_tasks(server: Server):
    profile = catalog.demo_school("demo-primary").model_dump(mode="json")
    profile.update(id="no-dates", la_code="888")
    assert (
        server.client.post("/api/schools", json=profile, headers=server.headers()).status_code
        == 201
    )
    school = server.client.get("/api/schools/no-dates", headers=server.headers()).json
    missing = [w for w in school["status"]["warnings"] if w["kind"] == "term_dates"]
    assert {(w["year"], w["subject"]) for w in missing} >= {(2026, "2026")}
    assert any("Add your term dates for 2026/27" in w["message"] for w in missing)
    events = server.client.get("/api/schools/no-dates/events", headers=server.headers()).json[
        "events"
    ]
    assert "Add your term dates for 2026/27" in {e["title"] for e in events}


def test_preview_evaluates_a_year_without_saving(demo_server: Server):
    before = snapshot(demo_server)
    senco = demo_server.client.get(
        "/api/schools/demo-primary/preview?year=2028", headers=demo_server.headers()
    )
    slt = demo_server.client.get(
        "/api/schools/demo-primary/preview?year=2028&audience=slt", headers=demo_server.headers()
    )
    assert senco.status_code == slt.status_code == 200
    assert senco.json["year"] == 2028
    assert "Add your term dates for 2028/29" in {e["title"] for e in senco.json["events"]}
    assert any(w["kind"] == "term_dates" and w["subject"] == "2028" for w in senco.json["warnings"])
    assert slt.json["events"] and all("slt" in e["audience"] for e in slt.json["events"])
    assert snapshot(demo_server) == before


# ---------------------------------------------------------------------------- term dates CSV


def test_csv_template_round_trips_into_the_profile(demo_server: Server):
    template = demo_server.client.get("/api/term-dates-template.csv")
    assert template.status_code == 200 and template.mimetype == "text/csv"
    answer = demo_server.client.post(
        "/api/schools/demo-primary/term-dates.csv",
        data=template.data,
        headers={**demo_server.headers(), "Content-Type": "text/csv"},
    )
    assert answer.status_code == 200, answer.json
    profile = answer.json["school"]["profile"]
    assert answer.json["imported_years"] == [2026]
    assert profile["term_dates"]["2026"][0] == {
        "label": "autumn1",
        "start": "2026-09-02",
        "end": "2026-10-23",
    }
    assert "2027-05-06" in profile["closure_days"]
    in_2026 = [d for d in profile["inset_days"] if "2026-09-01" <= d <= "2027-08-31"]
    assert in_2026 == ["2026-09-01", "2026-11-02", "2027-06-07"]  # the CSV's, replacing the old
    assert "2026-01-05" in profile["inset_days"]  # other years are untouched
    assert set(profile["term_dates"]) == {"2026"}  # the school's own 2026/27 now replaces the LA's


@pytest.mark.parametrize(
    ("csv_text", "expected"),
    [
        (
            "year,label,start,end\n2026,autumn1,2026-09-02,2026-10-23\n",
            ("", 1, "the first line must be exactly academic_year,label,start,end"),
        ),
        (
            "academic_year,label,start,end\n2026,autumn9,2026-09-02,2026-10-23\n",
            ("label", 2, "'autumn9' is not a label"),
        ),
        (
            "academic_year,label,start,end\n2026,autumn1,2026-09-31,2026-10-23\n",
            ("start", 2, "'2026-09-31' is not a date"),
        ),
        (
            "academic_year,label,start,end\n2026,autumn1,2027-09-02,2027-10-23\n",
            ("start", 2, "is not inside 2026/27"),
        ),
        (
            "academic_year,label,start,end\n2026,autumn1,2026-09-02\n",
            ("", 2, "expected 4 columns, found 3"),
        ),
        (
            "academic_year,label,start,end\n2026,autumn1,2026-10-23,2026-09-02\n",
            ("end", 2, "the end is before the start"),
        ),
    ],
)
def test_a_bad_csv_is_refused_naming_line_and_column_and_stores_nothing(
    demo_server: Server, csv_text, expected
):
    before = snapshot(demo_server)
    answer = demo_server.client.post(
        "/api/schools/demo-primary/term-dates.csv",
        data=csv_text,
        headers={**demo_server.headers(), "Content-Type": "text/csv"},
    )
    assert answer.status_code == 422
    field, line, words = expected
    [problem] = answer.json["problems"]
    assert problem["field"] == field and problem["line"] == line and words in problem["message"]
    assert snapshot(demo_server) == before


def test_a_csv_with_overlapping_periods_is_refused_naming_the_year(demo_server: Server):
    rows = "academic_year,label,start,end\n" + "\n".join(
        f"2026,{label},{start},{end}"
        for label, start, end in [
            ("autumn1", "2026-09-02", "2026-10-23"), ("autumn2", "2026-10-20", "2026-12-18"),
            ("spring1", "2027-01-04", "2027-02-12"), ("spring2", "2027-02-22", "2027-03-25"),
            ("summer1", "2027-04-12", "2027-05-28"), ("summer2", "2027-06-07", "2027-07-21"),
        ]
    )  # fmt: skip
    answer = demo_server.client.post(
        "/api/schools/demo-primary/term-dates.csv",
        data=rows,
        headers={**demo_server.headers(), "Content-Type": "text/csv"},
    )
    assert answer.status_code == 422
    assert answer.json["problems"][0]["field"] == "term_dates.2026.1.start"
    assert "must not overlap" in answer.json["problems"][0]["message"]


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("body", "status", "field", "words"),
    [
        ({"phases": "primary"}, 422, "phases", "expected a list"),
        ({"type": "grammar"}, 422, "type", "'grammar' is not allowed here"),
        ({"la_code": "33"}, 422, "la_code", "three-digit local-authority number"),
        (
            {"inset_days": ["2026-13-01"]},
            422,
            "inset_days[0]",
            "not a real date: there is no month 13",
        ),
        ({"inset_days": ["2026-09-05"]}, 422, "inset_days.0", "is a weekend day"),
        (
            {"date_overrides": {"la-example:topup-round-autumn": {"2026": "2028-01-01"}}},
            422,
            "date_overrides.la-example:topup-round-autumn.2026",
            "outside 2026/27",
        ),
        (
            {
                "term_dates": {
                    "2026": [{"label": "autumn1", "start": "2026-09-01", "end": "2026-10-23"}]
                }
            },
            422,
            "term_dates.2026",
            "needs all six half terms",
        ),
        ({"flags": {"has_year8": True}}, 422, "flags", "unknown flag 'has_year8'"),
        ({"id": "someone-else"}, 422, "id", "cannot change"),
        ({"wat": 1}, 422, "wat", "unknown key 'wat'"),
    ],
)
def test_bad_profile_changes_get_a_4xx_naming_the_field_and_store_nothing(
    demo_server: Server, body, status, field, words
):
    before = snapshot(demo_server)
    answer = demo_server.client.patch(
        "/api/schools/demo-primary", json=body, headers=demo_server.headers()
    )
    assert answer.status_code == status, answer.json
    problems = answer.json.get("problems", [])
    assert (
        any(p["field"] == field and words in p["message"] for p in problems)
        or words in answer.json["error"]
    ), answer.json
    assert snapshot(demo_server) == before


def test_malformed_json_wrong_content_type_and_oversized_bodies_are_4xx(demo_server: Server):
    headers = {**demo_server.headers(), "Content-Type": "application/json"}
    broken = demo_server.client.patch(
        "/api/schools/demo-primary", data='{"name": "x",}', headers=headers
    )
    assert broken.status_code == 400 and "line 1, column 14" in broken.json["error"]
    listed = demo_server.client.patch("/api/schools/demo-primary", data="[1, 2]", headers=headers)
    assert listed.status_code == 400 and "JSON object" in listed.json["error"]
    untyped = demo_server.client.patch(
        "/api/schools/demo-primary", data='{"name": "x"}', headers=demo_server.headers()
    )
    assert untyped.status_code == 415
    huge = demo_server.client.patch(
        "/api/schools/demo-primary", data="x" * 3_000_000, headers=headers
    )
    assert huge.status_code == 413 and huge.json["error"] == "The request body is too large."


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    changes=st.dictionaries(
        st.sampled_from(
            [
                "name",
                "phases",
                "type",
                "inset_days",
                "named_dates",
                "term_dates",
                "flags",
                "rules_off",
                "local_events",
                "senco_hours_per_week",
                "la_code",
                "closure_days",
            ]
        ),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers(-5, 3000)
            | st.text(max_size=12)
            | st.dates().map(str),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=8), inner, max_size=3)
            ),
            max_leaves=6,
        ),
        max_size=3,
    )
)
def test_no_profile_change_an_author_sends_produces_a_500(demo_server: Server, changes):
    answer = demo_server.client.patch(
        "/api/schools/demo-primary", json=changes, headers=demo_server.headers()
    )
    assert answer.status_code < 500, (changes, answer.json)


# ---------------------------------------------------------------------------- packs


def test_a_rejected_pack_keeps_the_previous_version_live(demo_server: Server):
    before = snapshot(demo_server)
    broken = catalog.demo_file("la-example").decode().replace("kind: deadline", "kind: dedline", 1)
    answer = demo_server.publish(broken, "la-example.yaml")
    assert answer.status_code == 422
    assert answer.json["problems"][0]["field"] == "kind" and answer.json["problems"][0]["line"] > 1
    assert snapshot(demo_server) == before
    packs = demo_server.client.get("/api/packs", headers=demo_server.headers()).json["packs"]
    assert [(p["slug"], p["revision"]) for p in packs] == [("la-example", 1)]


def test_a_built_in_pack_cannot_be_shadowed(demo_server: Server):
    text = 'pack: england-statutory\ntitle: X\npublisher: {kind: la, code: "999"}\nversion: "1"\nrules: []\n'
    answer = demo_server.publish(text)
    assert answer.status_code == 422 and "built-in" in answer.json["error"]


def test_another_publisher_cannot_take_over_a_slug(demo_server: Server):
    text = catalog.demo_file("la-example").decode().replace('code: "999"', 'code: "998"')
    answer = demo_server.publish(text)
    assert answer.status_code == 422 and "already published by someone else" in answer.json["error"]


# ---------------------------------------------------------------------------- OpenAPI


def test_openapi_document_is_valid_and_lists_every_route(server: Server):
    doc = server.client.get("/api/openapi.json").json
    validate(doc)
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    for ep in ENDPOINTS:
        path = re.sub(r"<(\w+)>", r"{\1}", ep.path)
        assert (ep.method, path) in documented
    assert ("GET", "/feeds/{token}.ics") in documented
    assert "SchoolProfile" in doc["components"]["schemas"]


def test_audit_log_records_changes_without_secrets(demo_server: Server):
    path = demo_server.new_feed("demo-primary", "senco", token_name="office")
    token = path.removeprefix("/feeds/").removesuffix(".ics")
    with demo_server.services.db.session() as s:
        entries = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        actions = [e.action for e in entries]
        dumped = json.dumps([e.details for e in entries])
    assert {"pack.publish", "school.create", "feed.create", "token.add", "key.create.admin"} <= set(
        actions
    )
    assert token not in dumped and demo_server.admin_key not in dumped
    assert dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC) in [e.at for e in entries]
