"""ICS rendering (RFC 5545 with RFC 7986 names): pure functions from events to bytes.

Nothing here reads a clock: the DTSTAMP, SEQUENCE and LAST-MODIFIED values are inputs, so
identical inputs give identical bytes. The feed server renders when events change and serves
the stored bytes; the CLI preview uses the same function.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from icalendar import Alarm, Calendar, Timezone, TimezoneDaylight, TimezoneStandard
from icalendar import Event as IcsEvent
from icalendar.prop import vDuration

from rules.event import UID_DOMAIN, Event
from rules.vocabulary import Status

PRODID = "-//sencocal//sencocal feeds 1.0//EN"
TZID = "Europe/London"
ALARM_HOUR = 9  # all-day reminders fire at 09:00 on the day they are due


@dataclass(frozen=True)
class FeedMeta:
    """Calendar-level properties of one feed."""

    name: str
    description: str = ""
    color: str | None = None
    refresh: dt.timedelta = dt.timedelta(hours=12)
    url: str | None = None


@dataclass(frozen=True)
class Revisions:
    """Per-event SEQUENCE and LAST-MODIFIED, keyed by event uid (defaults 0 and the stamp)."""

    sequence: Mapping[str, int] = field(default_factory=dict)
    modified: Mapping[str, dt.datetime] = field(default_factory=dict)


def ics_uid(event: Event) -> str:
    """The ICS UID for ``event``: its identity plus ``@sencocal``."""
    return f"{event.uid}@{UID_DOMAIN}"


def render(
    events: Iterable[Event],
    meta: FeedMeta,
    stamp: dt.datetime,
    revisions: Revisions | None = None,
) -> bytes:
    """Render ``events`` as one VCALENDAR.

    Args:
        events: in the order they should appear (the evaluator's stable order).
        meta: the calendar's name and refresh hints.
        stamp: DTSTAMP and LAST-MODIFIED for events without a revision of their own (UTC).
        revisions: SEQUENCE and LAST-MODIFIED (also used as DTSTAMP) per uid.

    Returns:
        UTF-8 bytes with CRLF line endings and lines folded at 75 octets.
    """
    stamp = stamp.astimezone(dt.UTC)
    revisions = revisions or Revisions()
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("name", meta.name)
    cal.add("x-wr-calname", meta.name)
    if meta.description:
        cal.add("description", meta.description)
        cal.add("x-wr-caldesc", meta.description)
    cal.add("x-wr-timezone", TZID)
    if meta.color:
        cal.add("color", meta.color)
    if meta.url:
        cal.add("url", meta.url)
    refresh = vDuration(meta.refresh)
    refresh.params["VALUE"] = "DURATION"
    cal.add("refresh-interval", refresh)
    cal.add("x-published-ttl", vDuration(meta.refresh))
    timed = False
    components = []
    for event in events:
        component = _event(event, stamp, revisions)
        timed = timed or not event.body.all_day
        components.append(component)
    if timed:
        cal.add_component(london_timezone())
    for component in components:
        cal.add_component(component)
    data: bytes = cal.to_ical()
    return data


def _event(event: Event, stamp: dt.datetime, revisions: Revisions) -> IcsEvent:
    body = event.body
    ics = IcsEvent()
    modified = revisions.modified.get(event.uid, stamp).astimezone(dt.UTC)
    ics.add("uid", ics_uid(event))
    # DTSTAMP is when this event's content last changed, so identical content gives identical
    # bytes (and ETags) however often the feed is re-rendered.
    ics.add("dtstamp", modified)
    ics.add("sequence", revisions.sequence.get(event.uid, 0))
    ics.add("last-modified", modified)
    ics.add("summary", body.title)
    if body.all_day:
        ics.add("dtstart", body.start)
        ics.add("dtend", body.end)
        ics.add("transp", "TRANSPARENT")
    else:
        assert isinstance(body.start, dt.datetime) and isinstance(body.end, dt.datetime)
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
        hours = ALARM_HOUR if body.all_day else 0
        alarm.add("trigger", dt.timedelta(days=-days, hours=hours))
        ics.add_component(alarm)
    return ics


def describe(event: Event) -> str:
    """The DESCRIPTION text: what to do, why this date, where the rule comes from."""
    body = event.body
    parts = [body.description] if body.description else []
    if body.status == Status.COMPUTED:
        parts.append("Expected date: worked out from the usual pattern, not yet published. "
                     "Check it before relying on it.")  # fmt: skip
    parts.append(f"Why this date: {body.why}.")
    if body.source is not None:
        parts.append(
            f"Source: {body.source.title}" + (f" ({body.source.url})" if body.source.url else "")
        )  # noqa: E501
    if body.effort_hours:
        parts.append(f"Time to allow: about {body.effort_hours:g} hours.")
    parts.append(f"From the {body.pack} pack, rule {body.rule}.")
    return "\n\n".join(parts)


def london_timezone() -> Timezone:
    """A compact VTIMEZONE for Europe/London (EU rules since 1996, as clients emit)."""
    tz = Timezone()
    tz.add("tzid", TZID)
    daylight = TimezoneDaylight()
    daylight.add("tzname", "BST")
    daylight.add("tzoffsetfrom", dt.timedelta(hours=0))
    daylight.add("tzoffsetto", dt.timedelta(hours=1))
    daylight.add("dtstart", dt.datetime(1996, 3, 31, 1, 0))
    daylight.add("rrule", {"freq": "yearly", "bymonth": 3, "byday": "-1su"})
    standard = TimezoneStandard()
    standard.add("tzname", "GMT")
    standard.add("tzoffsetfrom", dt.timedelta(hours=1))
    standard.add("tzoffsetto", dt.timedelta(hours=0))
    standard.add("dtstart", dt.datetime(1996, 10, 27, 2, 0))
    standard.add("rrule", {"freq": "yearly", "bymonth": 10, "byday": "-1su"})
    tz.add_component(daylight)
    tz.add_component(standard)
    return tz
