"""A rule pack as pydantic models: what one YAML file holds.

``Pack.model_json_schema()`` is exported as ``rules/pack.schema.json`` for pack authors' editors.
Cross-field checks that need the whole pack (duplicate ids, ``after:`` cycles, dates outside
their year) live in :mod:`rules.checks`, so every problem is reported with its line.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, HttpUrl, field_validator, model_validator

from rules.expr import DateExpr, Published, Repeat, Span, Strict, TimeOfDay
from rules.vocabulary import (
    DATE_KEY_PATTERN,
    FLAGS,
    RULE_ID_PATTERN,
    SLUG_PATTERN,
    Audience,
    Basis,
    HalfLabel,
    Involves,
    Kind,
    Phase,
    SchoolType,
)


class Source(Strict):
    """Where a rule comes from: a title people recognise and, ideally, a link."""

    title: str = Field(min_length=1, max_length=300)
    url: HttpUrl | None = None


class Alarm(Strict):
    """A reminder before the entry starts."""

    days_before: int = Field(ge=0, le=120)


class Condition(Strict):
    """When a rule applies to a school. Every given part must hold."""

    types: tuple[SchoolType, ...] | None = Field(None, description="Any of these school types.")
    phases: tuple[Phase, ...] | None = Field(None, description="Any of these phases.")
    flags: tuple[str, ...] | None = Field(None, description="All of these flags are set.")
    any_flags: tuple[str, ...] | None = Field(None, description="At least one flag is set.")
    not_flags: tuple[str, ...] | None = Field(None, description="None of these flags is set.")

    @field_validator("flags", "any_flags", "not_flags")
    @classmethod
    def _known_flags(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for flag in value or ():
            if flag not in FLAGS:
                raise ValueError(f"unknown flag '{flag}'; known flags: {', '.join(FLAGS)}")
        return value

    def holds(self, school_type: str, phases: frozenset[str], flags: frozenset[str]) -> bool:
        """Whether a school of this type, with these phases and flags set, meets every part."""
        if self.types is not None and school_type not in self.types:
            return False
        if self.phases is not None and not phases & set(self.phases):
            return False
        if self.flags is not None and not set(self.flags) <= flags:
            return False
        if self.any_flags is not None and not flags & set(self.any_flags):
            return False
        return not (self.not_flags is not None and flags & set(self.not_flags))


Reader = Literal["slt", "governors", "ta", "staff"]


class Wording(Strict):
    """What one audience reads in place of the SENCO's title and description."""

    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=4000)


WORDING_DESCRIPTION = (
    "What each audience other than the SENCO reads: a title and description written for that "
    "reader (a governor sees 'SEND update at the governing board meeting', not the SENCO's "
    "to-do for it). A task in an audience other than senco needs wording for it."
)


class Lead(Strict):
    """How far before its rule's date a prep task falls (positive numbers = earlier)."""

    days: int = Field(0, ge=0, le=730)
    weeks: int = Field(0, ge=0, le=104)
    months: int = Field(0, ge=0, le=24)
    working_days: int = Field(0, ge=0, le=500)
    school_days: int = Field(0, ge=0, le=400)
    staff_days: int = Field(0, ge=0, le=400)


class Prep(Strict):
    """A lead task before a rule's date, with its own stable id."""

    id: str = Field(pattern=RULE_ID_PATTERN, max_length=60)
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    before: Lead
    kind: Literal["task", "meeting"] = "task"
    audience: tuple[Audience, ...] | None = Field(
        None, description="Default: the SENCO only (preparation is the SENCO's own work)."
    )
    wording: dict[Reader, Wording] = Field(default_factory=dict, description=WORDING_DESCRIPTION)
    in_term: bool = Field(
        False,
        description="When the lead reaches back into a holiday, move forward to the first staff "
        "day after it (still before the rule's date) rather than back before the holiday.",
    )
    basis: Basis | None = Field(
        None,
        description="Default: good_practice (la_practice in an LA pack); preparation is "
        "never statutory unless the law sets its own date.",
    )
    effort_hours: float | None = Field(None, ge=0, le=200)
    alarms: tuple[Alarm, ...] = ()


PupilAnchor = Literal[
    "review_due",
    "meeting",
    "request_advice",
    "papers",
    "report",
    "decision",
    "interim",
    "transfer_deadline",
]
"""The steps of one pupil's annual-review timeline a per-pupil rule can be dated on."""


class PupilDate(Strict):
    """The date of a per-pupil (``for_each: ehcp``) rule: a step of the pupil's review timeline.

    sencocal works the steps out from the roster (see ``rules.ehcp``): ``review_due`` (12
    months from the plan or the last review), ``meeting`` (placed in term time at least 4 weeks
    before it), ``request_advice`` (the school's setting, 6 weeks before by default),
    ``papers`` (2 weeks before), ``report`` (2 weeks after), ``decision`` (4 weeks after),
    ``interim`` (reviews for children under 5, where the school turns them on) and
    ``transfer_deadline`` (15 February or 31 March of a phase-transfer year, never moved).
    """

    step: PupilAnchor


class Rule(Strict):
    """One rule: makes zero or more dated entries per school and academic year."""

    id: str = Field(pattern=RULE_ID_PATTERN, max_length=80)
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    kind: Kind
    audience: tuple[Audience, ...] = Field(min_length=1)
    wording: dict[Reader, Wording] = Field(default_factory=dict, description=WORDING_DESCRIPTION)
    involves: tuple[Involves, ...] = ()
    category: str = Field(pattern=SLUG_PATTERN, max_length=40)
    when: DateExpr | None = None
    span: Span | None = None
    time: TimeOfDay | None = None
    repeat: Repeat | None = None
    applies_if: Condition | None = None
    prep: tuple[Prep, ...] = ()
    alarms: tuple[Alarm, ...] = ()
    effort_hours: float | None = Field(None, ge=0, le=500)
    statutory: bool = False
    basis: Basis | None = Field(
        None,
        description="Why the date matters: statutory (a statute or regulation requires it; same as "
        "`statutory: true`), statutory_guidance (the SEND Code of Practice's 'should'), "
        "good_practice, jcq (JCQ regulations), sta (STA test arrangements), la_practice, or "
        "information (a date worth knowing, no duty). Default: statutory when `statutory: "
        "true`, la_practice in an LA pack, good_practice otherwise.",
    )
    pupil_level: bool = False
    optional: bool = Field(False, description="Worth doing but fine to skip (e.g. holiday work).")
    status: Literal["confirmed", "computed", "unconfirmed"] = Field(
        "confirmed", description="How sure the date is when it is not a `published` one."
    )
    source: Source | None = None
    for_each: Literal["ehcp"] | None = Field(
        None,
        description="One entry per pupil on the school's EHCP roster, dated by `pupil_date` "
        "(such entries are pupil-level: only the SENCO's feed names the pupil).",
    )
    pupil_date: PupilDate | None = Field(
        None, description="For `for_each: ehcp` rules: the step of the pupil's timeline."
    )

    @model_validator(mode="after")
    def _per_pupil(self) -> Rule:
        if self.for_each is None:
            if self.pupil_date is not None:
                raise ValueError("'pupil_date' needs 'for_each: ehcp'")
            return self
        if self.pupil_date is None:
            raise ValueError("a 'for_each: ehcp' rule needs 'pupil_date'")
        for name in ("when", "repeat", "span", "time"):
            if getattr(self, name) is not None:
                raise ValueError(f"a 'for_each: ehcp' rule is dated by 'pupil_date', not '{name}'")
        if self.prep:
            raise ValueError("a 'for_each: ehcp' rule has no 'prep': give each step its own rule")
        if not self.pupil_level:
            raise ValueError("a 'for_each: ehcp' rule must be 'pupil_level: true'")
        return self


class Publisher(Strict):
    """Who publishes a pack."""

    kind: Literal["national", "la", "trust", "school"]
    code: str | None = Field(
        None, max_length=40, description="LA code (three digits), trust or school id."
    )
    name: str | None = Field(None, max_length=200)


class PeriodIn(Strict):
    """A labelled teaching period with first and last day (inclusive)."""

    label: HalfLabel
    start: dt.date
    end: dt.date


class Pack(Strict):
    """One rule pack (one YAML file)."""

    pack: str = Field(pattern=SLUG_PATTERN, max_length=60)
    title: str = Field(min_length=1, max_length=200)
    publisher: Publisher
    version: str = Field(min_length=1, max_length=40, description="The author's own label.")
    description: str = ""
    rules: tuple[Rule, ...] = ()
    term_dates: dict[int, tuple[PeriodIn, ...]] | None = Field(
        None, description="LA packs: the term periods by academic year (2026 = 2026/27)."
    )
    publishes: dict[str, Published] | None = Field(
        None,
        description="Dates this publisher sets for another pack's `published` rule, keyed "
        "`pack:rule-id`, then by academic year.",
    )
    date_keys: dict[str, str] | None = Field(
        None,
        description="Documentation for the school_date keys this pack reads: key -> wording.",
    )

    @field_validator("date_keys")
    @classmethod
    def _key_names(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        import re

        for key in value or {}:
            if not re.match(DATE_KEY_PATTERN, key):
                raise ValueError(f"date key '{key}' must be lower case letters, digits, _ or -")
        return value

    def rule(self, rule_id: str) -> Rule | None:
        """Return the rule with ``rule_id``, or None."""
        return next((r for r in self.rules if r.id == rule_id), None)
