"""Which events each feed audience receives (DESIGN.md "Audiences / feeds")."""

from __future__ import annotations

from collections.abc import Iterable

from rules.event import Event
from rules.vocabulary import Audience


def for_audience(events: Iterable[Event], audience: Audience | str) -> list[Event]:
    """Events whose audience contains ``audience``, each worded for that reader.

    Pupil-level events reach only ``senco``; other readers get their own title and description
    where the rule gives them, and never the SENCO's effort estimate.

    Args:
        events: one school's events, in evaluator order (kept).
        audience: the feed's audience.
    """
    wanted = Audience(audience)
    if wanted == Audience.SENCO:
        return list(events)
    return [
        Event(e.school_id, e.body.for_reader(wanted))
        for e in events
        if wanted in e.body.audience and not e.body.pupil_level
    ]
