"""A roster change reaches the calendar through a job; a leaver's events go; proposals stay put."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from feedserver import catalog
from feedserver.clock import today
from feedserver.pipeline import refresh
from feedserver.storage import events as event_store
from feedserver.storage import roster as roster_store
from feedserver.storage.models import EventChange, EventRow, School
from rules.ehcp import placed_meetings
from rules.roster_csv import TEMPLATE
from tests.feedserver.conftest import Server
from tests.feedserver.test_jobs import queued, waiting, work  # noqa: F401 - fixture

CSV = {"Content-Type": "text/csv"}
LA = catalog.demo_file("la-example").decode("utf-8")


def roster_csv(count: int) -> str:
    """``count`` pupils with plans issued and reviewed across the year (no names)."""
    lines = ["ref,year_group,plan_issued,last_review_meeting,last_review_decision"]
    for n in range(count):
        month = 1 + n % 12
        lines.append(
            f"P-{1000 + n},{1 + n % 6},2022-{month:02d}-{10 + n % 15:02d},"
            f"2025-{month:02d}-{5 + n % 20:02d}," + (f"2025-{month:02d}-{26:02d}" if n % 3 else "")
        )
    return "\n".join(lines) + "\n"


def pupils_in_store(server: Server, school: str = "demo-primary") -> dict[str, int]:
    """How many stored events (any year, live or dropped) each pupil has."""
    with server.services.db.session() as s:
        bodies = s.scalars(select(EventRow.body).where(EventRow.school_id == school)).all()
    found: dict[str, int] = {}
    for body in bodies:
        if body.get("pupil"):
            found[body["pupil"]] = found.get(body["pupil"], 0) + 1
    return found


def import_roster(server: Server, key: str, data: str) -> Any:
    answer = server.client.post("/api/schools/demo-primary/roster.csv", data=data,
                                headers={**server.headers(key), **CSV})  # fmt: skip
    assert answer.status_code == 200, answer.json
    return answer


def test_a_roster_change_is_queued_and_the_worker_adds_each_pupils_reviews(queued: Server):  # noqa: F811
    queued.publish(LA, "la-example.yaml")
    assert queued.add_demo_school("demo-primary").status_code == 201
    work(queued)
    key = queued.school_key("demo-primary")
    answer = import_roster(queued, key, TEMPLATE)
    assert answer.json["calendar_update_queued"] is True
    assert waiting(queued, "evaluate") == ["evaluate_school__demo-primary__roster"]
    assert pupils_in_store(queued) == {}  # nothing evaluated in the request
    status = queued.client.get("/api/schools/demo-primary", headers=queued.headers(key)).json
    assert status["status"]["up_to_date"] is False
    work(queued)
    assert set(pupils_in_store(queued)) == {"P-0412", "P-0419", "P-0533", "P-0601"}
    status = queued.client.get("/api/schools/demo-primary", headers=queued.headers(key)).json
    assert status["status"]["up_to_date"] is True


def test_a_pupil_who_leaves_is_removed_with_every_event_of_theirs(any_server: Server):
    server = any_server
    server.publish(LA, "la-example.yaml")
    assert server.add_demo_school("demo-primary").status_code == 201
    key = server.school_key("demo-primary")
    import_roster(server, key, TEMPLATE)
    before = pupils_in_store(server)
    assert before["P-0419"] > 3
    with server.services.db.session() as s:
        past = s.scalars(select(EventRow.body).where(EventRow.school_id == "demo-primary")).all()
        assert any(b.get("pupil") == "P-0419" and b["start"][:10] < "2026-11-23" for b in past), (
            "the test wants a past event of the leaver too"
        )
    answer = server.client.delete("/api/schools/demo-primary/roster/P-0419",
                                  headers=server.headers(key))  # fmt: skip
    assert answer.status_code == 204
    after = pupils_in_store(server)
    assert "P-0419" not in after
    assert after == {ref: n for ref, n in before.items() if ref != "P-0419"}
    with server.services.db.session() as s:
        titles = s.scalars(select(EventChange.title)).all()
    assert not any("P-0419" in t for t in titles)
    feed = server.new_feed("demo-primary", "senco", key=key)
    text = server.client.get(feed).get_data(as_text=True)
    assert "P-0419" not in text and "P-0412" in text


def test_earlier_proposals_keep_their_dates_when_pupils_join(server: Server):
    server.publish(LA, "la-example.yaml")
    assert server.add_demo_school("demo-primary").status_code == 201
    key = server.school_key("demo-primary")
    import_roster(server, key, roster_csv(30))
    years = refresh.window(today(server.services.clock))
    with server.services.db.session() as s:
        first, _ = event_store.window(s, "demo-primary", years)
    proposed = placed_meetings(first)
    assert len(proposed) >= 25
    import_roster(server, key, roster_csv(40))
    with server.services.db.session() as s:
        again, _ = event_store.window(s, "demo-primary", years)
    now = placed_meetings(again)
    assert {ref: now[ref] for ref in proposed} == proposed
    assert len(now) > len(proposed)


def test_the_nightly_check_sees_a_roster_changed_behind_its_back(server: Server):
    server.publish(LA, "la-example.yaml")
    assert server.add_demo_school("demo-primary").status_code == 201
    day = today(server.services.clock)
    with server.services.db.session() as s:
        assert refresh.stale_school_ids(s, day) == []
        school = s.get(School, "demo-primary")
        assert school is not None
        unchanged = refresh.current_fingerprint(s, school, day)
        from rules.roster_csv import parse_csv

        roster_store.replace(s, server.services.secretbox, "demo-primary", parse_csv(TEMPLATE),
                             "test", server.clock.now())  # fmt: skip
    with server.services.db.session() as s:
        assert refresh.stale_school_ids(s, day) == ["demo-primary"]
        school = s.get(School, "demo-primary")
        assert school is not None
        assert refresh.current_fingerprint(s, school, day) != unchanged
