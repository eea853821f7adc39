"""Resolving date expressions for one school and academic year, saying how each date was found.

Everything school-specific is asked through :class:`rules.reads.Reads`; a missing input raises
:class:`Unresolved` naming what the school (or its LA) needs to supply, as a
:class:`~rules.warning.WarningKind` and its subject.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from dateutil.relativedelta import relativedelta

from rules.calendar import (
    ONE_DAY,
    academic_year_of,
    add_working_days,
    bank_holiday_name,
    is_working_day,
    year_bounds,
)
from rules.expr import DateExpr, Offset
from rules.reads import NO_TERMS, REFUSED, Reads
from rules.vocabulary import (
    BREAK_WORDS,
    HALF_WORDS,
    MONTHS,
    WEEKDAYS,
    Status,
    academic_year_label,
)
from rules.warning import Details, WarningKind


class Unresolved(Exception):
    """A date cannot be worked out for this school: ``kind`` says what is missing or wrong.

    Attributes:
        kind: the warning kind.
        subject: what it is about (a year, a date key, a ``pack:rule`` ref; see WarningKind).
        details: further values for the warning (ISO dates, a cause), by name.
    """

    def __init__(self, kind: WarningKind, subject: str, details: Details = ()) -> None:
        super().__init__(kind.value, subject, details)
        self.kind = kind
        self.subject = subject
        self.details = details


class NotPublished(Exception):
    """A nationally published date is not known for this year and must not be guessed."""

    def __init__(self, estimate: dt.date | None) -> None:
        super().__init__("not published")
        self.estimate = estimate


@dataclass
class Resolved:
    """A resolved date with its optional last day (published ranges), status and explanation."""

    day: dt.date
    last: dt.date | None = None
    status: Status = Status.CONFIRMED
    why: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Scope:
    """Where an expression is being resolved: year, repeat position, rule identity."""

    year: int
    ref: str  # pack:rule, for published-date look-ups
    this_half: str | None = None
    this_term: str | None = None
    this_month: int | None = None
    pinned: dt.date | None = None  # the school_date this occurrence is for
    usual: bool = False  # pinned to a usual date: the school has not added its own
    override: dt.date | None = None  # a date the school set for this rule


ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", "last": "last"}


def fmt(day: dt.date) -> str:
    """``Thu 1 Oct 2026``."""
    return f"{WEEKDAYS[day.weekday()][:3].capitalize()} {day.day} {MONTHS[day.month - 1][:3].capitalize()} {day.year}"  # noqa: E501


def resolve(expr: DateExpr, scope: Scope, reads: Reads) -> Resolved:
    """Resolve ``expr`` (base, offsets; not the adjustment, see :func:`adjust`)."""
    got = _base(expr, scope, reads)
    if not expr.is_zero():
        base_words = got.why[0] if len(got.why) == 1 else None
        got.day = shift(got.day, expr, reads, got.why)
        got.last = None
        distance = _distance(expr)
        if base_words is not None and distance:  # "27 days after 'Autumn census day' (...)"
            got.why = [f"{distance} {base_words}: {fmt(got.day)}"]
    return got


_UNITS = (
    ("months", "month"),
    ("weeks", "week"),
    ("days", "day"),
    ("working_days", "working day"),
    ("school_days", "school day"),
    ("staff_days", "staff day"),
)


def _distance(offset: Offset) -> str:
    """``2 weeks and 2 days after`` (empty when the parts point different ways)."""
    parts = [(getattr(offset, name), unit) for name, unit in _UNITS if getattr(offset, name)]
    if not parts or len({count > 0 for count, _ in parts}) > 1:
        return ""
    words = [f"{abs(c)} {unit if abs(c) == 1 else unit + 's'}" for c, unit in parts]
    return " and ".join(words) + (" after" if parts[0][0] > 0 else " before")


def _month_date(month: int, year: int) -> int:
    return year if month >= 9 else year + 1


def _base(expr: DateExpr, scope: Scope, reads: Reads) -> Resolved:
    year = scope.year
    base = expr.base
    if base == "day":
        month = MONTHS.index(expr.month) + 1 if expr.month else scope.this_month
        assert month is not None and expr.day is not None
        cal_year = _month_date(month, year)
        dom = expr.day
        if month == 2 and dom == 29 and not _leap(cal_year):
            return Resolved(
                dt.date(cal_year, 2, 28), why=[f"29 February is 28 February in {cal_year}"]
            )
        words = f"{dom} {MONTHS[month - 1].capitalize()} {cal_year}"
        day = dt.date(cal_year, month, dom)
        if expr.weekday is not None:  # the first such weekday on or after that day
            day += dt.timedelta(days=(WEEKDAYS.index(expr.weekday) - day.weekday()) % 7)
            words = f"the first {expr.weekday.capitalize()} on or after {words}"
        return Resolved(day, why=[words])
    if base == "weekday":
        month = MONTHS.index(expr.month) + 1 if expr.month else scope.this_month
        assert month is not None and expr.weekday is not None and expr.nth is not None
        cal_year = _month_date(month, year)
        weekday = WEEKDAYS.index(expr.weekday)
        day = nth_weekday(cal_year, month, weekday, expr.nth)
        words = f"{ORDINALS[expr.nth]} {expr.weekday.capitalize()} of {MONTHS[month - 1].capitalize()} {cal_year}"  # noqa: E501
        return Resolved(day, why=[words])
    if base in ("half", "break", "term"):
        if base == "half":
            label = scope.this_half if expr.half == "this" else expr.half
            assert label is not None
            what = HALF_WORDS[label]
        elif base == "term":
            label = scope.this_term if expr.term == "this" else expr.term
            what = f"the {label} term"
        else:
            label = str(expr.break_)
            what = BREAK_WORDS[label]
        assert label is not None
        span = period_span(reads, base, year, label)
        day = span[0] if expr.at == "start" else span[1]
        return Resolved(day, why=[f"the {'first' if expr.at == 'start' else 'last'} day of {what}"])
    if base == "academic_year":
        first, last = year_bounds(year)
        day = first if expr.academic_year == "start" else last
        return Resolved(
            day, why=[f"{expr.academic_year} of academic year {academic_year_label(year)}"]
        )  # noqa: E501
    if base == "financial_year":
        month = reads.ask(("fy",))
        day = dt.date(year + 1, 4, 1) if month == 4 else dt.date(year, 9, 1)
        return Resolved(day, why=[f"financial year starts {fmt(day)} for this type of school"])
    if base == "staff_day":
        day = (
            first_staff_day(reads, year)
            if expr.staff_day == "first"
            else last_staff_day(reads, year)
        )  # noqa: E501
        return Resolved(day, why=[f"the {expr.staff_day} staff day of {academic_year_label(year)}"])
    if base == "after":
        return _after(expr, scope, reads)
    if base == "school_date":
        if scope.pinned is not None and scope.usual:
            words = key_words(str(expr.school_date))
            return Resolved(
                scope.pinned,
                why=[f"a usual time for a {words}, until your school adds its {words} dates"],
            )
        if scope.pinned is not None:
            return Resolved(scope.pinned, why=[f"your {key_words(str(expr.school_date))} date"])
        dates = school_dates(reads, str(expr.school_date), year)
        return Resolved(dates[0], why=[f"your {key_words(str(expr.school_date))} date"])
    if base == "published":
        return _published(expr, scope, reads)
    raise AssertionError(base)  # pragma: no cover - validation admits only known bases


def _after(expr: DateExpr, scope: Scope, reads: Reads) -> Resolved:
    ref = str(expr.after)
    answer = reads.ask(("rule", ref, scope.year))
    if answer[0] == REFUSED:  # the rule cannot be dated from: ("refused", kind)
        raise Unresolved(answer[1], ref)
    if answer[0] != "ok":  # it could not be dated itself: ("error", kind, subject, details)
        _, kind, subject, details = answer
        if kind is not WarningKind.REFERENCE_UNRESOLVED:  # else keep the first cause found
            details = (("cause", kind.value), ("cause_subject", subject))
        raise Unresolved(WarningKind.REFERENCE_UNRESOLVED, ref, details)
    _, start, last, status, title = answer
    day = start if expr.at == "start" else last
    words = f"'{title}' ({fmt(day)})"
    if start != last:  # only an entry of several days has a start and an end
        words = f"the {'start' if expr.at == 'start' else 'end'} of {words}"
    return Resolved(day, status=Status(status), why=[words])


def _published(expr: DateExpr, scope: Scope, reads: Reads) -> Resolved:
    year = scope.year
    found: Any = reads.ask(("published", scope.ref, year))
    who = "published"
    if found is not None:
        value, who = found
    else:
        value = (expr.published or {}).get(year)
    if value is not None:
        first, last = (value, None) if isinstance(value, dt.date) else value
        if not isinstance(first, dt.date):  # pragma: no cover - validated at load
            raise Unresolved(WarningKind.PUBLISHED_NOT_DATE, scope.ref)
        text = f"{who} date for {academic_year_label(year)}"
        return Resolved(first, last, Status.CONFIRMED, [text])
    if expr.fallback is not None:
        estimate = resolve(expr.fallback, scope, reads)
        if expr.status == "computed":
            estimate.status = Status.COMPUTED
            estimate.why = [
                f"not yet published for {academic_year_label(year)}; computed from the usual "
                "pattern: " + ", ".join(estimate.why)
            ]
            return estimate
        raise NotPublished(estimate.day)
    raise NotPublished(None)


def school_dates(reads: Reads, key: str, year: int) -> tuple[dt.date, ...]:
    """The school's dates under ``key`` inside academic year ``year`` (at least one).

    Raises:
        Unresolved: the school has given none for this year.
    """
    first, last = year_bounds(year)
    dates = tuple(d for d in reads.ask(("named", key)) if first <= d <= last)
    if not dates:
        raise Unresolved(WarningKind.DATE_KEY, key)
    return dates


def key_words(key: str) -> str:
    """``parents_evening`` -> ``parents' evening``-ish plain words."""
    words = key.replace("_", " ").replace("-", " ")
    return words.replace("parents ", "parents' ")


def nth_weekday(year: int, month: int, weekday: int, nth: int | str) -> dt.date:
    """The nth (1-4) or last ``weekday`` (0 = Monday) of a month."""
    if nth == "last":
        last = dt.date(year, month, 1) + relativedelta(months=1, days=-1)
        return last - dt.timedelta(days=(last.weekday() - weekday) % 7)
    first = dt.date(year, month, 1)
    first += dt.timedelta(days=(weekday - first.weekday()) % 7)
    assert isinstance(nth, int)
    return first + dt.timedelta(weeks=nth - 1)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


# --- calendar questions answered through probes -------------------------------------------


def _calendar(reads: Reads, probe: tuple[object, ...], year: int) -> Any:
    answer = reads.ask(probe)
    if answer is NO_TERMS:
        raise Unresolved(WarningKind.TERM_DATES, str(year))
    return answer


def period_span(reads: Reads, kind: str, year: int, label: str) -> tuple[dt.date, dt.date]:
    """First and last day of a half term, break or term (``kind``) of ``year``.

    Raises:
        Unresolved: no term dates for that year from the school or its LA.
    """
    span: tuple[dt.date, dt.date] = _calendar(reads, (kind, year, label), year)
    return span


def is_term_day(reads: Reads, day: dt.date) -> bool:
    """A weekday inside a term period that is not a bank holiday."""
    answer: bool = _calendar(reads, ("term_day", day), academic_year_of(day))
    return answer


def seek_term_day(reads: Reads, day: dt.date, step: int) -> dt.date | None:
    """The first term day on or after ``day`` (before, with ``step=-1``) in its year, or None."""
    answer: dt.date | None = _calendar(reads, ("seek", day, step), academic_year_of(day))
    return answer


def term_run(reads: Reads, day: dt.date, count: int, step: int) -> tuple[dt.date, ...]:
    """Up to ``count`` term days from ``day`` (inclusive) in direction ``step``, in its year."""
    answer: tuple[dt.date, ...] = _calendar(reads, ("run", day, count, step), academic_year_of(day))
    return answer


def month_has_term(reads: Reads, year: int, month: int) -> bool:
    """Whether ``month`` of academic year ``year`` has any term day."""
    answer: bool = _calendar(reads, ("month_term", year, month), year)
    return answer


def is_staff_day(reads: Reads, day: dt.date) -> bool:
    """A term day or an INSET day."""
    if is_term_day(reads, day):
        return True
    return day.weekday() < 5 and bool(reads.inset(day, day))


def is_school_day(reads: Reads, day: dt.date) -> bool:
    """A term day that is not an INSET day."""
    if not is_term_day(reads, day):
        return False
    return not reads.inset(day, day)


def next_staff_day(reads: Reads, day: dt.date, step: int = 1) -> dt.date:
    """The first staff day on or after ``day`` (before, with ``step=-1``).

    A term day is a staff day whatever the school's INSET days, so INSET days are only asked
    about for the stretch before the next term day (a holiday, or the days before term).
    """
    while True:
        first, last = year_bounds(academic_year_of(day))
        term_day = seek_term_day(reads, day, step)
        if term_day == day:
            return day
        if step > 0:
            edge = term_day - ONE_DAY if term_day is not None else last
            insets = [d for d in reads.inset(day, edge) if d.weekday() < 5] if day <= edge else []
            if insets:
                return insets[0]
        else:
            edge = term_day + ONE_DAY if term_day is not None else first
            insets = [d for d in reads.inset(edge, day) if d.weekday() < 5] if edge <= day else []
            if insets:
                return insets[-1]
        if term_day is not None:
            return term_day
        day = last + ONE_DAY if step > 0 else first - ONE_DAY


def next_school_day(reads: Reads, day: dt.date, step: int = 1) -> dt.date:
    """The first school day on or after ``day`` (before, with ``step=-1``)."""
    while True:
        first, last = year_bounds(academic_year_of(day))
        found = seek_term_day(reads, day, step)
        if found is None:
            day = last + ONE_DAY if step > 0 else first - ONE_DAY
            continue
        if not reads.inset(found, found):
            return found
        day = found + dt.timedelta(days=step)


def add_school_days(reads: Reads, day: dt.date, count: int) -> dt.date:
    """Move ``count`` school days from ``day`` (negative moves back).

    Asks about INSET days once per stretch of term days rather than once per day.
    """
    return _count_days(reads, day, count, school=True)


def add_staff_days(reads: Reads, day: dt.date, count: int) -> dt.date:
    """Move ``count`` staff days from ``day`` (negative moves back)."""
    return _count_days(reads, day, count, school=False)


def _count_days(reads: Reads, day: dt.date, count: int, school: bool) -> dt.date:
    step = 1 if count >= 0 else -1
    remaining = abs(count)
    cursor = day  # the last day already counted past
    while remaining:
        nxt = cursor + dt.timedelta(days=step)
        first, last = year_bounds(academic_year_of(nxt))
        ahead = term_run(reads, nxt, remaining, step)
        if step > 0:
            lo, hi = nxt, (ahead[-1] if len(ahead) == remaining else last)
        else:
            lo, hi = (ahead[-1] if len(ahead) == remaining else first), nxt
        insets = set(reads.inset(lo, hi))
        if school:  # an INSET day inside term is not a school day
            found = [d for d in ahead if d not in insets]
        else:  # an INSET day outside term is an extra staff day
            extra = {d for d in insets if d.weekday() < 5 and not is_term_day(reads, d)}
            found = sorted(set(ahead) | extra, reverse=step < 0)
        if len(found) >= remaining:
            return found[remaining - 1]
        remaining -= len(found)
        cursor = hi if step > 0 else lo
    return day


def first_staff_day(reads: Reads, year: int) -> dt.date:
    """The year's first staff day (often an INSET day before the first term day)."""
    return next_staff_day(reads, year_bounds(year)[0])


def last_staff_day(reads: Reads, year: int) -> dt.date:
    """The year's last staff day."""
    return next_staff_day(reads, year_bounds(year)[1], step=-1)


def shift(day: dt.date, offset: Offset, reads: Reads, why: list[str]) -> dt.date:
    """Apply ``offset`` in order: months, weeks, days, working, school, staff days."""
    parts = []
    if offset.months:
        day = day + relativedelta(months=offset.months)
        parts.append(_signed(offset.months, "month"))
    if offset.weeks or offset.days:
        day = day + dt.timedelta(weeks=offset.weeks, days=offset.days)
        if offset.weeks:
            parts.append(_signed(offset.weeks, "week"))
        if offset.days:
            parts.append(_signed(offset.days, "day"))
    if offset.working_days:
        day = add_working_days(day, offset.working_days)
        parts.append(_signed(offset.working_days, "working day"))
    if offset.school_days:
        day = add_school_days(reads, day, offset.school_days)
        parts.append(_signed(offset.school_days, "school day"))
    if offset.staff_days:
        day = add_staff_days(reads, day, offset.staff_days)
        parts.append(_signed(offset.staff_days, "staff day"))
    why.append(" and ".join(parts) + f" → {fmt(day)}")
    return day


def _signed(count: int, unit: str) -> str:
    plural = unit if abs(count) == 1 else unit + "s"
    return f"{abs(count)} {plural} {'later' if count > 0 else 'earlier'}"


ADJUST_WORDS = {
    "next_school_day": "next school day",
    "previous_school_day": "previous school day",
    "next_staff_day": "next staff day",
    "previous_staff_day": "previous staff day",
    "next_working_day": "next working day",
    "previous_working_day": "previous working day",
}


def adjust(day: dt.date, how: str, reads: Reads, why: list[str]) -> dt.date:
    """Move ``day`` as ``how`` says (``keep`` leaves it), explaining any move in ``why``."""
    if how == "keep":
        return day
    step = 1 if how.startswith("next") else -1
    if how.endswith("staff_day"):
        moved = next_staff_day(reads, day, step)
    elif how.endswith("school_day"):
        moved = next_school_day(reads, day, step)
    else:
        moved = day
        while not is_working_day(moved):
            moved += dt.timedelta(days=step)
    if moved != day:
        reason = _reason(day, reads if how.endswith(("staff_day", "school_day")) else None)
        why.append(f"moved from {fmt(day)}{reason} to {fmt(moved)} ({ADJUST_WORDS[how]})")
    return moved


def _reason(day: dt.date, reads: Reads | None) -> str:
    name = bank_holiday_name(day)
    if name:
        return f", {name}"
    if day.weekday() >= 5:
        return ", a weekend"
    if reads is None:
        return ""
    return ", an INSET day" if is_term_day(reads, day) else ", in the school holidays"
