"""What a connection's remote calendar should hold: one audience's events, as push events.

The words are the feed's own (``feedserver.ics``), so a pushed calendar and a subscribed feed
say the same. Pupil-level events never leave sencocal this way: a pushed calendar is shared
with, and stored by, another company, so even the SENCO's own gets none of them.
"""

from __future__ import annotations

from collections.abc import Iterable

import rules
from connectors.model import PushEvent
from feedserver import ics
from rules.audiences import for_audience
from rules.vocabulary import Kind

DAY_MINUTES = 24 * 60
ALL_DAY_REMINDER_HOUR = 9  # as the feeds' alarms: 09:00 on the day a reminder is due
# Pushed calendars do not read a feed's alarms, and a deadline with no reminder is easy to miss.
DEFAULT_REMINDER_DAYS = {Kind.DEADLINE: (7, 1), Kind.TASK: (1,), Kind.MEETING: (1,)}
EVENING_BEFORE = 7 * 60  # minutes before midnight: 17:00 the day before


def push_events(events: Iterable[rules.Event], audience: str) -> list[PushEvent]:
    """The events ``audience``'s pushed calendar should hold, in the feed's order."""
    return [push_event(e) for e in for_audience(events, audience) if not e.body.pupil_level]


def push_event(event: rules.Event) -> PushEvent:
    """One event as it is written to a remote calendar."""
    body = event.body
    return PushEvent(
        identity=event.uid,
        summary=body.title,
        description=ics.describe(event),
        start=body.start,
        end=body.end,
        categories=body.categories,
        reminders=reminders(event),
        private=body.pupil_level,
        url=body.source.url if body.source is not None else None,
    )


def reminders(event: rules.Event) -> tuple[int, ...]:
    """Minutes before the start: the rule's own alarms, else a default for its kind.

    All-day events remind at 09:00 on the day due (a reminder due on the day itself comes at
    17:00 the evening before: calendars remind before an all-day event starts, not during it).
    """
    body = event.body
    days = body.alarms or DEFAULT_REMINDER_DAYS.get(body.kind, ())
    out: set[int] = set()
    for n in days:
        if body.all_day:
            out.add(n * DAY_MINUTES - ALL_DAY_REMINDER_HOUR * 60 if n >= 1 else EVENING_BEFORE)
        else:
            out.add(max(n * DAY_MINUTES, 15))
    return tuple(sorted(out, reverse=True))[:5]
