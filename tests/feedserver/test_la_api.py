"""An LA's own API: check, dry run, publish, roll back, term dates, colleagues and keys."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from feedserver import catalog, termcsv
from feedserver.pipeline import dryrun
from feedserver.storage import apikeys, las
from feedserver.storage.models import EventRow, PackVersion
from feedserver.web import api_la  # noqa: F401 - registers the LA routes in ENDPOINTS
from feedserver.web.apiroutes import ENDPOINTS
from tests.feedserver.conftest import Server
from tests.feedserver.test_jobs import queued as queued_fixture
from tests.feedserver.test_jobs import waiting, work
from tests.feedserver.test_la_terms import warning_kinds

LA = catalog.demo_file("la-example").decode()
MOVED = LA.replace("2026: 2027-02-05", "2026: 2027-02-12")  # the spring top-up round moves
OTHER_LA = LA.replace('code: "999"', 'code: "888"').replace("pack: la-example", "pack: la-other")
NAMES = {"Example Road Primary School (demo)", "Example Park Academy (demo)"}
BROKEN = LA.replace("    kind: deadline\n", "    kind: dealine\n", 1)


def la_key(server: Server, code: str = "999", name: str = "Example Borough Council") -> str:
    svc = server.services
    with svc.db.session() as s:
        if las.get(s, code) is None:
            las.create(s, code, name, "admin:test", svc.clock.now())
        return apikeys.create_key(s, "la", svc.clock.now(), label="officer", la_code=code)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def submit(
    server: Server, key: str, text: str, mode: str, code: str = "999", note: str = ""
) -> Any:
    return server.client.post(
        f"/api/la/{code}/packs?mode={mode}&note={note}",
        data=text,
        headers={**auth(key), "Content-Type": "application/yaml"},
    )


def revisions(server: Server, slug: str = "la-example") -> list[int]:
    with server.services.db.session() as s:
        return sorted(s.scalars(select(PackVersion.revision).where(PackVersion.slug == slug)).all())


def test_a_pack_with_a_mistake_is_refused_with_its_line_and_field_and_nothing_is_stored(
    demo_server: Server,
):
    key = la_key(demo_server)
    for mode in ("check", "dry-run", "publish"):
        answer = submit(demo_server, key, BROKEN, mode)
        assert answer.status_code == 422, answer.json
        problem = answer.json["problems"][0]
        assert problem["line"] == BROKEN.splitlines().index("    kind: dealine") + 1
        assert problem["field"].endswith("kind") and problem["rule"] == "topup-round-autumn"
    assert revisions(demo_server) == [1]  # the live version is untouched


def test_an_la_may_not_publish_a_pack_naming_another_publisher(demo_server: Server):
    key = la_key(demo_server)
    answer = submit(demo_server, key, OTHER_LA, "publish")
    assert answer.status_code == 422
    assert 'publisher: {kind: la, code: "999"}' in answer.json["error"]
    assert revisions(demo_server, "la-other") == []


def test_a_check_says_the_pack_is_fine_without_publishing_it(demo_server: Server):
    answer = submit(demo_server, la_key(demo_server), MOVED, "check")
    assert answer.status_code == 200 and answer.json["ok"] is True
    assert answer.json["slug"] == "la-example"
    assert revisions(demo_server) == [1]


def test_the_dry_run_of_a_moved_deadline_matches_the_hand_worked_effect_on_both_schools(
    demo_server: Server,
):
    # The spring top-up round for 2026/27 moves from Fri 5 Feb 2027 to Fri 12 Feb 2027: at each
    # of the LA's two schools the deadline moves, and so does its "gather evidence" task three
    # weeks before (Fri 15 Jan -> Fri 22 Jan 2027). Nothing else changes.
    answer = submit(demo_server, la_key(demo_server), MOVED, "dry-run")
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert (body["state"], body["schools"], body["affected"]) == ("done", 2, 2)
    assert body["totals"] == {"added": 0, "moved": 4, "reworded": 0, "removed": 0}
    for school in body["results"]:
        moves = {(c["old_start"], c["new_start"]) for c in school["examples"]}
        assert moves == {("2027-02-05", "2027-02-12"), ("2027-01-15", "2027-01-22")}
        assert "school_id" not in school
    assert {s["name"] for s in body["results"]} == NAMES
    assert revisions(demo_server) == [1]  # a dry run publishes nothing


def test_a_large_las_dry_run_is_a_job_whose_progress_the_link_shows(
    demo_server: Server, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(dryrun, "IN_REQUEST", 1)  # two schools count as large
    key = la_key(demo_server)
    answer = submit(demo_server, key, MOVED, "dry-run")
    assert answer.status_code == 202
    demo_server.services.jobs.wait()
    shown = demo_server.client.get(answer.json["link"], headers=auth(key))
    assert shown.status_code == 200
    assert (shown.json["state"], shown.json["checked"], shown.json["totals"]["moved"]) == (
        "done",
        2,
        4,
    )


def starts(server: Server, school: str = "demo-primary") -> dict[str, str]:
    with server.services.db.session() as s:
        return {
            r.uid: str(r.body["start"])
            for r in s.scalars(select(EventRow).where(EventRow.school_id == school))
            if r.active and "/la-example/topup-round-spring/2026" in r.uid and "prep" not in r.uid
        }


def test_publishing_answers_at_once_with_a_progress_link_that_reaches_every_school(
    demo_server: Server,
):
    key = la_key(demo_server)
    answer = submit(demo_server, key, MOVED, "publish", note="The panel meets a week later.")
    assert answer.status_code == 202, answer.json
    assert (answer.json["revision"], answer.json["schools_reached"]) == (2, 2)
    demo_server.services.jobs.wait()
    progress = demo_server.client.get(answer.json["progress"], headers=auth(key)).json
    assert (progress["schools"], progress["done"], progress["finished"]) == (2, 2, True)
    assert list(starts(demo_server).values()) == ["2027-02-12"]
    history = demo_server.client.get("/api/la/999/packs", headers=auth(key)).json["packs"]
    (pack,) = [p for p in history if p["slug"] == "la-example"]
    assert [v["revision"] for v in pack["versions"]] == [2, 1]
    assert pack["versions"][0]["note"] == "The panel meets a week later."


def test_publishing_the_same_content_again_changes_nothing(demo_server: Server):
    answer = submit(demo_server, la_key(demo_server), LA, "publish")
    assert answer.status_code == 200 and answer.json["new"] is False
    assert revisions(demo_server) == [1]


def test_rolling_back_through_the_api_publishes_a_new_revision_and_moves_events_back(
    demo_server: Server,
):
    key = la_key(demo_server)
    submit(demo_server, key, MOVED, "publish")
    demo_server.services.jobs.wait()
    with demo_server.services.db.session() as s:
        seq = {
            r.uid: r.sequence
            for r in s.scalars(select(EventRow).where(EventRow.school_id == "demo-primary"))
        }
    answer = demo_server.client.post(
        "/api/la/999/packs/la-example/revisions/1/rollback", headers=auth(key)
    )
    assert answer.status_code == 202, answer.json
    assert (answer.json["revision"], answer.json["rolled_back_from"]) == (3, 1)
    demo_server.services.jobs.wait()
    assert list(starts(demo_server).values()) == ["2027-02-05"]
    with demo_server.services.db.session() as s:
        for row in s.scalars(select(EventRow).where(EventRow.school_id == "demo-primary")):
            if row.uid in starts(demo_server):
                assert row.sequence > seq[row.uid]


def test_an_la_publishes_its_term_dates_from_a_csv_and_its_schools_inherit_them(
    demo_server: Server,
):
    key = la_key(demo_server)
    assert "term_dates" in warning_kinds(demo_server, 2028)  # the LA pack stops at 2027/28
    rows = [line for line in termcsv.TEMPLATE.splitlines() if ",inset," not in line
            and ",closure," not in line]  # fmt: skip
    csv = (
        "\n".join(rows)
        .replace("2026,", "2028,")
        .replace("2026-", "2028-")
        .replace("2027-", "2029-")
    )
    answer = demo_server.client.post(
        "/api/la/999/term-dates?note=Agreed+by+the+schools+forum",
        data=csv + "\n",
        headers={**auth(key), "Content-Type": "text/csv"},
    )
    assert answer.status_code == 202, answer.json
    assert (answer.json["slug"], answer.json["schools_reached"]) == ("la-999-term-dates", 2)
    demo_server.services.jobs.wait()
    assert "term_dates" not in warning_kinds(demo_server, 2028)  # inherited


def test_an_la_term_dates_file_with_a_bad_date_is_refused_by_line(demo_server: Server):
    key = la_key(demo_server)
    answer = demo_server.client.post(
        "/api/la/999/term-dates",
        data="academic_year,label,start,end\n2028,autumn1,2028-09-31,2028-10-20\n",
        headers={**auth(key), "Content-Type": "text/csv"},
    )
    assert answer.status_code == 422
    assert answer.json["problems"][0]["line"] == 2
    assert revisions(demo_server, "la-999-term-dates") == []


def test_what_an_la_sees_of_its_schools_is_names_urns_counts_and_its_own_dates(
    demo_server: Server,
):
    key = la_key(demo_server)
    home = demo_server.client.get("/api/la/999", headers=auth(key)).json
    assert {s["school"] for s in home["schools"]} == {"demo-primary", "demo-secondary"}
    assert set(home["schools"][0]) == {
        "school",
        "name",
        "urn",
        "subscribed_links",
        "connected_calendars",
    }
    entries = demo_server.client.get(
        "/api/la/999/schools/demo-primary/entries", headers=auth(key)
    ).json["entries"]
    with demo_server.services.db.session() as s:
        la_titles = {
            r.body["title"]
            for r in s.scalars(select(EventRow).where(EventRow.school_id == "demo-primary"))
            if r.active and "/la-example/" in r.uid
        }
        all_titles = {
            r.body["title"]
            for r in s.scalars(select(EventRow).where(EventRow.school_id == "demo-primary"))
            if r.active
        }
    assert {e["title"] for e in entries} == la_titles
    assert la_titles < all_titles  # national entries are not the LA's to see


def test_an_officer_adds_a_colleague_who_gets_a_sign_in_link(demo_server: Server):
    key = la_key(demo_server)
    answer = demo_server.client.post(
        "/api/la/999/officers", json={"name": "Sam Patel", "email": "sam@la.example"},
        headers=auth(key),
    )  # fmt: skip
    assert answer.status_code == 201, answer.json
    assert "/sign-in/" in answer.json["sign_in_link"]
    listed = demo_server.client.get("/api/la/999/officers", headers=auth(key)).json["officers"]
    assert [o["name"] for o in listed] == ["Sam Patel"]


def test_the_admin_adds_an_la_with_its_first_officer(demo_server: Server):
    answer = demo_server.client.post(
        "/api/las",
        json={"code": "330", "name": "Birmingham", "officer": {"name": "Ada", "email": "a@b.c"}},
        headers=demo_server.headers(),
    )
    assert answer.status_code == 201, answer.json
    assert answer.json["sign_in_link"]
    bad = demo_server.client.post(
        "/api/las", json={"code": "33", "name": "X", "officer": {"name": "Y"}},
        headers=demo_server.headers(),
    )  # fmt: skip
    assert bad.status_code == 422 and bad.json["problems"][0]["field"] == "code"


def test_a_revoked_la_key_is_refused_at_once(demo_server: Server):
    key = la_key(demo_server)
    other = la_key(demo_server)
    keys = demo_server.client.get("/api/la/999/keys", headers=auth(other)).json["keys"]
    first = keys[0]["id"]
    assert (
        demo_server.client.delete(f"/api/la/999/keys/{first}", headers=auth(other)).status_code
        == 204
    )
    assert demo_server.client.get("/api/la/999", headers=auth(key)).status_code == 401


LA_ROUTES = [e for e in ENDPOINTS if e.path.startswith("/api/la/")]


def _path(template: str, code: str) -> str:
    values = {"la_code": code, "school_id": "demo-primary", "slug": "la-example",
              "revision": "1", "run_id": "1", "key_id": "1"}  # fmt: skip
    out = template
    for name, value in values.items():
        out = out.replace(f"<{name}>", value)
    return out


@pytest.mark.parametrize("endpoint", LA_ROUTES, ids=lambda e: f"{e.method} {e.path}")
def test_every_la_endpoint_answers_another_la_a_school_key_and_no_key_like_a_missing_one(
    demo_server: Server, endpoint: Any
):
    la_key(demo_server)  # LA 999 exists
    other = la_key(demo_server, "888", "Another Council")
    school = demo_server.school_key("demo-primary")
    path = _path(endpoint.path, "999")
    missing = _path(endpoint.path, "777")
    call = getattr(demo_server.client, endpoint.method.lower())
    as_other = call(path, headers=auth(other))
    as_missing = call(missing, headers=auth(other))
    assert (as_other.status_code, as_other.json) == (as_missing.status_code, as_missing.json)
    assert as_other.status_code == 404
    assert call(path, headers=auth(school)).status_code == 404
    assert call(path).status_code == 401


def test_an_la_officer_key_reaches_no_school_endpoint(demo_server: Server):
    key = la_key(demo_server)
    for path in ("/api/schools/demo-primary", "/api/schools/demo-primary/events", "/api/schools"):
        assert demo_server.client.get(path, headers=auth(key)).status_code in {403, 404}


def test_two_la_publishes_at_once_both_land_and_the_later_wins(demo_server: Server):
    key = la_key(demo_server)
    again = MOVED.replace("2027-02-12", "2027-02-11")
    first = submit(demo_server, key, MOVED, "publish")
    second = submit(demo_server, key, again, "publish")
    assert (first.json["revision"], second.json["revision"]) == (2, 3)
    demo_server.services.jobs.wait()
    assert list(starts(demo_server).values()) == ["2027-02-11"]


queued = queued_fixture  # the queued-path fixture: SQLite with jobs on this run's Redis


def test_on_redis_a_publication_answers_before_any_school_is_done_and_the_workers_finish_it(
    queued: Server,
):
    queued.publish(LA, "la-example.yaml")
    for name in ("demo-primary", "demo-secondary"):
        assert queued.add_demo_school(name).status_code == 201
    work(queued)
    key = la_key(queued)
    answer = submit(queued, key, MOVED, "publish", note="Later this year.")
    assert answer.status_code == 202
    progress = queued.client.get(answer.json["progress"], headers=auth(key)).json
    assert (progress["schools"], progress["done"], progress["finished"]) == (2, 0, False)
    assert waiting(queued, "fanout")  # one fan-out job, no school evaluated in the request
    work(queued)
    progress = queued.client.get(answer.json["progress"], headers=auth(key)).json
    assert (progress["done"], progress["finished"]) == (2, True)
    assert list(starts(queued).values()) == ["2027-02-12"]
