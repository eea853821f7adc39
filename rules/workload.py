"""The SENCO's workload by week, against the school's SENCO time, and what could move.

Weeks run Monday to Sunday over the academic year (the week holding 1 September first). A
week's hours are the SENCO's effort estimates of the entries that start in it; it is over when
the hours pass ``profile.senco_hours_per_week``. Suggestions move a movable task (a task or
meeting of the school's own timing: not a statutory date, not a fixed national date, not a
booked or pupil-level meeting, not a preparation step or a repeating entry) out of an over
week to the nearest week that has room, stays in term and does not pass the task's own date.
Accepting one sets ``profile.date_overrides[ref][year] = to_date``.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from rules.calendar import is_working_day, year_bounds
from rules.dates import fmt
from rules.event import Event, EventBody
from rules.pack import Pack
from rules.profile import SchoolProfile
from rules.vocabulary import Basis, Kind, duration_words

ONE_WEEK = dt.timedelta(weeks=1)
FIXED_BASES = frozenset({Basis.STATUTORY, Basis.STA, Basis.JCQ, Basis.INFORMATION})


@dataclass(frozen=True)
class WeekLoad:
    """One week: its Monday, the SENCO's hours, the entries that start in it."""

    monday: dt.date
    hours: float
    entries: tuple[Event, ...]
    in_term: bool
    over: bool


@dataclass(frozen=True)
class Suggestion:
    """Move one task to a lighter week (accepting it sets the school's own date for ``ref``)."""

    ref: str
    year: int
    title: str
    hours: float
    from_date: dt.date
    to_date: dt.date
    reason: str


@dataclass(frozen=True)
class Workload:
    """A school's year as weeks of SENCO hours, with suggestions for the over weeks."""

    cap: float | None
    weeks: tuple[WeekLoad, ...]
    suggestions: tuple[Suggestion, ...]

    @property
    def over_weeks(self) -> tuple[WeekLoad, ...]:
        """The weeks whose hours pass the cap."""
        return tuple(w for w in self.weeks if w.over)


def _day(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def movable(body: EventBody) -> bool:
    """A task the school may date itself: its own timing, one date a year, not per pupil."""
    return (
        body.kind in (Kind.TASK, Kind.MEETING)
        and body.basis not in FIXED_BASES
        and not body.pupil_level
        and body.prep is None
        and body.occurrence is None
        and bool(body.effort_hours)
        and body.pack not in ("local", "sencocal")
    )


def workload(
    events: Sequence[Event],
    profile: SchoolProfile,
    academic_year: int,
    *,
    packs: Sequence[Pack] = (),
) -> Workload:
    """The weeks of ``academic_year`` with the SENCO's hours, and suggestions for over weeks.

    Args:
        events: the school's events for the SENCO (as evaluated; any order).
        profile: the school (``senco_hours_per_week`` is the cap; None: no week is over).
        academic_year: 2026 for 2026/27.
        packs: the school's packs, for its LA's term dates when it has none of its own
            (without term dates no week counts as in term and nothing is suggested).
    """
    cap = profile.senco_hours_per_week
    first, last = year_bounds(academic_year)
    term_days = _term_days(packs, profile, academic_year)
    mondays: list[dt.date] = []
    day = _monday(first)
    while day <= last:
        mondays.append(day)
        day += ONE_WEEK
    by_week: dict[dt.date, list[Event]] = {m: [] for m in mondays}
    for event in sorted(events, key=lambda e: e.body.sort_key):
        start = _day(event.body.start)
        if first <= start <= last and event.body.year == academic_year:
            by_week[_monday(start)].append(event)
    hours = {m: _hours(by_week[m]) for m in mondays}
    in_term = {m: _has_term_day(term_days, m) for m in mondays}
    suggestions = _suggest(by_week, hours, in_term, cap, academic_year, term_days)
    weeks = tuple(
        WeekLoad(
            m,
            round(hours[m], 2),
            tuple(by_week[m]),
            in_term[m],
            cap is not None and round(hours[m], 2) > cap,
        )
        for m in mondays
    )
    return Workload(cap, weeks, tuple(suggestions))


def _hours(events: Sequence[Event]) -> float:
    return sum(e.body.effort_hours or 0.0 for e in events)


def _term_days(packs: Sequence[Pack], profile: SchoolProfile, year: int) -> list[dt.date]:
    """The school's term days: its own term dates, else its LA's (else none are known)."""
    periods = profile.term_dates.get(year)
    if periods is None:
        periods = next(
            (
                p.term_dates[year]
                for p in packs
                if p.publisher.kind == "la"
                and p.publisher.code == profile.la_code
                and p.term_dates
                and year in p.term_dates
            ),
            None,
        )
    if periods is None:
        return []
    closed = set(profile.closure_days) | set(profile.inset_days)
    out = []
    for p in periods:
        day = p.start
        while day <= p.end:
            if is_working_day(day) and day not in closed:
                out.append(day)
            day += dt.timedelta(days=1)
    return sorted(out)


def _has_term_day(term_days: Sequence[dt.date], monday: dt.date) -> bool:
    i = bisect.bisect_left(term_days, monday)
    return i < len(term_days) and term_days[i] < monday + ONE_WEEK


def _suggest(
    by_week: dict[dt.date, list[Event]],
    hours: dict[dt.date, float],
    in_term: dict[dt.date, bool],
    cap: float | None,
    year: int,
    term_days: Sequence[dt.date],
) -> list[Suggestion]:
    if cap is None:
        return []
    load = dict(hours)
    out: list[Suggestion] = []
    # A rule's own date moves its preparation with it: such rules are left where they are.
    with_prep = {
        f"{e.body.pack}:{e.body.rule}" for events in by_week.values() for e in events if e.body.prep
    }
    mondays = sorted(by_week)
    for week in mondays:
        if round(load[week], 2) <= cap:
            continue
        candidates = [
            e
            for e in by_week[week]
            if movable(e.body) and f"{e.body.pack}:{e.body.rule}" not in with_prep
        ]
        candidates.sort(key=lambda e: (-(e.body.effort_hours or 0), e.body.key_suffix))
        for event in candidates:
            if round(load[week], 2) <= cap:
                break
            body = event.body
            effort = body.effort_hours or 0.0
            start = _day(body.start)
            target = _lighter_week(week, start, effort, load, in_term, cap, mondays)
            if target is None:
                continue
            to_date = _same_weekday_in_term(target, start, term_days)
            if to_date is None:
                continue
            load[week] -= effort
            load[target] += effort
            out.append(
                Suggestion(
                    ref=f"{body.pack}:{body.rule}",
                    year=year,
                    title=body.title,
                    hours=effort,
                    from_date=start,
                    to_date=to_date,
                    reason=(
                        f"The week of {fmt(week)} has about {duration_words(hours[week])} of "
                        f"SENCO work against your {duration_words(cap)}; the week of "
                        f"{fmt(target)} has room for this task (about {duration_words(effort)})."
                    ),
                )
            )
    return out


def _lighter_week(
    week: dt.date,
    start: dt.date,
    effort: float,
    load: dict[dt.date, float],
    in_term: dict[dt.date, bool],
    cap: float,
    mondays: Sequence[dt.date],
) -> dt.date | None:
    """The nearest earlier term week with room (a task moves before its own date, not after)."""
    for other in sorted((m for m in mondays if m < week), reverse=True):
        if in_term[other] and round(load[other] + effort, 2) <= cap:
            return other
    return None


def _same_weekday_in_term(
    monday: dt.date, start: dt.date, term_days: Sequence[dt.date]
) -> dt.date | None:
    """The same weekday as ``start`` in the week of ``monday``, else its nearest term day."""
    wanted = monday + dt.timedelta(days=start.weekday())
    i = bisect.bisect_left(term_days, monday)
    week = [d for d in term_days[i : i + 7] if d < monday + ONE_WEEK]
    if not week:
        return None
    return min(week, key=lambda d: (abs((d - wanted).days), d))
