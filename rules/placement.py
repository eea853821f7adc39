"""Placing annual-review meetings: pure, deterministic, and the same whatever order pupils come in.

Each pupil asks for one meeting day inside a window (``earliest`` to ``latest``). Only the
school's ``days`` may be used (school days that are not INSET, closure, census or test days:
the caller works them out). No week (Monday to Sunday) takes more than ``cap`` meetings when
that can be done at all; booked meetings and earlier proposals (``kept``) stay where they are
and count towards their weeks, and new meetings are placed around them.

How: the weeks are slots of capacity ``cap``; a request may use any week that has an allowed
day inside its window. Working from the last week back, each week takes the requests whose
windows start latest (ties by pupil reference): the mirror image of earliest-deadline-first,
which meets every cap whenever any placement could. So each meeting sits as late as it can,
close to the date it is due. A request that cannot fit goes to its least-loaded week and is
marked ``over_cap``; one whose window holds no allowed day goes to the nearest allowed day
and is marked ``outside_window``.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

How = Literal["booked", "kept", "placed", "over_cap", "outside_window"]


@dataclass(frozen=True, order=True)
class Request:
    """One pupil's meeting to place: any allowed day from ``earliest`` to ``latest``."""

    ref: str
    earliest: dt.date
    latest: dt.date


@dataclass(frozen=True)
class Placed:
    """Where a meeting went and how: booked, kept, placed, over_cap or outside_window."""

    day: dt.date
    how: How


def monday(day: dt.date) -> dt.date:
    """The Monday of ``day``'s week."""
    return day - dt.timedelta(days=day.weekday())


def place(
    requests: Iterable[Request],
    days: Sequence[dt.date],
    cap: int,
    *,
    booked: Mapping[str, dt.date] | None = None,
    kept: Mapping[str, dt.date] | None = None,
) -> dict[str, Placed]:
    """Place every request; booked and kept meetings stay put.

    Args:
        requests: one per pupil to place (refs unique).
        days: the days a meeting may use, sorted ascending.
        cap: at most this many meetings a week, where that can be met.
        booked: meetings booked by the school (never moved), by pupil ref; they count
            towards their weeks whether or not they are also requested.
        kept: earlier proposals by pupil ref, kept when still on an allowed day in the
            request's window, and placed again otherwise.

    Returns:
        Pupil ref -> where its meeting is, for every request and every booked meeting.
    """
    booked = dict(booked or {})
    kept = dict(kept or {})
    allowed = frozenset(days)
    load: Counter[dt.date] = Counter()
    out: dict[str, Placed] = {}
    for ref in sorted(booked):
        out[ref] = Placed(booked[ref], "booked")
        load[monday(booked[ref])] += 1
    todo: list[Request] = []
    for request in sorted(set(requests)):
        if request.ref in out:
            continue
        old = kept.get(request.ref)
        if old is not None and old in allowed and request.earliest <= old <= request.latest:
            out[request.ref] = Placed(old, "kept")
            load[monday(old)] += 1
        else:
            todo.append(request)
    by_day: Counter[dt.date] = Counter(p.day for p in out.values())
    weeks = _weeks(days)
    windows = {r.ref: _window_weeks(r, days, weeks) for r in todo}
    pending = [r for r in todo if windows[r.ref]]
    for request in todo:
        if not windows[request.ref]:
            day = _nearest(request, days)
            if day is not None:
                out[request.ref] = Placed(day, "outside_window")
                load[monday(day)] += 1
                by_day[day] += 1
    # Mirror-image EDF over weeks, last week first.
    pending.sort(key=lambda r: (windows[r.ref][-1], r.ref), reverse=True)
    waiting: list[Request] = []
    index = 0
    for week in reversed(weeks):
        while index < len(pending) and windows[pending[index].ref][-1] >= week:
            waiting.append(pending[index])
            index += 1
        fits = [r for r in waiting if windows[r.ref][0] <= week]
        # most urgent first: the window that starts latest, then the reference
        fits.sort(key=lambda r: (windows[r.ref][0], r.ref), reverse=True)
        for request in fits:
            if load[week] >= cap:
                break
            day = _best_day(request, days, week, by_day)
            out[request.ref] = Placed(day, "placed")
            load[week] += 1
            by_day[day] += 1
            waiting.remove(request)
        missed = [r for r in waiting if windows[r.ref][0] >= week]
        for request in sorted(missed, key=lambda r: r.ref):
            waiting.remove(request)
            choices = windows[request.ref]
            week_of = min(choices, key=lambda w: (load[w], -w.toordinal()))
            day = _best_day(request, days, week_of, by_day)
            out[request.ref] = Placed(day, "over_cap")
            load[week_of] += 1
            by_day[day] += 1
    return out


def _weeks(days: Sequence[dt.date]) -> list[dt.date]:
    return sorted({monday(d) for d in days})


def _window_weeks(
    request: Request, days: Sequence[dt.date], weeks: Sequence[dt.date]
) -> tuple[dt.date, ...]:
    lo = bisect.bisect_left(days, request.earliest)
    hi = bisect.bisect_right(days, request.latest)
    return tuple(sorted({monday(d) for d in days[lo:hi]}))


def _best_day(
    request: Request, days: Sequence[dt.date], week: dt.date, by_day: Mapping[dt.date, int]
) -> dt.date:
    """The allowed day of ``week`` in the window with fewest meetings, latest first."""
    first = max(week, request.earliest)
    last = min(week + dt.timedelta(days=6), request.latest)
    lo = bisect.bisect_left(days, first)
    hi = bisect.bisect_right(days, last)
    choices = days[lo:hi]
    return min(choices, key=lambda d: (by_day.get(d, 0), -d.toordinal()))


def _nearest(request: Request, days: Sequence[dt.date]) -> dt.date | None:
    """The allowed day before the window (latest), else the first after it."""
    i = bisect.bisect_left(days, request.earliest)
    if i:
        return days[i - 1]
    j = bisect.bisect_right(days, request.latest)
    return days[j] if j < len(days) else None
