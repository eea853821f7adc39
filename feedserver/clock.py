"""Time at the edge: the only place the feed server reads the clock, so tests can fix it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


class Clock(Protocol):
    """Something that says what time it is (aware, UTC)."""

    def now(self) -> dt.datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> dt.datetime:
        """The current time, timezone-aware UTC."""
        return dt.datetime.now(dt.UTC)


@dataclass
class FixedClock:
    """A clock that says what it is told (tests, the demo's --today)."""

    at: dt.datetime

    def now(self) -> dt.datetime:
        """The fixed time."""
        return self.at

    def advance(self, **delta: float) -> None:
        """Move the clock forward (``days=1``, ``seconds=30``, ...)."""
        self.at += dt.timedelta(**delta)


def today(clock: Clock) -> dt.date:
    """Today's date in England."""
    return clock.now().astimezone(LONDON).date()
