"""The work evaluations share: compiled packs, applicable rules, calendar answers, rule outcomes.

:class:`Memo` is an explicit object the caller owns (the feed server keeps one for its life; the
benchmark one per run). It holds nothing but values derived from its inputs, so ``rules`` stays
pure, and every cache in it is

* **keyed by what its value depends on**: a compiled pack by the pack object it holds
  (checked by identity), applicable rules by that compiled pack and the school's facets, rule
  outcomes by the compiled rule's content digest (``CompiledRule.key``) and the answers the
  computation read, calendar answers by the shared ``TermYear`` objects. No key is the ``id()``
  of an object the cache could outlive, so sharing a memo never changes a result.
* **bounded**: each has a maximum size (a constructor argument); when one is reached,
  :meth:`Memo.clear` empties them all together, so none refers to what another dropped
  (``Memo.overflows`` counts which cache filled, for benchmarks and tests).

Rule outcomes live in a :class:`DecisionMemo`: per (rule, academic year), a decision tree of
the probes a computation asked through :class:`~rules.reads.Reads`. The first question is
always the same, its answer picks a branch, and so on down to the result. Another school that
gives the same answers to the same questions gets the same result without recomputing it; a
school that answers differently grows a new branch. This is exact: a result is reused only when
everything it depended on is equal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from rules.calendar import TermYear
from rules.outcome import CompiledRule, RuleOutcome, compile_rule
from rules.pack import Pack
from rules.reads import Answer, Probe, Reads

T = TypeVar("T")

# (school type, phases, flags): everything ``applies_if`` reads about a school.
Facets = tuple[str, frozenset[str], frozenset[str]]


@dataclass(eq=False)
class CompiledPack:
    """A pack with its rules compiled, indexed by ``pack:rule``, and its term periods."""

    pack: Pack
    rules: tuple[CompiledRule, ...]
    by_ref: dict[str, CompiledRule]
    periods: dict[int, tuple[tuple[str, dt.date, dt.date], ...]]


def compile_pack(pack: Pack) -> CompiledPack:
    """Compile every rule of ``pack`` (see :func:`~rules.outcome.compile_rule`)."""
    compiled = tuple(compile_rule(pack, rule) for rule in pack.rules)
    return CompiledPack(
        pack=pack,
        rules=compiled,
        by_ref={c.ref: c for c in compiled},
        periods={
            year: tuple((p.label, p.start, p.end) for p in periods)
            for year, periods in (pack.term_dates or {}).items()
        },
    )


class Memo:
    """Work shared between evaluations; caller-owned, bounded, cleared as a whole.

    Results are keyed by everything they depend on, so sharing one memo across schools, years
    and pack versions never changes what :func:`rules.evaluate` returns, only how fast.

    Args:
        max_packs: compiled packs kept (each pack object passed in is compiled once).
        max_applicable: (pack, school facets) -> applicable rules entries kept.
        max_calendars: distinct term calendars whose answers are kept.
        max_outcomes: rule outcomes kept (leaves of the decision trees).
    """

    def __init__(
        self,
        *,
        max_packs: int = 512,
        max_applicable: int = 16_384,
        max_calendars: int = 20_000,
        max_outcomes: int = 200_000,
    ) -> None:
        self.max_packs = max_packs
        self.max_applicable = max_applicable
        self.max_calendars = max_calendars
        self.outcomes: DecisionMemo[RuleOutcome] = DecisionMemo(
            max_outcomes, lambda: self._full("outcomes")
        )
        self.overflows = {"packs": 0, "applicable": 0, "calendars": 0, "outcomes": 0}
        self._packs: dict[int, CompiledPack] = {}
        self._applicable: dict[tuple[CompiledPack, Facets], tuple[CompiledRule, ...]] = {}
        self._calendars: dict[tuple[TermYear | None, ...], dict[Probe, Any]] = {}

    def clear(self) -> None:
        """Empty every cache (done by itself when any one is full)."""
        self._packs.clear()
        self._applicable.clear()
        self._calendars.clear()
        self.outcomes.clear()

    def compiled(self, pack: Pack) -> CompiledPack:
        """The compiled form of ``pack`` (held with it, so its ``id`` cannot be reused)."""
        found = self._packs.get(id(pack))
        if found is not None and found.pack is pack:
            return found
        if len(self._packs) >= self.max_packs:
            self._full("packs")
        compiled = self._packs[id(pack)] = compile_pack(pack)
        return compiled

    def applicable(self, compiled: CompiledPack, facets: Facets) -> tuple[CompiledRule, ...]:
        """The rules of ``compiled`` whose ``applies_if`` holds for these school facets."""
        key = (compiled, facets)
        found = self._applicable.get(key)
        if found is None:
            school_type, phases, flags = facets
            found = tuple(
                c
                for c in compiled.rules
                if c.rule.applies_if is None or c.rule.applies_if.holds(school_type, phases, flags)
            )
            if len(self._applicable) >= self.max_applicable:
                self._full("applicable")
            self._applicable[key] = found
        return found

    def calendar_answers(self, calendars: tuple[TermYear | None, ...]) -> dict[Probe, Any]:
        """The shared answer cache for schools whose term calendars are ``calendars``.

        ``TermYear`` objects compare by identity; the key holds them, so an entry can only be
        found by schools given those very objects (``rules.calendar.term_year`` shares them).
        Each entry grows only with the distinct questions rules ask of those three years.
        """
        found = self._calendars.get(calendars)
        if found is None:
            if len(self._calendars) >= self.max_calendars:
                self._full("calendars")
            found = self._calendars[calendars] = {}
        return found

    def _full(self, cache: str) -> None:
        self.overflows[cache] += 1
        self.clear()


class _Branch:
    __slots__ = ("probe", "children")

    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        self.children: dict[Answer, Any] = {}


class DecisionMemo(Generic[T]):
    """Results keyed by a root key and then by the answers to the probes they asked.

    Args:
        max_results: results kept; storing one more first calls ``on_full``.
        on_full: what to do when full (default: empty this memo).
    """

    def __init__(
        self, max_results: int = 200_000, on_full: Callable[[], None] | None = None
    ) -> None:
        self._roots: dict[Hashable, Any] = {}
        self.max_results = max_results
        self._on_full = on_full if on_full is not None else self.clear
        self.size = 0
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        """Forget every result (the hit and miss counts stay)."""
        self._roots.clear()
        self.size = 0

    def lookup(self, root: Hashable, answers: Callable[[Probe], Any]) -> T | None:
        """Walk the tree for ``root`` answering its probes with ``answers``; None when unseen."""
        node = self._roots.get(root, _MISSING)
        while type(node) is _Branch:
            node = node.children.get(answers(node.probe), _MISSING)
        if node is _MISSING:
            self.misses += 1
            return None
        self.hits += 1
        result: T = node
        return result

    def get(
        self, root: Hashable, answers: Callable[[Probe], Any], compute: Callable[[Reads], T]
    ) -> T:
        """The result for ``root``: shared when another school answered alike, else computed."""
        found = self.lookup(root, answers)
        if found is None:
            reads = Reads(answers)
            found = compute(reads)
            self.store(root, reads.trace, found)
        return found

    def store(self, root: Hashable, trace: list[tuple[Probe, Answer]], result: T) -> None:
        """Record ``result`` under the path ``trace`` took from ``root``."""
        if self.size >= self.max_results:
            self._on_full()
        if not trace:
            self._roots[root] = result
            self.size += 1
            return
        node = self._roots.get(root)
        if node is None:
            node = self._roots[root] = _Branch(trace[0][0])
        for i, (probe, answer) in enumerate(trace):
            if not isinstance(node, _Branch) or node.probe != probe:
                return  # not the path a deterministic resolver takes; keep the tree sound
            if i == len(trace) - 1:
                node.children[answer] = result
                self.size += 1
                return
            child = node.children.get(answer)
            if child is None:
                child = node.children[answer] = _Branch(trace[i + 1][0])
            node = child


_MISSING: Any = object()
