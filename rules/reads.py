"""What a rule may read about a school, recorded so results can be shared between schools.

Resolving a rule never touches the school profile directly. It *asks* a :class:`Reads` object
small questions ("probes"): the term periods for a year, which INSET days fall between two
dates, the dates under a key, the financial-year month, a published date, another rule's date.
Each question and its answer is written to a trace.

:class:`Memo` keeps, per (rule, academic year), a decision tree of those traces: the first
question is always the same, its answer picks a branch, and so on down to the result. Another
school that gives the same answers to the same questions gets the same result without
recomputing it; a school that answers differently grows a new branch. This is exact (a result is
reused only when everything it depended on is equal) and keeps ``rules`` pure: the memo is an
explicit object the caller owns, holding nothing but values derived from its inputs.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from rules.calendar import TermYear

Probe = tuple[Hashable, ...]
Answer = Hashable
T = TypeVar("T")


@dataclass(frozen=True)
class SchoolFacts:
    """The school-specific answers, gathered once per school and year.

    Attributes:
        term_years: academic year -> its TermYear, or None when nobody has given term dates.
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

    def inset_between(self, first: dt.date, last: dt.date) -> tuple[dt.date, ...]:
        """INSET days from ``first`` to ``last`` inclusive."""
        lo = bisect.bisect_left(self.inset, first)
        hi = bisect.bisect_right(self.inset, last)
        return self.inset[lo:hi]


class Reads:
    """Answers probes from one school's facts, recording each new question and its answer."""

    __slots__ = ("facts", "resolve_rule", "trace", "_asked")

    def __init__(
        self,
        facts: SchoolFacts,
        resolve_rule: Callable[[str, int], Answer],
    ) -> None:
        self.facts = facts
        self.resolve_rule = resolve_rule
        self.trace: list[tuple[Probe, Answer]] = []
        self._asked: dict[Probe, Answer] = {}

    def ask(self, probe: Probe) -> Any:
        """Answer ``probe`` and record it (once per distinct probe)."""
        if probe in self._asked:
            return self._asked[probe]
        answer = self.answer(probe)
        self._asked[probe] = answer
        self.trace.append((probe, answer))
        return answer

    def answer(self, probe: Probe) -> Any:
        """Answer ``probe`` without recording it."""
        kind = probe[0]
        facts = self.facts
        if kind == "periods":
            return facts.term_years.get(probe[1])  # type: ignore[call-overload]
        if kind == "inset":
            return facts.inset_between(probe[1], probe[2])  # type: ignore[arg-type]
        if kind == "named":
            return facts.named.get(probe[1], ())  # type: ignore[call-overload]
        if kind == "fy":
            return facts.fy_month
        if kind == "published":
            return facts.published.get(probe[1], {}).get(probe[2])  # type: ignore[call-overload]
        if kind == "rule":
            return self.resolve_rule(probe[1], probe[2])  # type: ignore[arg-type]
        raise KeyError(f"unknown probe {probe!r}")

    # Convenience wrappers keep resolver code readable.
    def periods(self, year: int) -> TermYear | None:
        """The term periods of ``year`` (None when not given)."""
        result: TermYear | None = self.ask(("periods", year))
        return result

    def inset(self, first: dt.date, last: dt.date) -> tuple[dt.date, ...]:
        """The school's INSET days from ``first`` to ``last``."""
        result: tuple[dt.date, ...] = self.ask(("inset", first, last))
        return result


class _Branch:
    __slots__ = ("probe", "children")

    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        self.children: dict[Answer, Any] = {}


class DecisionMemo(Generic[T]):
    """Results keyed by a root key and then by the answers to the probes they asked."""

    def __init__(self, max_roots: int = 200_000) -> None:
        self._roots: dict[Hashable, Any] = {}
        self.max_roots = max_roots
        self.hits = 0
        self.misses = 0

    def lookup(self, root: Hashable, reads: Reads) -> T | None:
        """Walk the tree for ``root`` answering probes from ``reads``; None when unseen.

        The probes answered on the way are replayed into ``reads``' trace, so a caller that is
        itself recording (a rule dated from this one) depends on them too.
        """
        node = self._roots.get(root, _MISSING)
        while isinstance(node, _Branch):
            node = node.children.get(reads.ask(node.probe), _MISSING)
        if node is _MISSING:
            self.misses += 1
            return None
        self.hits += 1
        result: T = node
        return result

    def store(self, root: Hashable, trace: list[tuple[Probe, Answer]], result: T) -> None:
        """Record ``result`` under the path ``trace`` took from ``root``."""
        if len(self._roots) >= self.max_roots:
            self._roots.clear()
        if not trace:
            self._roots[root] = result
            return
        node = self._roots.get(root)
        if node is None:
            node = self._roots[root] = _Branch(trace[0][0])
        for i, (probe, answer) in enumerate(trace):
            if not isinstance(node, _Branch) or node.probe != probe:
                return  # not the path a deterministic resolver takes; keep the tree sound
            if i == len(trace) - 1:
                node.children[answer] = result
                return
            child = node.children.get(answer)
            if child is None:
                child = node.children[answer] = _Branch(trace[i + 1][0])
            node = child


_MISSING: Any = object()
