"""A school's profile: everything about one school that the evaluator needs, and nothing else.

Profiles are written as YAML (the demo schools) or built by the feed server from its database;
either way they pass through the same pydantic model and checks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from rules import yamlsource
from rules.checks import Check, check_periods
from rules.errors import PackError, PackRejected
from rules.expr import Published, Strict
from rules.pack import PeriodIn
from rules.text import control_characters
from rules.vocabulary import (
    APRIL_FINANCIAL_YEAR,
    DATE_KEY_PATTERN,
    FLAGS,
    PHASE_FLAGS,
    RULE_ID_PATTERN,
    SLUG_PATTERN,
    Audience,
    Kind,
    Phase,
    SchoolType,
)

# What one school may keep: every limit is refused with a message that names it. Feeds cover
# this academic year and next; the bounds leave room for history while keeping one school's
# data (and its feeds) small.
FIRST_YEAR, LAST_YEAR = 2000, 2100  # academic years sencocal serves (2000/01 to 2100/01)
MAX_TERM_YEARS = 10  # years of the school's own term dates
MAX_INSET_PER_YEAR = 10  # England has 5 statutory INSET days; some schools add a few
MAX_CLOSURES_PER_YEAR = 30
MAX_LOCAL_EVENTS = 500
MAX_NAMED_KEYS = 50
MAX_NAMED_DATES = 60  # dates for one key (a weekly club over two years fits)
MAX_REFS = 1000  # rules turned off, own dates, dates found for published rules (each)


class EhcpSettings(Strict):
    """How the school runs EHCP annual reviews (its local practice; the law sets the rest)."""

    advice_weeks: int = Field(
        6, ge=2, le=16, description="Weeks before the meeting to ask for written advice."
    )
    reviews_per_week: int = Field(
        3, ge=1, le=20, description="At most this many review meetings proposed in one week."
    )
    interim_reviews: bool = Field(
        False, description="Add interim reviews for children under 5 (not a duty)."
    )
    interim_months: int = Field(
        6, ge=3, le=6, description="Months between a child under 5's interim reviews."
    )
    transfer_review_by: Literal["autumn", "october_half_term"] = Field(
        "autumn",
        description="When the LA wants phase-transfer reviews held: in the autumn term, or "
        "(the LA's earlier choice) before October half term.",
    )


class LocalEvent(Strict):
    """A one-off entry the school adds itself (a visit, a training day, a deadline of its own)."""

    id: str = Field(pattern=RULE_ID_PATTERN, max_length=60)
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=4000)
    kind: Kind = Kind.EVENT
    start: dt.date
    end: dt.date | None = Field(None, description="Last day (inclusive); default the start day.")
    audience: tuple[Audience, ...] = (Audience.SENCO,)

    @model_validator(mode="after")
    def _order(self) -> LocalEvent:
        if self.end is not None and self.end < self.start:
            raise ValueError("'end' is before 'start'")
        return self


class SchoolProfile(Strict):
    """One school as sencocal sees it."""

    id: str = Field(pattern=SLUG_PATTERN, max_length=60, description="sencocal's own id.")
    urn: str | None = Field(None, pattern=r"^\d{6,7}$", description="DfE URN (may change).")
    name: str = Field(min_length=1, max_length=200)
    la_code: str = Field(pattern=r"^\d{3}$", description="DfE three-digit LA number.")
    type: SchoolType
    phases: tuple[Phase, ...] = Field(min_length=1)
    flags: dict[str, bool] = Field(
        default_factory=dict, description="Overrides of the flags the phases imply."
    )
    financial_year_start: Literal["april", "september"] | None = Field(
        None, description="Default follows type: April for maintained, September otherwise."
    )
    term_dates: dict[int, tuple[PeriodIn, ...]] = Field(
        default_factory=dict,
        description="The school's own periods; a year given here replaces the LA's.",
    )
    inset_days: tuple[dt.date, ...] = ()
    closure_days: tuple[dt.date, ...] = Field(
        (), description="Days the school is closed inside term (polling day, emergency closure)."
    )
    named_dates: dict[str, tuple[dt.date, ...]] = Field(
        default_factory=dict, description="School-supplied dates by key (parents_evening, ...)."
    )
    publishes: dict[str, Published] = Field(
        default_factory=dict,
        description="Dates the school has found for a `published` rule: pack:rule -> year -> date.",
    )
    packs_off: tuple[str, ...] = ()
    rules_off: tuple[str, ...] = Field((), description="Rules turned off, as pack:rule-id.")
    date_overrides: dict[str, dict[int, dt.date]] = Field(
        default_factory=dict,
        description="A date of the school's own for a single-date rule: pack:rule -> year -> date.",
    )
    local_events: tuple[LocalEvent, ...] = ()
    senco_hours_per_week: float | None = Field(None, ge=0, le=60)
    trust: str | None = Field(None, pattern=SLUG_PATTERN)
    effort_hours: dict[str, float] = Field(
        default_factory=dict,
        description="The school's own estimate of a rule's hours: pack:rule -> hours.",
    )
    ehcp: EhcpSettings = Field(default_factory=lambda: EhcpSettings.model_validate({}))

    @field_validator("flags")
    @classmethod
    def _known_flags(cls, value: dict[str, bool]) -> dict[str, bool]:
        for flag in value:
            if flag not in FLAGS:
                raise ValueError(f"unknown flag '{flag}'; known flags: {', '.join(FLAGS)}")
        return value

    @field_validator("named_dates", mode="before")
    @classmethod
    def _single_dates(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: (v if isinstance(v, (list, tuple)) else [v]) for k, v in value.items()}
        return value

    @field_validator("named_dates")
    @classmethod
    def _key_names(cls, value: dict[str, tuple[dt.date, ...]]) -> dict[str, tuple[dt.date, ...]]:
        import re

        for key in value:
            if not re.match(DATE_KEY_PATTERN, key):
                raise ValueError(f"date key '{key}' must be lower case letters, digits, _ or -")
        return value

    def effective_flags(self) -> frozenset[str]:
        """Flags implied by the phases, with the profile's explicit settings applied."""
        implied: set[str] = set()
        for phase in self.phases:
            implied |= PHASE_FLAGS[phase]
        for flag, on in self.flags.items():
            (implied.add if on else implied.discard)(flag)
        return frozenset(implied)

    def financial_year_month(self) -> int:
        """4 (April) or 9 (September)."""
        if self.financial_year_start is not None:
            return 4 if self.financial_year_start == "april" else 9
        return 4 if self.type in APRIL_FINANCIAL_YEAR else 9


def _year_served(year: int) -> bool:
    return FIRST_YEAR <= year <= LAST_YEAR


def _academic_year(day: dt.date) -> int:
    return day.year if day.month >= 9 else day.year - 1


def _check_limits(profile: SchoolProfile) -> Iterator[Check]:
    """How much one school keeps: counts, and years sencocal serves."""
    counted = (
        ("local_events", len(profile.local_events), MAX_LOCAL_EVENTS, "one-off events"),
        ("term_dates", len(profile.term_dates), MAX_TERM_YEARS, "years of term dates"),
        ("named_dates", len(profile.named_dates), MAX_NAMED_KEYS, "kinds of school date"),
        ("rules_off", len(profile.rules_off), MAX_REFS, "rules turned off"),
        ("date_overrides", len(profile.date_overrides), MAX_REFS, "rules with dates of your own"),
        ("publishes", len(profile.publishes), MAX_REFS, "rules with dates you found"),
        ("effort_hours", len(profile.effort_hours), MAX_REFS, "rules with hours of your own"),
    )
    for field, count, limit, what in counted:
        if count > limit:
            message = f"at most {limit} {what} (this has {count}); remove some."
            yield Check((field,), message, str(count))
    for key, days in profile.named_dates.items():
        if len(days) > MAX_NAMED_DATES:
            message = f"at most {MAX_NAMED_DATES} dates for one kind of school date ({len(days)})."
            yield Check(("named_dates", key), message, str(len(days)))
    served = f"the years sencocal serves ({FIRST_YEAR} to {LAST_YEAR})"
    days_limits = (
        ("inset_days", "INSET days", MAX_INSET_PER_YEAR),
        ("closure_days", "closure days", MAX_CLOSURES_PER_YEAR),
    )
    for field, what, limit in days_limits:
        by_year: dict[int, int] = {}
        for day in getattr(profile, field):
            by_year[_academic_year(day)] = by_year.get(_academic_year(day), 0) + 1
        for year, count in sorted(by_year.items()):
            label = f"{year}/{(year + 1) % 100:02d}"
            if not _year_served(year):
                yield Check((field,), f"{label} is outside {served}.", str(year))
            elif count > limit:
                yield Check((field,), f"at most {limit} {what} in {label} ({count}).", str(count))
    for year in profile.term_dates:
        if not _year_served(year):
            yield Check(("term_dates", year), f"{year} is not one of {served}.", str(year))
    for field in ("date_overrides", "publishes"):
        for key, by_year_of in getattr(profile, field).items():
            for year in by_year_of:
                if not _year_served(year):
                    yield Check((field, key, year), f"{year} is not one of {served}.", str(year))


def check_profile(profile: SchoolProfile) -> Iterator[Check]:
    """Whole-profile checks: limits, term periods sound, INSET days on weekdays."""
    limits = list(_check_limits(profile))
    yield from limits
    if limits:
        return  # the checks below build dates in every year given
    for year, periods in profile.term_dates.items():
        yield from check_periods(periods, year, ("term_dates", year))
    for i, day in enumerate(profile.inset_days):
        if day.weekday() >= 5:
            yield Check(("inset_days", i), f"{day.isoformat()} is a weekend day.", day.isoformat())
    for name in ("publishes", "date_overrides"):
        for key in getattr(profile, name):
            if ":" not in key:
                yield Check((name, key), f"'{key}' must be written pack:rule-id.", key)
    for key, hours in profile.effort_hours.items():
        if ":" not in key:
            yield Check(("effort_hours", key), f"'{key}' must be written pack:rule-id.", key)
        elif not 0 <= hours <= 500:
            yield Check(("effort_hours", key), "hours must be from 0 to 500.", str(hours))
    for i, ref in enumerate(profile.rules_off):
        if ":" not in ref:
            yield Check(("rules_off", i), f"'{ref}' must be written pack:rule-id.", ref)
    for key, by_year in profile.date_overrides.items():
        for year, day in by_year.items():
            if not dt.date(year, 9, 1) <= day <= dt.date(year + 1, 8, 31):
                yield Check(
                    ("date_overrides", key, year),
                    f"{day.isoformat()} is outside {year}/{(year + 1) % 100:02d}.",
                    day.isoformat(),
                )
    ids = [e.id for e in profile.local_events]
    for i, local in enumerate(profile.local_events):
        if ids.index(local.id) != i:
            yield Check(("local_events", i, "id"), f"'{local.id}' is used twice.", local.id)


def profile_from_data(data: Mapping[str, Any], source: str) -> SchoolProfile:
    """Validate a profile given as data (a JSON body, a form's result), with whole-profile checks.

    Raises:
        PackRejected: every problem, naming ``source`` and the field.
    """
    from rules.loading import validate_model

    controls = [
        PackError(source, c.message, field=".".join(str(p) for p in c.loc))
        for c in control_characters(data)
    ]
    if controls:
        raise PackRejected(controls)
    profile = validate_model(SchoolProfile, data, source, what="school profile")
    problems = [
        PackError(source, c.message, field=".".join(str(p) for p in c.loc), value=c.value)
        for c in check_profile(profile)
    ]
    if problems:
        raise PackRejected(problems)
    return profile


def load_profile(data: bytes | str, filename: str) -> SchoolProfile:
    """Parse and validate a school profile file.

    Raises:
        PackRejected: every problem, naming file, line and field.
    """
    from rules.loading import validate_model

    raw = yamlsource.load(data, filename)
    controls = [
        PackError(
            file=filename,
            message=c.message,
            line=yamlsource.line_of(raw, c.loc),
            field=".".join(str(p) for p in c.loc),
        )
        for c in control_characters(raw)
    ]
    if controls:
        raise PackRejected(controls)
    profile = validate_model(SchoolProfile, raw, filename, what="school profile")
    problems = [
        PackError(
            file=filename,
            message=c.message,
            line=yamlsource.line_of(raw, c.loc),
            field=".".join(str(p) for p in c.loc),
            value=c.value,
        )
        for c in check_profile(profile)
    ]
    if problems:
        raise PackRejected(problems)
    return profile
