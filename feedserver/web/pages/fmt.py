"""Small formatting helpers for templates (dates in British style, plain words)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from feedserver.wording import time_to_allow as effort  # noqa: F401 - used by templates
from rules.vocabulary import academic_year_label


def day(value: dt.date | dt.datetime) -> str:
    """``Mon 23 Nov 2026`` (with the time for a timed event)."""
    if isinstance(value, dt.datetime):
        return f"{value:%a} {value.day} {value:%b %Y, %H:%M}"
    return f"{value:%a} {value.day} {value:%b %Y}"


def long_day(value: dt.date) -> str:
    """``Monday 23 November 2026``."""
    return f"{value:%A} {value.day} {value:%B %Y}"


def when(value: dt.datetime | None) -> str:
    """A timestamp for people, or 'never'."""
    if value is None:
        return "never"
    return f"{value.day} {value:%b %Y, %H:%M} UTC"


year = academic_year_label


def last_day(exclusive_end: dt.date) -> str:
    """The inclusive last day of an all-day entry whose end is exclusive (like ICS DTEND)."""
    return day(exclusive_end - dt.timedelta(days=1))


def sentence(text: str) -> str:
    """``text`` with a capital first letter (messages are written to follow a colon)."""
    return text[:1].upper() + text[1:]


def iso_day(value: str | None) -> str:
    """An ISO date or date-time, as :func:`day` writes it ('not set' when there is none)."""
    if not value:
        return "not set"
    parsed = dt.datetime.fromisoformat(value)
    return day(parsed.date()) if len(value) <= 10 else day(parsed)


def iso_last_day(exclusive_end: str) -> str:
    """The inclusive last day of an all-day entry whose ISO end is exclusive."""
    return last_day(dt.date.fromisoformat(exclusive_end[:10]))


def hours(value: float) -> str:
    """A week's total time in natural units: ``about 19 hours``, ``about 2.5 hours``."""
    if value <= 0:
        return "no time set aside"
    if value < 1:
        return f"about {max(5, round(value * 60 / 5) * 5)} minutes"
    half = round(value * 2) / 2
    number = f"{half:.0f}" if half == int(half) else f"{half:.1f}"
    return f"about {number} hour{'' if half == 1 else 's'}"


def exact_hours(value: float) -> str:
    """Hours to one decimal, for a heatmap cell: ``19.2 hours``."""
    return f"{value:.1f} hours"


def allowance(value: float) -> str:
    """A weekly time allocation as set: ``15 hours``, ``7.5 hours``."""
    return f"{value:g} hour{'' if value == 1 else 's'}"


def title_for(event: Any, viewer: Any) -> str:
    """An entry's title for this viewer: one naming a pupil only for the school's own admins."""
    if event.body.pupil_level and getattr(viewer, "role", None) != "school":
        return "A pupil's EHCP review step"
    return str(event.body.title)
