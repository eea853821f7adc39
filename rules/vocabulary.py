"""The fixed words of sencocal: kinds, audiences, period labels, months, phases, school types.

These follow ``DESIGN.md`` ("Words"); pack authors and profiles must use them exactly.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class Kind(StrEnum):
    """What sort of calendar entry a rule makes; decides the default date adjustment."""

    DEADLINE = "deadline"
    TASK = "task"
    MEETING = "meeting"
    WINDOW = "window"
    EVENT = "event"


class Audience(StrEnum):
    """Who a feed is for. ``senco`` receives everything."""

    SENCO = "senco"
    SLT = "slt"
    GOVERNORS = "governors"
    TA = "ta"
    STAFF = "staff"


AUDIENCE_ORDER: tuple[Audience, ...] = tuple(Audience)


class Involves(StrEnum):
    """People outside the five feeds that a rule concerns; named in the event text."""

    PARENTS = "parents"
    EXAMS = "exams"
    DATA = "data"
    LA = "la"
    HEALTH = "health"
    SOCIAL_CARE = "social_care"


INVOLVES_WORDS: dict[Involves, str] = {
    Involves.PARENTS: "parents and carers",
    Involves.EXAMS: "the exams officer",
    Involves.DATA: "the data manager or school office",
    Involves.LA: "the local authority",
    Involves.HEALTH: "health colleagues",
    Involves.SOCIAL_CARE: "social care",
}


class Basis(StrEnum):
    """What makes an entry's date matter: the law, guidance, a body's rules, or practice.

    Only ``statutory`` means a statute or regulation requires it (DESIGN.md "Statutory").
    """

    STATUTORY = "statutory"
    STATUTORY_GUIDANCE = "statutory_guidance"
    GOOD_PRACTICE = "good_practice"
    JCQ = "jcq"
    STA = "sta"
    LA_PRACTICE = "la_practice"
    INFORMATION = "information"


BASIS_LABELS: dict[Basis, str | None] = {
    Basis.STATUTORY: "Statutory",
    Basis.STATUTORY_GUIDANCE: "Statutory guidance",
    Basis.GOOD_PRACTICE: "Good practice",
    Basis.JCQ: "JCQ regulations",
    Basis.STA: "STA rules",
    Basis.LA_PRACTICE: "LA practice",
    Basis.INFORMATION: None,
}

BASIS_WORDS: dict[Basis, str | None] = {
    Basis.STATUTORY: "Statutory: the law requires this.",
    Basis.STATUTORY_GUIDANCE: (
        "Statutory guidance: the SEND Code of Practice says this should happen. Schools and "
        "LAs must have regard to it, but the date is not set in law."
    ),
    Basis.GOOD_PRACTICE: "Good practice: recommended, not required by law.",
    Basis.JCQ: (
        "JCQ regulations: the exam boards' rules for access arrangements. They are not law, "
        "but every exam centre must follow them."
    ),
    Basis.STA: (
        "STA rules: the Standards and Testing Agency's arrangements for the statutory tests."
    ),
    Basis.LA_PRACTICE: "LA practice: your local authority's own process, not a legal deadline.",
    Basis.INFORMATION: None,
}


class Status(StrEnum):
    """How sure a date is (the reference sheet's labels)."""

    CONFIRMED = "confirmed"
    COMPUTED = "computed"
    UNCONFIRMED = "unconfirmed"


HALF_LABELS: tuple[str, ...] = ("autumn1", "autumn2", "spring1", "spring2", "summer1", "summer2")
BREAK_LABELS: tuple[str, ...] = ("october", "christmas", "february", "easter", "may", "summer")
TERM_LABELS: tuple[str, ...] = ("autumn", "spring", "summer")
# Each break follows the half term of the same index.
BREAK_AFTER: dict[str, str] = dict(zip(BREAK_LABELS, HALF_LABELS, strict=True))
TERM_HALVES: dict[str, tuple[str, str]] = {
    "autumn": ("autumn1", "autumn2"),
    "spring": ("spring1", "spring2"),
    "summer": ("summer1", "summer2"),
}

HalfLabel = Literal["autumn1", "autumn2", "spring1", "spring2", "summer1", "summer2"]
BreakLabel = Literal["october", "christmas", "february", "easter", "may", "summer"]
TermLabel = Literal["autumn", "spring", "summer"]

MONTHS: tuple[str, ...] = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
WEEKDAYS: tuple[str, ...] = (
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
)  # fmt: skip
# Academic-year order of months: September first.
ACADEMIC_MONTHS: tuple[int, ...] = (9, 10, 11, 12, 1, 2, 3, 4, 5, 6, 7, 8)

Month = Literal[
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
]  # fmt: skip
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class Phase(StrEnum):
    """Phase of education, as GIAS records it."""

    NURSERY = "nursery"
    PRIMARY = "primary"
    INFANT = "infant"
    JUNIOR = "junior"
    MIDDLE = "middle"
    SECONDARY = "secondary"
    ALL_THROUGH = "all_through"
    SIXTEEN_PLUS = "16_plus"


class SchoolType(StrEnum):
    """Kind of school; decides who sets term dates and when the financial year starts."""

    MAINTAINED = "maintained"
    ACADEMY = "academy"
    FREE_SCHOOL = "free_school"
    SPECIAL = "special"
    SPECIAL_ACADEMY = "special_academy"
    ALTERNATIVE_PROVISION = "alternative_provision"
    MAINTAINED_NURSERY = "maintained_nursery"
    INDEPENDENT = "independent"


# Financial year start month by type (1 April maintained, 1 September academies and others).
APRIL_FINANCIAL_YEAR: frozenset[SchoolType] = frozenset(
    {
        SchoolType.MAINTAINED,
        SchoolType.SPECIAL,
        SchoolType.ALTERNATIVE_PROVISION,
        SchoolType.MAINTAINED_NURSERY,
    }
)

# Flags a pack may test in ``applies_if``; a profile sets them or takes the phase defaults.
FLAGS: tuple[str, ...] = (
    "has_nursery",
    "has_reception",
    "has_year1",
    "has_year2",
    "has_year4",
    "has_year6",
    "has_year7",
    "has_year9",
    "has_year11",
    "has_sixth_form",
    "has_resourced_provision",
)

PHASE_FLAGS: dict[Phase, frozenset[str]] = {
    Phase.NURSERY: frozenset({"has_nursery"}),
    Phase.PRIMARY: frozenset({"has_reception", "has_year1", "has_year2", "has_year4", "has_year6"}),
    Phase.INFANT: frozenset({"has_reception", "has_year1", "has_year2"}),
    Phase.JUNIOR: frozenset({"has_year4", "has_year6"}),
    Phase.MIDDLE: frozenset({"has_year6"}),
    Phase.SECONDARY: frozenset({"has_year7", "has_year9", "has_year11"}),
    Phase.ALL_THROUGH: frozenset(
        {
            "has_reception",
            "has_year1",
            "has_year2",
            "has_year4",
            "has_year6",
            "has_year7",
            "has_year9",
            "has_year11",
            "has_sixth_form",
        }
    ),  # fmt: skip
    Phase.SIXTEEN_PLUS: frozenset({"has_sixth_form"}),
}

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
RULE_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
DATE_KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
RESERVED_PACKS: frozenset[str] = frozenset({"sencocal", "local"})
LOCAL_PACK = "local"  # one-off events a school adds itself


def academic_year_label(year: int) -> str:
    """Return ``"2026/27"`` for 2026."""
    return f"{year}/{(year + 1) % 100:02d}"


HALF_WORDS: dict[str, str] = {
    "autumn1": "the first half of the autumn term",
    "autumn2": "the second half of the autumn term",
    "spring1": "the first half of the spring term",
    "spring2": "the second half of the spring term",
    "summer1": "the first half of the summer term",
    "summer2": "the second half of the summer term",
}
BREAK_WORDS: dict[str, str] = {
    "october": "the October half-term holiday",
    "christmas": "the Christmas holiday",
    "february": "the February half-term holiday",
    "easter": "the Easter holiday",
    "may": "the May half-term holiday",
    "summer": "the summer holiday",
}


def duration_words(hours: float) -> str:
    """A length of time as people say it: ``15 minutes``, ``1 hour``, ``2 hours 30 minutes``."""
    minutes = max(1, round(hours * 60))
    whole, rest = divmod(minutes, 60)
    parts = []
    if whole:
        parts.append("1 hour" if whole == 1 else f"{whole} hours")
    if rest:
        parts.append("1 minute" if rest == 1 else f"{rest} minutes")
    return " ".join(parts)
