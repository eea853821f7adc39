"""Which events each feed audience receives (DESIGN.md "Audiences / feeds")."""

from __future__ import annotations

from collections.abc import Iterable

from rules.event import Event
from rules.vocabulary import Audience


def for_audience(events: Iterable[Event], audience: Audience | str) -> list[Event]:
    """Events whose audience contains ``audience``; pupil-level events reach only ``senco``.

    Args:
        events: one school's events, in evaluator order (kept).
        audience: the feed's audience.
    """
    wanted = Audience(audience)
    if wanted == Audience.SENCO:
        return list(events)
    return [e for e in events if wanted in e.body.audience and not e.body.pupil_level]
