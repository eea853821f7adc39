"""The evaluator: packs + one school's profile + an academic year -> that school's dated events.

``evaluate`` is pure and deterministic: the same inputs give the same events in the same order,
whatever order the packs and rules come in. Pass a :class:`~rules.memo.Memo` to share work
between many schools (the feed server and the benchmark do); without one, nothing outlives the
call. :func:`evaluate_full` also returns what the school lacked, as
:class:`~rules.warning.EvalWarning` records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from rules.calendar import TermYear, academic_year_of, is_working_day, term_year, year_bounds
from rules.dates import (
    Scope,
    Unresolved,
    first_staff_day,
    key_words,
    next_staff_day,
    resolve,
    school_dates,
)
from rules.ehcp import cycles, school_days_for
from rules.errors import PackConflict
from rules.event import Event, EventBody
from rules.memo import CompiledPack, Facets, Memo
from rules.outcome import (
    CompiledRule,
    Need,
    RuleOutcome,
    combine,
    compute,
    compute_scope,
    display_category,
    unresolved,
)
from rules.pack import Pack, PeriodIn
from rules.profile import SchoolProfile
from rules.reads import REFUSED, Answer, Reads, SchoolAnswers, SchoolFacts
from rules.roster import EhcpPupil
from rules.timeline import pupil_bodies
from rules.vocabulary import (
    AUDIENCE_ORDER,
    LOCAL_PACK,
    Audience,
    Basis,
    Kind,
    Status,
    academic_year_label,
)
from rules.warning import Details, EvalWarning, WarningKind

SYSTEM_PACK = "sencocal"


@dataclass(frozen=True)
class Evaluation:
    """Events and warnings for one school and academic year."""

    events: tuple[Event, ...]
    warnings: tuple[EvalWarning, ...]


def evaluate(
    packs: Sequence[Pack],
    profile: SchoolProfile,
    academic_year: int,
    *,
    memo: Memo | None = None,
    roster: Sequence[EhcpPupil] = (),
    placed: Mapping[str, dt.date] | None = None,
) -> list[Event]:
    """The school's events for ``academic_year`` (2026 = 2026/27), in a stable order.

    Args:
        packs: the packs that apply (built-ins, the LA's, the school's own); the profile's
            ``packs_off`` are skipped.
        profile: the school.
        academic_year: the year the events' anchors lie in.
        memo: optional shared work between calls.
        roster: the school's EHCP pupils, for ``for_each: ehcp`` rules (one timeline each).
        placed: meeting dates proposed earlier, by pupil ref (see
            :func:`rules.ehcp.placed_meetings`): kept, and new meetings placed around them.

    Raises:
        PackConflict: two packs share a slug.
    """
    found = evaluate_full(packs, profile, academic_year, memo=memo, roster=roster, placed=placed)
    return list(found.events)


def evaluate_full(
    packs: Sequence[Pack],
    profile: SchoolProfile,
    academic_year: int,
    *,
    memo: Memo | None = None,
    roster: Sequence[EhcpPupil] = (),
    placed: Mapping[str, dt.date] | None = None,
) -> Evaluation:
    """Like :func:`evaluate`, with the warnings (missing term dates, date keys, ...)."""
    memo = memo if memo is not None else Memo()
    year = academic_year
    active = _active(packs, profile, memo)
    facts = _facts(active, profile, year, memo)
    by_slug = {compiled.pack.pack: compiled for compiled in active}
    resolving: set[str] = set()
    outcomes = memo.outcomes

    overrides = profile.date_overrides

    def outcome_for(crule: CompiledRule) -> RuleOutcome:
        key = crule.date_key
        override = overrides.get(crule.ref, {}).get(year) if overrides else None
        if override is not None:
            if key is not None or crule.rule.repeat is not None:
                need = Need(WarningKind.OVERRIDE_SEVERAL_DATES, crule.ref, crule.ref)
                return RuleOutcome((), (need,), (REFUSED, WarningKind.REFERENCE_SEVERAL_DATES))
            scope = Scope(year=year, ref=crule.ref, override=override)
            return compute_scope(crule, None, scope, Reads(answers))  # the school's own: not shared
        if key is None:
            return outcomes.get((crule.key, year), answers, lambda r: compute(crule, year, r))
        # One occurrence per school date, each shared with schools that chose the same date.
        try:
            dates = school_dates(Reads(answers), key, year)
        except Unresolved as exc:
            if crule.rule.when is None or not crule.rule.when.defaults:
                return unresolved(crule, exc)
            return outcomes.get((crule.key, year, "usual"), answers, _Usual(crule, year, exc))
        parts = []
        for i, day in enumerate(dates, start=1):
            scope = Scope(year=year, ref=crule.ref, pinned=day)
            occurrence = _Occurrence(crule, str(i), scope)
            parts.append(outcomes.get((crule.key, year, str(i), day), answers, occurrence))
        return combine(parts)

    def resolve_rule(ref: str, ref_year: int) -> Answer:
        # Dates resolve inside one academic year: a rule is dated from another's date that year.
        assert ref_year == year
        holder = by_slug.get(ref.partition(":")[0])
        crule = holder.by_ref.get(ref) if holder is not None else None
        if crule is None:
            return (REFUSED, WarningKind.REFERENCE_MISSING)
        if ref not in applicable:
            return (REFUSED, WarningKind.REFERENCE_NOT_APPLICABLE)
        if crule.rule.repeat is not None or crule.date_key is not None:
            return (REFUSED, WarningKind.REFERENCE_SEVERAL_DATES)
        if ref in resolving:
            return (REFUSED, WarningKind.REFERENCE_CIRCLE)
        resolving.add(ref)
        try:
            return outcome_for(crule).answer
        finally:
            resolving.discard(ref)

    answers = SchoolAnswers(facts, resolve_rule)
    facets: Facets = (
        profile.type.value,
        frozenset(p.value for p in profile.phases),
        profile.effective_flags(),
    )
    off = set(profile.rules_off)
    to_evaluate = [memo.applicable(compiled, facets) for compiled in active]
    if off:
        to_evaluate = [tuple(c for c in crules if c.ref not in off) for crules in to_evaluate]
    applicable = {crule.ref for crules in to_evaluate for crule in crules}
    bodies: list[EventBody] = []
    needs: list[Need] = []
    for crules in to_evaluate:
        for crule in crules:
            out = outcome_for(crule)
            bodies.extend(out.bodies)
            needs.extend(out.needs)
    pupil_rules = [c for crules in to_evaluate for c in crules if c.rule.for_each == "ehcp"]
    if pupil_rules and roster:
        more, lacking = _per_pupil(pupil_rules, roster, placed, profile, facts, bodies, year)
        bodies.extend(more)
        needs.extend(lacking)
    if profile.effort_hours:
        bodies = [_own_effort(b, profile.effort_hours) for b in bodies]
    warnings = _warnings(needs, year)
    bodies.extend(_setup_tasks(warnings, answers, year))
    bodies.extend(_local_events(profile, year))
    bodies.sort(key=_sort_key)
    school_id = profile.id
    return Evaluation(tuple(Event(school_id, body) for body in bodies), warnings)


def _per_pupil(
    crules: Sequence[CompiledRule],
    roster: Sequence[EhcpPupil],
    placed: Mapping[str, dt.date] | None,
    profile: SchoolProfile,
    facts: SchoolFacts,
    bodies: Sequence[EventBody],
    year: int,
) -> tuple[list[EventBody], list[Need]]:
    """Every pupil's review timeline: placed meetings and their dated steps."""
    if facts.term_years.get(year) is None:
        return [], [Need(WarningKind.TERM_DATES, str(year), c.ref) for c in crules]
    days = school_days_for(year, facts.term_years, facts.inset, bodies)
    settings = profile.ehcp
    found = cycles(roster, days, settings.reviews_per_week, placed, settings.transfer_review_by)
    return pupil_bodies(crules, found, settings, days)


def _own_effort(body: EventBody, own: Mapping[str, float]) -> EventBody:
    """``body`` with the school's own hours for its rule (never for a rule's prep tasks)."""
    hours = own.get(f"{body.pack}:{body.rule}")
    if hours is None or body.prep is not None or body.effort_hours == hours:
        return body
    return replace(body, effort_hours=hours)


@dataclass(frozen=True)
class _Occurrence:
    """Computes one school-dated occurrence of a rule (a callable for the memo)."""

    crule: CompiledRule
    label: str
    scope: Scope

    def __call__(self, reads: Reads) -> RuleOutcome:
        return compute_scope(self.crule, self.label, self.scope, reads)


@dataclass(frozen=True)
class _Usual:
    """A school-dated rule placed on its usual dates, for a school that has added none."""

    crule: CompiledRule
    year: int
    missing: Unresolved

    def __call__(self, reads: Reads) -> RuleOutcome:
        crule = self.crule
        assert crule.rule.when is not None and crule.rule.when.defaults
        parts = []
        for i, usual in enumerate(crule.rule.when.defaults, start=1):
            scope = Scope(year=self.year, ref=crule.ref)
            try:
                day = resolve(usual, scope, reads).day
            except Unresolved as exc:
                parts.append(unresolved(crule, exc))
                continue
            pinned = Scope(year=self.year, ref=crule.ref, pinned=day, usual=True)
            parts.append(compute_scope(crule, str(i), pinned, reads))
        out = combine(parts)
        need = Need(self.missing.kind, self.missing.subject, crule.ref, self.missing.details)
        return RuleOutcome(out.bodies, (*out.needs, need), out.answer)


def _sort_key(body: EventBody) -> tuple[str, str]:
    return body.sort_key


def _active(packs: Sequence[Pack], profile: SchoolProfile, memo: Memo) -> list[CompiledPack]:
    off = set(profile.packs_off)
    seen: dict[str, Pack] = {}
    for pack in packs:
        if pack.pack in seen and seen[pack.pack] is not pack:
            raise PackConflict(pack.pack)
        seen[pack.pack] = pack
    return [memo.compiled(seen[slug]) for slug in sorted(seen) if slug not in off]


def _facts(
    active: Iterable[CompiledPack], profile: SchoolProfile, year: int, memo: Memo
) -> SchoolFacts:
    la_periods: dict[int, tuple[tuple[str, dt.date, dt.date], ...]] = {}
    published: dict[str, dict[int, tuple[Any, str]]] = {}
    for compiled in active:
        pack = compiled.pack
        if pack.publisher.kind == "la" and pack.publisher.code == profile.la_code:
            la_periods.update(compiled.periods)
        for ref, by_year in (pack.publishes or {}).items():
            slot = published.setdefault(ref, {})
            for y, value in by_year.items():
                slot.setdefault(y, (value, f"{pack.title}"))
    for ref, by_year in profile.publishes.items():
        slot = published.setdefault(ref, {})
        for y, value in by_year.items():
            slot[y] = (value, "your school's")
    term_years: dict[int, TermYear | None] = {}
    for y in (year - 1, year, year + 1):
        own = profile.term_dates.get(y)
        periods = _as_tuples(own) if own is not None else la_periods.get(y)
        first, last = year_bounds(y)
        closed = frozenset(d for d in profile.closure_days if first <= d <= last)
        term_years[y] = term_year(y, periods, closed) if periods else None
    return SchoolFacts(
        calendar_answers=memo.calendar_answers(tuple(term_years.values())),
        term_years=term_years,
        inset=tuple(sorted(set(profile.inset_days))),
        named={k: tuple(sorted(v)) for k, v in profile.named_dates.items()},
        fy_month=profile.financial_year_month(),
        published=published,
    )


def _as_tuples(periods: Sequence[PeriodIn]) -> tuple[tuple[str, dt.date, dt.date], ...]:
    return tuple((p.label, p.start, p.end) for p in periods)


def _warnings(needs: Iterable[Need], year: int) -> tuple[EvalWarning, ...]:
    """One warning per (kind, subject, details), naming every rule that had that need."""
    grouped: dict[tuple[WarningKind, str, Details], set[str]] = {}
    for need in needs:
        grouped.setdefault((need.kind, need.subject, need.details), set()).add(need.ref)
    return tuple(
        EvalWarning(kind, year, subject, tuple(sorted(refs)), details)
        for (kind, subject, details), refs in sorted(grouped.items())
    )


def _setup_tasks(
    warnings: Iterable[EvalWarning], answers: SchoolAnswers, year: int
) -> list[EventBody]:
    """Tasks asking the SENCO for what the calendar lacks (term dates, school dates)."""
    out: list[EventBody] = []
    term_years = sorted({int(w.subject) for w in warnings if w.kind is WarningKind.TERM_DATES})
    reads = Reads(answers)
    try:
        first = first_staff_day(reads, year)
    except Unresolved:
        first = _first_working_day(year_bounds(year)[0])
    for missing in term_years:
        label = academic_year_label(missing)
        start = first
        if missing > year:
            try:  # in June, before they are needed
                start = next_staff_day(reads, dt.date(missing, 6, 1))
            except Unresolved:
                start = _first_working_day(dt.date(missing, 6, 1))
        which = {year - 1: "last-year", year: "this-year"}.get(missing, "next-year")
        out.append(
            _setup_body(
                "term-dates",
                year,
                which,
                f"Add your term dates for {label}",
                f"sencocal needs your school's term dates for {label} (or your LA's) to place "
                "tasks and meetings on staff days. Add them in your school settings, or import "
                "the CSV template; until then, entries that depend on them are missing from "
                "this calendar.",
                start,
            )
        )
    for w in warnings:
        if w.kind is not WarningKind.DATE_KEY:
            continue
        start = first
        rules = ", ".join(r.split(":")[1] for r in w.refs)
        out.append(
            _setup_body(
                f"date-{w.subject}",
                year,
                None,
                f"Add your {key_words(w.subject)} dates for {academic_year_label(year)}",
                f"These entries are dated from your {key_words(w.subject)} dates, which sencocal "
                f"does not have yet for {academic_year_label(year)}: {rules}. Add the dates in "
                "your school settings and they appear in this calendar.",
                start,
            )
        )
    return out


def _local_events(profile: SchoolProfile, year: int) -> list[EventBody]:
    """The school's own one-off entries whose start lies in ``year``."""
    out = []
    for local in profile.local_events:
        if academic_year_of(local.start) != year:
            continue
        audience = tuple(a for a in AUDIENCE_ORDER if a in {*local.audience, Audience.SENCO})
        out.append(
            EventBody(
                pack=LOCAL_PACK,
                rule=local.id,
                year=year,
                occurrence=None,
                prep=None,
                title=local.title,
                description=local.description,
                kind=local.kind,
                start=local.start,
                end=(local.end or local.start) + dt.timedelta(days=1),
                all_day=True,
                anchor=local.start,
                audience=audience,
                categories=(display_category(local.kind.value), "Local"),
                involves=(),
                pupil_level=False,
                statutory=False,
                basis=Basis.INFORMATION,
                status=Status.CONFIRMED,
                why="added by your school",
                source=None,
                effort_hours=None,
                alarms=(),
            )
        )
    return out


def _first_working_day(day: dt.date) -> dt.date:
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def _setup_body(
    rule: str, year: int, occurrence: str | None, title: str, description: str, start: dt.date
) -> EventBody:
    return EventBody(
        pack=SYSTEM_PACK,
        rule=rule,
        year=year,
        occurrence=occurrence,
        prep=None,
        title=title,
        description=description,
        kind=Kind.TASK,
        start=start,
        end=start + dt.timedelta(days=1),
        all_day=True,
        anchor=start,
        audience=(Audience.SENCO,),
        categories=("Task", "Setup"),
        involves=(),
        pupil_level=False,
        statutory=False,
        basis=Basis.INFORMATION,
        status=Status.CONFIRMED,
        why="sencocal is missing information it needs for this calendar",
        source=None,
        effort_hours=0.5,
        alarms=(),
    )
