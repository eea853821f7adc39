"""An LA's term dates imported from its CSV or ICS, published as a pack its schools inherit."""

from __future__ import annotations

import datetime as dt

import pytest

from feedserver import laterms, termcsv
from rules.errors import PackRejected
from tests.feedserver.conftest import Server

ICS = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Example Borough//Term dates//EN\r
BEGIN:VEVENT\r
UID:a1@example.org\r
DTSTAMP:20260101T000000Z\r
SUMMARY:Autumn term 1\r
DTSTART;VALUE=DATE:20280904\r
DTEND;VALUE=DATE:20281021\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:a2@example.org\r
DTSTAMP:20260101T000000Z\r
SUMMARY:Autumn Term - second half\r
DTSTART;VALUE=DATE:20281030\r
DTEND;VALUE=DATE:20281221\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:s1@example.org\r
DTSTAMP:20260101T000000Z\r
SUMMARY:Spring 1\r
DTSTART;VALUE=DATE:20290108\r
DTEND;VALUE=DATE:20290217\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:s2@example.org\r
DTSTAMP:20260101T000000Z\r
SUMMARY:spring2\r
DTSTART;VALUE=DATE:20290226\r
DTEND;VALUE=DATE:20290329\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:u1@example.org\r
DTSTAMP:20260101T000000Z\r
SUMMARY:Summer term (first half)\r
DTSTART;VALUE=DATE:20290416\r
DTEND;VALUE=DATE:20290526\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:u2@example.org\r
DTSTAMP:20260101T000000Z\r
SUMMARY:Summer Term 2\r
DTSTART;VALUE=DATE:20290604\r
DTEND;VALUE=DATE:20290721\r
END:VEVENT\r
END:VCALENDAR\r
"""


@pytest.mark.parametrize(
    ("summary", "label"),
    [("Autumn term 1", "autumn1"), ("AUTUMN 2", "autumn2"), ("Spring first half", "spring1"),
     ("Summer Term - second half", "summer2"), ("summer1", "summer1"), ("Christmas holiday", None),
     ("Spring term", None)],
)  # fmt: skip
def test_a_half_term_is_read_from_the_way_las_title_their_events(summary, label):
    assert laterms.half_label(summary) == label


def test_an_ics_calendar_gives_six_half_terms_with_inclusive_last_days():
    periods = laterms.from_ics(ICS)
    assert list(periods) == [2028]
    got = {p["label"]: (p["start"], p["end"]) for p in periods[2028]}
    assert got["autumn1"] == (dt.date(2028, 9, 4), dt.date(2028, 10, 20))
    assert got["summer2"] == (dt.date(2029, 6, 4), dt.date(2029, 7, 20))
    assert len(got) == 6


def test_an_ics_event_that_names_no_half_term_is_refused_by_its_title():
    bad = ICS.replace("SUMMARY:Spring 1", "SUMMARY:Spring term")
    with pytest.raises(PackRejected) as caught:
        laterms.from_ics(bad)
    [problem] = caught.value.problems
    assert "“Spring term” does not say which half term" in str(problem)


def test_an_la_csv_with_inset_days_is_refused_saying_they_are_each_schools_own():
    text = termcsv.TEMPLATE  # the school template has inset and closure rows
    with pytest.raises(PackRejected) as caught:
        laterms.from_csv(text)
    assert "INSET and closure days are each school's own" in str(caught.value)


def warning_kinds(server: Server, year: int) -> set[str]:
    preview = server.client.get(
        f"/api/schools/demo-primary/preview?year={year}", headers=server.headers()
    )
    assert preview.status_code == 200
    return {w["kind"] for w in preview.json.get("warnings", [])}


def test_imported_term_dates_are_published_as_a_pack_the_las_schools_inherit(demo_server: Server):
    assert "term_dates" in warning_kinds(demo_server, 2028)  # the LA pack stops at 2027/28
    text = laterms.pack_yaml("999", "Example Borough Council", laterms.from_ics(ICS), "2028 terms")
    answer = demo_server.publish(text, "term-dates.yaml")
    assert answer.status_code == 201, answer.json
    assert "term_dates" not in warning_kinds(demo_server, 2028)  # now it has them
