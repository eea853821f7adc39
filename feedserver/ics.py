"""ICS rendering (RFC 5545 with RFC 7986 names): pure functions from events to bytes.

Nothing here reads a clock: the DTSTAMP, SEQUENCE and LAST-MODIFIED values are inputs, so
identical inputs give identical bytes. The feed server renders when events change and serves
the stored bytes; the CLI preview uses the same function.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from icalendar import Calendar, Timezone, TimezoneDaylight, TimezoneStandard
from icalendar.prop import vDuration

from rules.event import Event
from rules.text import clean
from rules.vocabulary import BASIS_WORDS, Status, duration_words

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
    """The ICS UID for ``event``: an opaque UUIDv5 of its identity (RFC 7986 section 5.3)."""
    return event.ics_uid


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
    # A calendar's name is one line; bare carriage returns would break the lines around them.
    name = " ".join(clean(meta.name).split())
    description = clean(meta.description).replace("\r\n", "\n").replace("\r", "\n")
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    if description:
        cal.add("description", description)
        cal.add("x-wr-caldesc", description)
    cal.add("x-wr-timezone", TZID)
    if meta.color:
        cal.add("color", meta.color)
    if meta.url:
        cal.add("url", meta.url)
    refresh = vDuration(meta.refresh)
    refresh.params["VALUE"] = "DURATION"
    cal.add("refresh-interval", refresh)
    cal.add("x-published-ttl", vDuration(meta.refresh))
    events = list(events)
    if any(not e.body.all_day for e in events):
        cal.add_component(london_timezone())
    head: bytes = cal.to_ical()
    assert head.endswith(b"END:VCALENDAR\r\n")
    parts = [head[: -len(b"END:VCALENDAR\r\n")]]
    for event in events:
        modified = revisions.modified.get(event.uid, stamp).astimezone(dt.UTC)
        parts.append(b"BEGIN:VEVENT\r\n")
        parts.append(fold(f"UID:{escape(ics_uid(event))}"))
        # DTSTAMP is when this event's content last changed, so identical content gives
        # identical bytes (and ETags) however often the feed is re-rendered.
        parts.append(f"DTSTAMP:{modified:%Y%m%dT%H%M%SZ}\r\n".encode())
        parts.append(f"SEQUENCE:{revisions.sequence.get(event.uid, 0)}\r\n".encode())
        parts.append(f"LAST-MODIFIED:{modified:%Y%m%dT%H%M%SZ}\r\n".encode())
        parts.append(_body_lines(event))
        parts.append(b"END:VEVENT\r\n")
    parts.append(b"END:VCALENDAR\r\n")
    return b"".join(parts)


_BODY_CACHE: dict[tuple[str, str], bytes] = {}
_BODY_CACHE_MAX = 100_000


def _body_lines(event: Event) -> bytes:
    """The school-independent lines of a VEVENT, cached by content.

    Shared by every school and audience that shows the same event.
    """
    body = event.body
    key = (body.content_hash, body.pack + "/" + body.rule)
    found = _BODY_CACHE.get(key)
    if found is not None:
        return found
    lines = [fold(f"SUMMARY:{escape(body.title)}")]
    if body.all_day:
        lines.append(f"DTSTART;VALUE=DATE:{body.start:%Y%m%d}\r\n".encode())
        lines.append(f"DTEND;VALUE=DATE:{body.end:%Y%m%d}\r\n".encode())
        lines.append(b"TRANSP:TRANSPARENT\r\n")
    else:
        lines.append(f"DTSTART;TZID={TZID}:{body.start:%Y%m%dT%H%M%S}\r\n".encode())
        lines.append(f"DTEND;TZID={TZID}:{body.end:%Y%m%dT%H%M%S}\r\n".encode())
        lines.append(b"TRANSP:OPAQUE\r\n")
    lines.append(fold(f"DESCRIPTION:{escape(describe(event))}"))
    lines.append(fold("CATEGORIES:" + ",".join(escape(c) for c in body.categories)))
    lines.append(
        b"STATUS:TENTATIVE\r\n" if body.status == Status.COMPUTED else b"STATUS:CONFIRMED\r\n"
    )
    lines.append(b"CLASS:CONFIDENTIAL\r\n" if body.pupil_level else b"CLASS:PUBLIC\r\n")
    if body.source is not None and body.source.url:
        lines.append(fold(f"URL:{body.source.url}"))
    for days in body.alarms:
        hours = ALARM_HOUR if body.all_day else 0
        lines.append(b"BEGIN:VALARM\r\nACTION:DISPLAY\r\n")
        lines.append(fold(f"DESCRIPTION:{escape('Reminder: ' + body.title)}"))
        lines.append(f"TRIGGER:{duration(dt.timedelta(days=-days, hours=hours))}\r\n".encode())
        lines.append(b"END:VALARM\r\n")
    data = b"".join(lines)
    if len(_BODY_CACHE) >= _BODY_CACHE_MAX:
        _BODY_CACHE.clear()
    _BODY_CACHE[key] = data
    return data


def escape(text: str) -> str:
    """RFC 5545 TEXT escaping: backslash, semicolon, comma and newlines.

    Control characters and the Unicode line separators are dropped: input is checked where it
    arrives, and this keeps a feed readable even if one slipped into stored data.
    """
    return (
        clean(text)
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "")
    )


def fold(line: str) -> bytes:
    """One content line, folded at 75 octets without splitting a UTF-8 character, with CRLF."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return data + b"\r\n"
    pieces = []
    start, limit = 0, 75
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:
            end -= 1  # never cut inside a multi-byte character
        pieces.append(data[start:end])
        start, limit = end, 74  # continuation lines begin with a space
    return b"\r\n ".join(pieces) + b"\r\n"


def duration(delta: dt.timedelta) -> str:
    """An RFC 5545 DURATION: ``-P6DT15H``, ``PT9H``, ``P1D``."""
    sign = "-" if delta < dt.timedelta(0) else ""
    delta = abs(delta)
    hours, rest = divmod(delta.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}P" + (f"{delta.days}D" if delta.days else "")
    clock = (
        (f"{hours}H" if hours else "")
        + (f"{minutes}M" if minutes else "")
        + (f"{seconds}S" if seconds else "")
    )
    if clock or not delta.days:
        text += "T" + (clock or "0S")
    return text


def describe(event: Event) -> str:
    """The DESCRIPTION text: what to do, why this date, where the rule comes from."""
    body = event.body
    parts = [body.description] if body.description else []
    basis = BASIS_WORDS[body.basis]
    if basis:
        parts.append(basis)
    if body.status == Status.COMPUTED:
        parts.append("Expected date: worked out from the usual pattern, not yet published. "
                     "Check it before relying on it.")  # fmt: skip
    parts.append(f"Why this date: {body.why}.")
    if body.source is not None:
        parts.append(
            f"Source: {body.source.title}" + (f" ({body.source.url})" if body.source.url else "")
        )  # noqa: E501
    if body.effort_hours:
        parts.append(f"Time to allow: about {duration_words(body.effort_hours)}.")
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
