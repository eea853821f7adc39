"""Evaluation warnings as typed records: what kind of problem, for which year, about what.

A warning carries no sentences. Presenters (the feed server's pages, API and CLI) word each
:class:`WarningKind` for their readers from ``subject``, ``refs`` and ``details``; nothing
branches on text. :meth:`EvalWarning.to_json` and :meth:`EvalWarning.from_json` round-trip a
warning through a JSON column exactly.

The kinds, by the question a presenter answers::

    what the school (or its LA) has not supplied
      term_dates                 subject: the academic year without term dates ("2027")
      date_key                   subject: the school date key ("governors_meeting")
    what is not published yet
      unpublished                subject: the rule's pack:rule (a find-the-date task is added)
    a school's own date that cannot apply
      override_several_dates     subject: the rule's pack:rule
    a rule dated from another rule (``after:``) that gives no date; subject: that rule's ref
      reference_missing          not in the school's packs
      reference_not_applicable   does not apply to this school
      reference_several_dates    has several dates a year (repeats or school dates)
      reference_circle           depends on itself in a circle
      reference_per_pupil        is a per-pupil rule
      reference_no_date          has no date this year
      reference_unresolved       could not be dated itself; details: cause (its kind),
                                 cause_subject (its subject)
    a pack whose rule works out wrong; subject: the rule's pack:rule
      date_outside_year          details: date (ISO) the rule works out as
      end_before_start           details: start, end (ISO)
      published_not_date         a published value that is not a date
    per-pupil annual reviews (never naming a pupil); subject: the rule's pack:rule
      deadline_out_of_term       a step falls when the school is closed; each entry says so
                                 and proposes the last school day before it
      review_late                a meeting falls after its recommended latest date
      reviews_over_cap           a week has more reviews than the school's limit, because
                                 they cannot all fit; details: cap
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

Details = tuple[tuple[str, str], ...]


class WarningKind(StrEnum):
    """What an :class:`EvalWarning` is about (the module docstring lists each kind's fields)."""

    TERM_DATES = "term_dates"
    DATE_KEY = "date_key"
    UNPUBLISHED = "unpublished"
    OVERRIDE_SEVERAL_DATES = "override_several_dates"
    REFERENCE_MISSING = "reference_missing"
    REFERENCE_NOT_APPLICABLE = "reference_not_applicable"
    REFERENCE_SEVERAL_DATES = "reference_several_dates"
    REFERENCE_CIRCLE = "reference_circle"
    REFERENCE_PER_PUPIL = "reference_per_pupil"
    REFERENCE_NO_DATE = "reference_no_date"
    REFERENCE_UNRESOLVED = "reference_unresolved"
    DATE_OUTSIDE_YEAR = "date_outside_year"
    END_BEFORE_START = "end_before_start"
    PUBLISHED_NOT_DATE = "published_not_date"
    DEADLINE_OUT_OF_TERM = "deadline_out_of_term"
    REVIEW_LATE = "review_late"
    REVIEWS_OVER_CAP = "reviews_over_cap"


@dataclass(frozen=True)
class EvalWarning:
    """Something a school, LA or pack author should know about one evaluation.

    Attributes:
        kind: what the problem is.
        year: the academic year evaluated (2026 = 2026/27).
        subject: what the problem is about: a year, a date key or a ``pack:rule`` ref, as the
            kind says.
        refs: the ``pack:rule`` refs of the rules affected, sorted.
        details: further values a presenter needs (ISO dates, a cause), sorted by name.
    """

    kind: WarningKind
    year: int
    subject: str
    refs: tuple[str, ...]
    details: Details = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", WarningKind(self.kind))
        object.__setattr__(self, "refs", tuple(sorted(self.refs)))
        details = tuple(sorted(self.details))
        if len({name for name, _ in details}) != len(details):
            raise ValueError(f"details name a value twice: {details!r}")
        object.__setattr__(self, "details", details)

    def detail(self, name: str) -> str | None:
        """The detail called ``name``, or None."""
        return next((value for key, value in self.details if key == name), None)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict that :meth:`from_json` turns back into an equal warning."""
        return {
            "kind": self.kind.value,
            "year": self.year,
            "subject": self.subject,
            "refs": list(self.refs),
            "details": dict(self.details),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EvalWarning:
        """The warning :meth:`to_json` gave ``data`` for.

        Raises:
            ValueError: ``data`` is not a warning's JSON (an unknown kind, a missing field,
                a value of the wrong type).
        """
        try:
            kind, year, subject = data["kind"], data["year"], data["subject"]
            refs, details = data["refs"], data["details"]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a warning: {data!r}") from exc
        if (
            not isinstance(year, int)
            or isinstance(year, bool)
            or not isinstance(subject, str)
            or not isinstance(refs, list)
            or not all(isinstance(r, str) for r in refs)
            or not isinstance(details, dict)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in details.items())
        ):
            raise ValueError(f"not a warning: {data!r}")
        return cls(WarningKind(kind), year, subject, tuple(refs), tuple(details.items()))
