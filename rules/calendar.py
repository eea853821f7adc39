"""Day arithmetic: bank holidays, working days, and one academic year's term periods.

A :class:`TermYear` is built once per distinct set of term periods and shared by every school
that uses them; INSET days are school-specific and are asked for separately (see
:mod:`rules.reads`), so the expensive part of a calendar is shared.

Words (DESIGN.md): a *term day* is a weekday inside a term period that is not a bank holiday
(nor a day the school is closed, e.g. as a polling station);
a *school day* is a term day that is not an INSET day; a *staff day* is a school day or an
INSET day; a *working day* is Mon-Fri and not an England and Wales bank holiday.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import holidays

from rules.vocabulary import BREAK_AFTER, HALF_LABELS, TERM_HALVES

ONE_DAY = dt.timedelta(days=1)


@lru_cache(maxsize=256)
def _bank_holiday_names(calendar_year: int) -> dict[dt.date, str]:
    days = holidays.country_holidays("GB", subdiv="ENG", years=calendar_year)
    return {day: str(name) for day, name in days.items()}


@lru_cache(maxsize=256)
def bank_holidays(calendar_year: int) -> frozenset[dt.date]:
    """England and Wales bank holidays in ``calendar_year``, from the ``holidays`` package."""
    return frozenset(_bank_holiday_names(calendar_year))


def bank_holiday_name(day: dt.date) -> str | None:
    """The name of the bank holiday on ``day``, or None."""
    return _bank_holiday_names(day.year).get(day)


def is_working_day(day: dt.date) -> bool:
    """Mon-Fri and not a bank holiday."""
    return day.weekday() < 5 and day not in bank_holidays(day.year)


def add_working_days(day: dt.date, count: int) -> dt.date:
    """Move ``count`` working days from ``day`` (negative moves back)."""
    step = ONE_DAY if count >= 0 else -ONE_DAY
    remaining = abs(count)
    while remaining:
        day += step
        if is_working_day(day):
            remaining -= 1
    return day


def academic_year_of(day: dt.date) -> int:
    """2026 for any day from 1 Sep 2026 to 31 Aug 2027."""
    return day.year if day.month >= 9 else day.year - 1


def year_bounds(year: int) -> tuple[dt.date, dt.date]:
    """First and last day (1 Sep, 31 Aug) of academic year ``year``."""
    return dt.date(year, 9, 1), dt.date(year + 1, 8, 31)


@dataclass(frozen=True, eq=False)
class TermYear:
    """One academic year's term periods, with its term days precomputed.

    Equal periods give the same object when built through :func:`term_year`, so it can key
    shared caches by identity.
    """

    year: int
    periods: tuple[tuple[str, dt.date, dt.date], ...]
    closures: frozenset[dt.date] = frozenset()
    days: tuple[dt.date, ...] = field(init=False, repr=False)
    _day_set: frozenset[dt.date] = field(init=False, repr=False)
    _by_label: dict[str, tuple[dt.date, dt.date]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        days: list[dt.date] = []
        for _, start, end in self.periods:
            day = start
            while day <= end:
                if is_working_day(day) and day not in self.closures:
                    days.append(day)
                day += ONE_DAY
        object.__setattr__(self, "days", tuple(days))
        object.__setattr__(self, "_day_set", frozenset(days))
        object.__setattr__(self, "_by_label", {p[0]: (p[1], p[2]) for p in self.periods})

    def is_term_day(self, day: dt.date) -> bool:
        """A weekday inside a period that is not a bank holiday."""
        return day in self._day_set

    def term_day_at_or_after(self, day: dt.date) -> dt.date | None:
        """The first term day on or after ``day`` in this year, or None."""
        i = bisect.bisect_left(self.days, day)
        return self.days[i] if i < len(self.days) else None

    def term_day_at_or_before(self, day: dt.date) -> dt.date | None:
        """The last term day on or before ``day`` in this year, or None."""
        i = bisect.bisect_right(self.days, day)
        return self.days[i - 1] if i else None

    def term_days_between(self, first: dt.date, last: dt.date) -> Sequence[dt.date]:
        """Term days from ``first`` to ``last`` inclusive."""
        return self.days[
            bisect.bisect_left(self.days, first) : bisect.bisect_right(self.days, last)
        ]

    def run(self, day: dt.date, count: int, step: int) -> tuple[dt.date, ...]:
        """Up to ``count`` term days from ``day`` (inclusive), forwards or backwards."""
        if step > 0:
            i = bisect.bisect_left(self.days, day)
            return self.days[i : i + count]
        i = bisect.bisect_right(self.days, day)
        return tuple(reversed(self.days[max(0, i - count) : i]))

    def half(self, label: str) -> tuple[dt.date, dt.date]:
        """First and last day of half term ``label``."""
        return self._by_label[label]

    def term(self, label: str) -> tuple[dt.date, dt.date]:
        """First day of the term's first half and last day of its second."""
        first, second = TERM_HALVES[label]
        return self._by_label[first][0], self._by_label[second][1]

    def break_(self, label: str) -> tuple[dt.date, dt.date]:
        """First and last weekday of break ``label`` (the summer break ends on 31 August)."""
        before = BREAK_AFTER[label]
        start = self._by_label[before][1] + ONE_DAY
        index = HALF_LABELS.index(before)
        if index + 1 < len(HALF_LABELS):
            end = self._by_label[HALF_LABELS[index + 1]][0] - ONE_DAY
        else:
            end = year_bounds(self.year)[1]
        while start.weekday() >= 5 and start < end:
            start += ONE_DAY
        while end.weekday() >= 5 and end > start:
            end -= ONE_DAY
        return start, end


@lru_cache(maxsize=4096)
def term_year(
    year: int,
    periods: tuple[tuple[str, dt.date, dt.date], ...],
    closures: frozenset[dt.date] = frozenset(),
) -> TermYear:
    """The shared :class:`TermYear` for these periods and closure days."""
    return TermYear(year, periods, closures)
