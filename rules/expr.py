"""The date language as pydantic models: what a pack author writes under ``when``.

A date expression is one *base* plus optional *offsets* and an *adjustment*::

    when: {nth: 1, weekday: thursday, month: october}          # first Thursday of October
    when: {weekday: monday, month: november, day: 10}            # first Monday on or after 10 Nov
    when: {half: autumn2, at: start, weeks: 1}                   # a week into autumn 2
    when: {after: census-autumn, days: 27}                       # another rule's date + 27 days
    when: {school_date: parents_evening}                         # a date the school supplies
    when: {published: {2025: 2026-05-11}, fallback: {...}, status: computed}

Offsets apply in a fixed order (months, weeks, days, working days, school days, staff days),
then the adjustment. Everything resolves inside one academic year for one school.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from rules.vocabulary import (
    DATE_KEY_PATTERN,
    MONTHS,
    WEEKDAYS,
    BreakLabel,
    HalfLabel,
    Month,
    TermLabel,
    Weekday,
)


def _lower(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip().lower()
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 12:
        return MONTHS[value - 1]
    return value


MonthName = Annotated[Month, BeforeValidator(_lower)]
WeekdayName = Annotated[Weekday, BeforeValidator(_lower)]

Adjust = Literal[
    "keep",
    "next_school_day",
    "previous_school_day",
    "next_staff_day",
    "previous_staff_day",
    "next_working_day",
    "previous_working_day",
]

BASES: tuple[str, ...] = (
    "day",
    "weekday",
    "half",
    "break",
    "term",
    "academic_year",
    "financial_year",
    "staff_day",
    "after",
    "school_date",
    "published",
)
OFFSETS: tuple[str, ...] = (
    "months",
    "weeks",
    "days",
    "working_days",
    "school_days",
    "staff_days",
)


class Strict(BaseModel):
    """Base for pack models: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Offset(Strict):
    """A signed distance. Calendar months clamp to the month's end (31 Jan + 1 month = 28 Feb)."""

    months: int = Field(0, ge=-24, le=24)
    weeks: int = Field(0, ge=-104, le=104)
    days: int = Field(0, ge=-730, le=730)
    working_days: int = Field(
        0, ge=-500, le=500, description="Mon-Fri, not an England and Wales bank holiday."
    )
    school_days: int = Field(
        0, ge=-400, le=400, description="Pupil days: in term, not weekend/bank holiday/INSET."
    )
    staff_days: int = Field(0, ge=-400, le=400, description="School days plus INSET days.")

    def is_zero(self) -> bool:
        """True when every part is 0."""
        return not (
            self.months
            or self.weeks
            or self.days
            or self.working_days
            or self.school_days
            or self.staff_days
        )


Published = dict[int, dt.date | tuple[dt.date, dt.date]]


class DateExpr(Offset):
    """One date inside an academic year; see the module docstring for the forms."""

    # fixed month-day, or nth / last weekday of a month
    month: MonthName | None = Field(
        None, description="Month name. Omit only inside `repeat: {every: month}`."
    )
    day: int | None = Field(None, ge=1, le=31, description="Day of the month (fixed date).")
    weekday: WeekdayName | None = None
    nth: Literal[1, 2, 3, 4, "last"] | None = Field(
        None, description="Which weekday of the month: 1-4 or 'last' (a 5th is not always there)."
    )
    # the school's own calendar
    half: HalfLabel | Literal["this"] | None = Field(
        None, description="A half term (teaching period); 'this' inside a half-termly repeat."
    )
    break_: BreakLabel | None = Field(None, alias="break", description="A holiday between halves.")
    term: TermLabel | Literal["this"] | None = Field(
        None, description="A whole term (two halves); 'this' inside a termly repeat."
    )
    at: Literal["start", "end"] = Field(
        "start", description="For half/break/term/after: first or last day."
    )
    academic_year: Literal["start", "end"] | None = Field(
        None, description="1 September or 31 August of the academic year."
    )
    financial_year: Literal["start"] | None = Field(
        None, description="The financial year start inside the academic year (by school type)."
    )
    staff_day: Literal["first", "last"] | None = Field(
        None, description="The first or last staff day (school or INSET day) of the year."
    )
    after: str | None = Field(
        None, description="Another rule's date: `rule-id` in this pack, or `pack:rule-id`."
    )
    school_date: str | None = Field(
        None,
        pattern=DATE_KEY_PATTERN,
        description="A date the school supplies, by key (e.g. parents_evening). Several dates "
        "under one key make one occurrence each.",
    )
    defaults: tuple[DateExpr, ...] | None = Field(
        None,
        description="With `school_date`: the usual dates to use in a year the school has "
        "added none under the key (each marked 'add your date').",
    )
    published: Published | None = Field(
        None,
        description="Nationally published dates by academic year: a date, or [first, last].",
    )
    fallback: DateExpr | None = Field(
        None, description="With `published`: the rule used for a year not yet published."
    )
    status: Literal["computed", "unconfirmed"] | None = Field(
        None,
        description="With `published`: how sure the fallback is. 'computed' dates are shown "
        "and marked; 'unconfirmed' ones become a 'find this year's date' task instead.",
    )
    adjust: Adjust | None = Field(
        None, description="Move off a non-working day; default depends on the rule's kind."
    )

    @model_validator(mode="after")
    def _one_base(self) -> DateExpr:
        bases = [name for name in BASES if self.base_value(name) is not None]
        if self.day is not None and self.weekday is not None:
            if self.nth is not None:
                raise ValueError(
                    "give 'nth' (the nth weekday of the month) or 'day' (the first weekday on "
                    "or after that day), not both"
                )
            bases.remove("weekday")  # the first such weekday on or after month + day
        if len(bases) > 1:
            raise ValueError(f"give one date, not several: found {', '.join(bases)}")
        if not bases:
            if self.month is not None:
                raise ValueError("'month' needs 'day' (a fixed date) or 'weekday' and 'nth'")
            if self.nth is not None:
                raise ValueError("'nth' needs 'weekday'")
            raise ValueError(
                "say which date: one of month+day, nth+weekday+month, half, break, term, "
                "academic_year, financial_year, staff_day, after, school_date or published"
            )
        if self.weekday is not None and self.nth is None and self.day is None:
            raise ValueError(
                "'weekday' needs 'nth' (1-4 or last), or 'day' for the first such weekday on "
                "or after that day"
            )
        if self.nth is not None and self.weekday is None:
            raise ValueError("'nth' needs 'weekday'")
        if self.defaults is not None and self.school_date is None:
            raise ValueError("'defaults' go with 'school_date'")
        if self.published is None and (self.fallback is not None or self.status is not None):
            raise ValueError("'fallback' and 'status' go with 'published'")
        if self.published is not None and self.fallback is not None and self.status is None:
            raise ValueError("'published' with a 'fallback' needs 'status' (computed/unconfirmed)")
        return self

    def base_value(self, name: str) -> Any:
        """Return the value of base ``name`` (``break`` maps to ``break_``)."""
        return getattr(self, "break_" if name == "break" else name)

    @property
    def base(self) -> str:
        """The name of the base this expression uses (checked in BASES order, on the hot path)."""
        if self.day is not None:
            return "day"
        if self.weekday is not None:
            return "weekday"
        if self.half is not None:
            return "half"
        if self.break_ is not None:
            return "break"
        if self.term is not None:
            return "term"
        if self.academic_year is not None:
            return "academic_year"
        if self.financial_year is not None:
            return "financial_year"
        if self.staff_day is not None:
            return "staff_day"
        if self.after is not None:
            return "after"
        if self.school_date is not None:
            return "school_date"
        return "published"


class Span(Strict):
    """How long an entry lasts; without it, one day."""

    days: int | None = Field(None, ge=1, le=366)
    weeks: int | None = Field(None, ge=1, le=53)
    until: DateExpr | None = Field(None, description="Last day (inclusive).")

    @model_validator(mode="after")
    def _one(self) -> Span:
        given = [n for n in ("days", "weeks", "until") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of days, weeks or until")
        return self


class Repeat(Strict):
    """Several occurrences a year. Term time only unless ``through_holidays`` is true."""

    every: Literal["week", "half_term", "term", "month"]
    weekday: WeekdayName | None = Field(None, description="For `every: week`.")
    from_: DateExpr | None = Field(None, alias="from", description="Weekly: first possible day.")
    until: DateExpr | None = Field(None, description="Weekly: last possible day.")
    only: tuple[str, ...] | None = Field(
        None, description="Limit to these halves, terms or months (by label)."
    )
    through_holidays: bool = False

    @model_validator(mode="after")
    def _shape(self) -> Repeat:
        if self.every == "week" and self.weekday is None:
            raise ValueError("'every: week' needs 'weekday'")
        if self.every != "week" and (
            self.weekday is not None or self.from_ is not None or self.until is not None
        ):
            raise ValueError("'weekday', 'from' and 'until' go with 'every: week' only")
        return self


class TimeOfDay(Strict):
    """Clock times in Europe/London for a timed entry (a meeting at 15:45)."""

    start: dt.time
    end: dt.time

    @model_validator(mode="after")
    def _order(self) -> TimeOfDay:
        if self.end <= self.start:
            raise ValueError("'end' must be after 'start'")
        return self


def describe_weekday(index: int) -> str:
    """Return ``"Monday"`` for 0."""
    return WEEKDAYS[index].capitalize()
