"""ICS rendering: RFC 5545 shape, read back by three independent parsers."""

from __future__ import annotations

import datetime as dt

import icalendar
import ics as ics_lib
import pytest
import recurring_ical_events

import rules
from feedserver.ics import FeedMeta, Revisions, render
from rules.audiences import for_audience

STAMP = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def events(builtin_packs, la_example, demo_primary):
    return rules.evaluate([*builtin_packs, la_example], demo_primary, 2026)


@pytest.fixture(scope="module")
def feed(events) -> bytes:
    return render(events, FeedMeta(name="Example Road Primary: SENCO"), STAMP)


def test_identical_inputs_give_identical_bytes(events, feed):
    assert render(events, FeedMeta(name="Example Road Primary: SENCO"), STAMP) == feed


def test_lines_are_crlf_and_folded_at_75_octets(feed):
    assert b"\r\n" in feed and b"\n" not in feed.replace(b"\r\n", b"")
    assert max(len(line) for line in feed.split(b"\r\n")) <= 75


def test_calendar_properties_name_refresh_and_timezone(feed):
    cal = icalendar.Calendar.from_ical(feed)
    assert str(cal["PRODID"]).startswith("-//sencocal//")
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["NAME"]) == str(cal["X-WR-CALNAME"]) == "Example Road Primary: SENCO"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT12H" in feed
    assert b"X-PUBLISHED-TTL:PT12H" in feed
    assert len(cal.walk("VTIMEZONE")) == 1  # the demo has a timed LA briefing


def test_every_event_has_uid_from_identity_stamp_and_exclusive_all_day_end(events, feed):
    cal = icalendar.Calendar.from_ical(feed)
    vevents = cal.walk("VEVENT")
    assert [str(v["UID"]) for v in vevents] == [f"{e.uid}@sencocal" for e in events]
    for vevent, event in zip(vevents, events, strict=True):
        assert vevent["DTSTAMP"].dt == STAMP
        if event.body.all_day:
            assert vevent["DTSTART"].params.get("VALUE") == "DATE"
            assert vevent["DTEND"].dt == event.body.end  # exclusive, as the evaluator gives it
        else:
            assert vevent["DTSTART"].params["TZID"] == "Europe/London"


def test_sequence_and_last_modified_come_from_revisions(events):
    uid = events[0].uid
    when = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)
    data = render(
        events[:1], FeedMeta(name="x"), STAMP, Revisions(sequence={uid: 3}, modified={uid: when})
    )
    [vevent] = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert int(vevent["SEQUENCE"]) == 3 and vevent["LAST-MODIFIED"].dt == when


def test_computed_dates_are_tentative_and_say_so(events, feed):
    cal = icalendar.Calendar.from_ical(feed)
    computed = [v for v in cal.walk("VEVENT") if "census-autumn/2026@" in str(v["UID"])]
    assert str(computed[0]["STATUS"]) == "TENTATIVE"
    assert "not yet published" in str(computed[0]["DESCRIPTION"])


def test_alarms_are_display_alarms_before_the_start(feed):
    cal = icalendar.Calendar.from_ical(feed)
    alarms = [a for v in cal.walk("VEVENT") for a in v.walk("VALARM")]
    assert alarms
    for alarm in alarms:
        assert str(alarm["ACTION"]) == "DISPLAY" and alarm["DESCRIPTION"]
        assert alarm["TRIGGER"].dt < dt.timedelta(0)


def test_recurring_ical_events_expands_the_window_to_the_same_events(events, feed):
    cal = icalendar.Calendar.from_ical(feed)
    found = recurring_ical_events.of(cal).between(dt.date(2026, 7, 1), dt.date(2027, 9, 1))
    assert sorted(str(v["UID"]) for v in found) == sorted(f"{e.uid}@sencocal" for e in events)


def test_a_second_independent_parser_reads_the_same_events(events, feed):
    parsed = ics_lib.Calendar(feed.decode("utf-8"))
    assert {e.uid for e in parsed.events} == {f"{e.uid}@sencocal" for e in events}
    by_uid = {e.uid: e for e in parsed.events}
    first = events[0]
    assert by_uid[f"{first.uid}@sencocal"].name == first.body.title


def test_audience_feeds_carry_no_pupil_level_events(events):
    pupil = [e for e in events if e.body.pupil_level]
    for audience in ("slt", "governors", "ta", "staff"):
        assert not set(pupil) & set(for_audience(events, audience))
