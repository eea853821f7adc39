"""No pupil reference leaves sencocal except in the SENCO's own feed, and counts stay counts.

A school with a 40-pupil roster: every feed (senco, slt, governors, ta, staff) and every pushed
calendar (Google's emulator, one connection per audience, through the page and the push jobs).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter

import icalendar
from sqlalchemy import select

from feedserver.storage.models import Connection, EventRow, LedgerRow
from tests.feedserver.conftest import Server
from tests.feedserver.test_calendars import app, connect, delegated_key, google, ours  # noqa: F401
from tests.feedserver.test_roster_refresh import roster_csv

REF = re.compile(r"P-\d{4}")
COUNT = re.compile(r"^(\d+) EHCP annual reviews? this week$")


def with_roster(server: Server, pupils: int = 40) -> str:
    key = server.school_key("demo-primary")
    answer = server.client.post("/api/schools/demo-primary/roster.csv", data=roster_csv(pupils),
                                headers={**server.headers(key), "Content-Type": "text/csv"})  # fmt: skip
    assert answer.status_code == 200, answer.json
    return key


def meetings_per_week(server: Server, audience: str) -> Counter[dt.date]:
    """The pupil-level review meetings meant for ``audience``, counted by week (from the store)."""
    weeks: Counter[dt.date] = Counter()
    with server.services.db.session() as s:
        bodies = s.scalars(select(EventRow.body).where(EventRow.active.is_(True))).all()
    for b in bodies:
        if b.get("pupil") and b["kind"] == "meeting" and audience in b["audience"]:
            day = dt.date.fromisoformat(b["start"][:10])
            weeks[day - dt.timedelta(days=day.weekday())] += 1
    return weeks


def feed_events(server: Server, path: str) -> list[icalendar.Event]:
    answer = server.client.get(path)
    assert answer.status_code == 200
    return list(icalendar.Calendar.from_ical(answer.data).walk("VEVENT"))


def counts_in(events: list[icalendar.Event]) -> dict[dt.date, int]:
    found = {}
    for e in events:
        match = COUNT.match(str(e["SUMMARY"]))
        if match:
            found[e.decoded("DTSTART")] = int(match.group(1))
    return found


def test_only_the_senco_feed_names_pupils_and_the_others_get_counts(app: Server):  # noqa: F811
    key = with_roster(app)
    paths = {a: app.new_feed("demo-primary", a, key=key)
             for a in ("senco", "slt", "governors", "ta", "staff")}  # fmt: skip
    senco = feed_events(app, paths["senco"])
    named = {m for e in senco for m in REF.findall(str(e.get("SUMMARY", "")))}
    assert len(named) == 40  # the SENCO's calendar says whose review each entry is
    for e in senco:
        assert not REF.search(str(e["UID"]))  # the UID is opaque even there
    for audience in ("slt", "governors", "ta", "staff"):
        raw = app.client.get(paths[audience]).get_data(as_text=True)
        assert not REF.search(raw), audience
    slt = counts_in(feed_events(app, paths["slt"]))
    expected = meetings_per_week(app, "slt")
    assert slt == dict(expected) and sum(slt.values()) >= 40
    governors = counts_in(feed_events(app, paths["governors"]))
    wanted = meetings_per_week(app, "governors")
    assert governors == {week: n for week, n in wanted.items() if n >= 3}
    assert governors, "the roster should give at least one week of 3 or more reviews"
    assert not counts_in(feed_events(app, paths["ta"]))


def test_governors_see_no_count_below_three(app: Server):  # noqa: F811
    key = with_roster(app, pupils=2)
    wanted = meetings_per_week(app, "governors")
    assert wanted and max(wanted.values()) < 3
    slt = counts_in(feed_events(app, app.new_feed("demo-primary", "slt", key=key)))
    assert slt == dict(meetings_per_week(app, "slt"))
    governors = feed_events(app, app.new_feed("demo-primary", "governors", key=key))
    assert counts_in(governors) == {}
    assert not any("EHCP annual review" in str(e["SUMMARY"]) for e in governors)


def test_no_pushed_calendar_holds_a_pupil_reference(app: Server, google):  # noqa: F811
    with_roster(app)
    for audience in ("senco", "slt", "governors", "ta"):
        answer = connect(app, delegated_key(google), audience=audience)
        assert answer.status_code == 302, audience
    with app.services.db.session() as s:
        rows = s.scalars(select(Connection).order_by(Connection.id)).all()
    assert [r.audience for r in rows] == ["senco", "slt", "governors", "ta"]
    for row in rows:
        held = ours(google, row)
        assert held, f"the {row.audience} calendar was filled"
        dumped = json.dumps(google.events(row.calendar_id))
        assert not REF.search(dumped), row.audience
        counts = {e["start"].get("date") or e["start"]["dateTime"]: COUNT.match(e["summary"])
                  for e in held}  # fmt: skip
        found = {d: int(m.group(1)) for d, m in counts.items() if m}
        if row.audience == "slt":
            assert sum(found.values()) == sum(meetings_per_week(app, "slt").values())
        if row.audience == "governors":
            assert found and min(found.values()) >= 3
        if row.audience in ("senco", "ta"):
            assert not found
    with app.services.db.session() as s:
        ledger = s.execute(select(LedgerRow.identity, LedgerRow.key)).all()
    assert ledger and not any(REF.search(f"{i} {k}") for i, k in ledger)  # never pushed at all
