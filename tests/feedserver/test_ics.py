"""ICS rendering: RFC 5545 shape, read back by three independent parsers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import icalendar
import ics as ics_lib
import pytest
import recurring_ical_events

import rules
from feedserver.ics import FeedMeta, Revisions, render
from rules.audiences import for_audience
from rules.event import UID_NAMESPACE

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
    assert [str(v["UID"]) for v in vevents] == [e.ics_uid for e in events]
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


def test_ics_uids_are_opaque_stable_uuids_that_name_no_school_or_pupil(events, feed):
    """Issue 8 section 5: RFC 7986 section 5.3, and CalDAV servers refuse '/' and ':' in names."""
    cal = icalendar.Calendar.from_ical(feed)
    uids = [str(v["UID"]) for v in cal.walk("VEVENT")]
    assert len(set(uids)) == len(uids) == len(events)
    for uid, event in zip(uids, events, strict=True):
        parsed = uuid.UUID(uid)
        assert parsed.version == 5 and str(parsed) == uid
        assert event.school_id not in uid and "/" not in uid and ":" not in uid
        assert uid == str(uuid.uuid5(UID_NAMESPACE, event.uid))  # stable: from the identity


def test_an_identity_with_a_pupil_reference_gets_its_own_uid(events):
    body = events[0].body
    with_pupil = rules.Event(events[0].school_id, dataclasses.replace(body, pupil="P-0042"))
    assert with_pupil.uid.endswith("/pupil:P-0042")
    assert with_pupil.key.pupil == "P-0042"
    assert with_pupil.ics_uid != events[0].ics_uid
    assert rules.Event.from_json(with_pupil.to_json()).key == with_pupil.key


def test_computed_dates_are_tentative_and_say_so(events, feed):
    cal = icalendar.Calendar.from_ical(feed)
    uid = next(e.ics_uid for e in events if e.uid.endswith("/census-autumn/2026"))
    computed = [v for v in cal.walk("VEVENT") if str(v["UID"]) == uid]
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
    assert sorted(str(v["UID"]) for v in found) == sorted(e.ics_uid for e in events)


def test_a_second_independent_parser_reads_the_same_events(events, feed):
    parsed = ics_lib.Calendar(feed.decode("utf-8"))
    assert {e.uid for e in parsed.events} == {e.ics_uid for e in events}
    by_uid = {e.uid: e for e in parsed.events}
    first = events[0]
    assert by_uid[first.ics_uid].name == first.body.title


def test_audience_feeds_carry_no_pupil_level_events(events):
    pupil = [e for e in events if e.body.pupil_level]
    for audience in ("slt", "governors", "ta", "staff"):
        assert not set(pupil) & set(for_audience(events, audience))


def reference_event(event, stamp, revisions):
    """The same event built with icalendar's own components: the behaviour we must match."""
    from icalendar import Alarm
    from icalendar import Event as IcsEvent

    from feedserver.ics import ALARM_HOUR, TZID, describe
    from rules.vocabulary import Status

    body = event.body
    ics = IcsEvent()
    modified = revisions.modified.get(event.uid, stamp)
    ics.add("uid", event.ics_uid)
    ics.add("dtstamp", modified)
    ics.add("sequence", revisions.sequence.get(event.uid, 0))
    ics.add("last-modified", modified)
    ics.add("summary", body.title)
    if body.all_day:
        ics.add("dtstart", body.start)
        ics.add("dtend", body.end)
        ics.add("transp", "TRANSPARENT")
    else:
        ics.add("dtstart", body.start, parameters={"TZID": TZID})
        ics.add("dtend", body.end, parameters={"TZID": TZID})
        ics.add("transp", "OPAQUE")
    ics.add("description", describe(event))
    ics.add("categories", list(body.categories))
    ics.add("status", "TENTATIVE" if body.status == Status.COMPUTED else "CONFIRMED")
    ics.add("class", "CONFIDENTIAL" if body.pupil_level else "PUBLIC")
    if body.source is not None and body.source.url:
        ics.add("url", body.source.url)
    for days in body.alarms:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"Reminder: {body.title}")
        alarm.add("trigger", dt.timedelta(days=-days, hours=ALARM_HOUR if body.all_day else 0))
        ics.add_component(alarm)
    return ics


def properties(component):
    return sorted(
        (
            name,
            component[name].to_ical()
            if hasattr(component[name], "to_ical")
            else str(component[name]),
        )
        for name in component
    )


def test_every_event_matches_an_icalendar_built_reference(
    builtin_packs, la_example, demo_primary, demo_secondary
):
    from rules.event import EventBody, Source

    stamp = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    events = [
        e
        for s in (demo_primary, demo_secondary)
        for e in rules.evaluate([*builtin_packs, la_example], s, 2026)
    ]
    tricky = EventBody(
        pack="local", rule="odd", year=2026, occurrence=None, prep=None,
        title="Café; commas, \\backslashes\\ and ü " + "long " * 30, description="line one\nline two, with; odd\\chars",
        kind=rules.event.Kind.EVENT, start=dt.date(2026, 12, 1), end=dt.date(2026, 12, 2), all_day=True,
        anchor=dt.date(2026, 12, 1), audience=(rules.event.Audience.SENCO,), categories=("A, B", "C;D"),
        involves=(), pupil_level=True, statutory=False, status=rules.event.Status.COMPUTED, why="because",
        source=Source("S", "https://example.org/a?b=c,d"), effort_hours=None, alarms=(0, 3),
    )  # fmt: skip
    events.append(rules.Event("demo-primary", tricky))
    revisions = Revisions(
        sequence={e.uid: i % 4 for i, e in enumerate(events)},
        modified={events[0].uid: stamp + dt.timedelta(days=2)},
    )
    ours = icalendar.Calendar.from_ical(render(events, FeedMeta(name="x"), stamp, revisions)).walk(
        "VEVENT"
    )
    assert len(ours) == len(events)
    for parsed, event in zip(ours, events, strict=True):
        reference = icalendar.Calendar.from_ical(
            b"BEGIN:VCALENDAR\r\n"
            + reference_event(event, stamp, revisions).to_ical()
            + b"END:VCALENDAR\r\n"
        ).walk("VEVENT")[0]
        assert properties(parsed) == properties(reference), event.uid
        assert [properties(a) for a in parsed.walk("VALARM")] == [
            properties(a) for a in reference.walk("VALARM")
        ]
