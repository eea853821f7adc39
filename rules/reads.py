"""What a rule may read about a school, recorded so results can be shared between schools.

Resolving a rule never touches the school profile directly. It *asks* a :class:`Reads` object
small questions ("probes"): the term periods for a year, which INSET days fall between two
dates, the dates under a key, the financial-year month, a published date, another rule's date.
Each question and its answer is written to a trace, which :class:`rules.memo.DecisionMemo`
uses to share a result with every school that answers the same questions the same way.
:class:`SchoolFacts` holds one school's answers and :class:`SchoolAnswers` gives them.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from rules.calendar import TermYear

Probe = tuple[Hashable, ...]
Answer = Hashable


@dataclass(frozen=True)
class SchoolFacts:
    """The school-specific answers, gathered once per school and year.

    Attributes:
        term_years: academic year -> its TermYear, or None when nobody has given term dates.
        calendar_answers: answers to term-calendar probes, shared by every school whose
            ``term_years`` are the same (the caller passes the same dict for them).
        inset: the school's INSET days, sorted.
        named: date key -> the school's dates under it, sorted.
        fy_month: 4 or 9, the month the financial year starts.
        published: ``pack:rule`` -> academic year -> (value, who published it).
    """

    term_years: Mapping[int, TermYear | None]
    inset: tuple[dt.date, ...]
    named: Mapping[str, tuple[dt.date, ...]]
    fy_month: int
    published: Mapping[str, Mapping[int, tuple[Any, str]]]
    calendar_answers: dict[Probe, Any] = field(default_factory=dict, compare=False)

    def inset_between(self, first: dt.date, last: dt.date) -> tuple[dt.date, ...]:
        """INSET days from ``first`` to ``last`` inclusive."""
        lo = bisect.bisect_left(self.inset, first)
        hi = bisect.bisect_right(self.inset, last)
        return self.inset[lo:hi]


class SchoolAnswers:
    """Answers probes for one school, each computed once per evaluation."""

    __slots__ = ("facts", "resolve_rule", "_cache", "_calendar")

    def __init__(self, facts: SchoolFacts, resolve_rule: Callable[[str, int], Answer]) -> None:
        self.facts = facts
        self.resolve_rule = resolve_rule
        self._cache: dict[Probe, Any] = {}
        self._calendar = facts.calendar_answers

    def __call__(self, probe: Probe) -> Any:
        """Answer ``probe`` (from a cache when this school, or its calendar, was asked before)."""
        cache = self._calendar if probe[0] in CALENDAR_PROBES else self._cache
        try:
            return cache[probe]
        except KeyError:
            answer = cache[probe] = self._compute(probe)
            return answer

    def _compute(self, probe: Probe) -> Any:
        kind = probe[0]
        facts = self.facts
        if kind in CALENDAR_PROBES:
            return _calendar_answer(facts, probe)
        if kind == "inset":
            return facts.inset_between(probe[1], probe[2])  # type: ignore[arg-type]
        if kind == "named":
            return facts.named.get(probe[1], ())  # type: ignore[call-overload]
        if kind == "fy":
            return facts.fy_month
        if kind == "published":
            return facts.published.get(probe[1], {}).get(probe[2])  # type: ignore[call-overload]
        if kind == "rule":
            # Another rule's date. A rule found in a circle answers so for every asker: only
            # rules on a real cycle can be re-entered, so caching that answer is sound.
            return self.resolve_rule(probe[1], probe[2])  # type: ignore[arg-type]
        raise KeyError(f"unknown probe {probe!r}")


class Reads:
    """Asks probes of one school on behalf of one computation, recording each question."""

    __slots__ = ("answers", "trace", "_asked")

    def __init__(self, answers: Callable[[Probe], Any]) -> None:
        self.answers = answers
        self.trace: list[tuple[Probe, Answer]] = []
        self._asked: dict[Probe, Answer] = {}

    def ask(self, probe: Probe) -> Any:
        """Answer ``probe`` and record it (once per distinct probe)."""
        if probe in self._asked:
            return self._asked[probe]
        answer = self.answers(probe)
        self._asked[probe] = answer
        self.trace.append((probe, answer))
        return answer

    def inset(self, first: dt.date, last: dt.date) -> tuple[dt.date, ...]:
        """The school's INSET days from ``first`` to ``last``."""
        result: tuple[dt.date, ...] = self.ask(("inset", first, last))
        return result


CALENDAR_PROBES = frozenset({"half", "break", "term", "term_day", "seek", "run", "month_term"})
NO_TERMS = "no-term-dates"  # the answer to a calendar probe in a year without term dates
# A ("rule", ref, year) probe is answered ("ok", first, last, status, title); (REFUSED, kind)
# when that rule cannot be dated from at all (kind: a reference_* WarningKind); or
# ("error", kind, subject, details) when it could not be dated itself.
REFUSED = "refused"


def _calendar_answer(facts: SchoolFacts, probe: Probe) -> Any:
    """Answer a question about the school's term calendar (NO_TERMS when there is none)."""
    kind, subject, *rest = probe
    if isinstance(subject, int):  # half, break, term, month_term: (kind, year, label/month)
        year = subject
    else:
        assert isinstance(subject, dt.date)
        year = subject.year if subject.month >= 9 else subject.year - 1
    terms = facts.term_years.get(year)
    if terms is None:
        return NO_TERMS
    if kind == "half":
        return terms.half(str(rest[0]))
    if kind == "break":
        return terms.break_(str(rest[0]))
    if kind == "term":
        return terms.term(str(rest[0]))
    if kind == "month_term":
        month = cast(int, rest[0])
        first = dt.date(year + (0 if month >= 9 else 1), month, 1)
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        return bool(terms.term_days_between(first, last))
    assert isinstance(subject, dt.date)
    if kind == "term_day":
        return terms.is_term_day(subject)
    step = cast(int, rest[-1])
    if kind == "seek":
        return (
            terms.term_day_at_or_after(subject)
            if step > 0
            else terms.term_day_at_or_before(subject)
        )
    return terms.run(subject, cast(int, rest[0]), step)  # "run": (kind, day, count, step)
