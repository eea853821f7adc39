"""Whole-pack checks that a field-by-field schema cannot make.

Each check yields a :class:`Check` with a location path like pydantic's, so the loader can
turn it into a problem naming file, line, rule and field.
"""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from rules.expr import DateExpr, Published, Repeat
from rules.pack import Pack, PeriodIn, Reader, Rule
from rules.vocabulary import (
    HALF_LABELS,
    MONTHS,
    RESERVED_PACKS,
    RULE_ID_PATTERN,
    SLUG_PATTERN,
    TERM_LABELS,
    Audience,
    Basis,
    Kind,
    academic_year_label,
)

Loc = tuple[int | str, ...]


@dataclass(frozen=True)
class Check:
    """One problem found by a whole-pack check."""

    loc: Loc
    message: str
    value: object = None


class Unchecked(Rule):
    """Stands in for a rule that failed the schema: its id, and its date when that is sound.

    The other rules' references to it, and circles through it, are still checked.
    """


LATER = ("next_school_day", "next_staff_day", "next_working_day")
NOT_STAFF = ("keep", "next_working_day", "previous_working_day")


def check_pack(pack: Pack, partial: bool = False) -> list[Check]:
    """Return every whole-pack problem in ``pack`` (empty when it is sound).

    Args:
        pack: the pack to check.
        partial: ``pack.rules`` may hold None for rules that failed the schema; skip the
            checks that need every rule (references, cycles).
    """
    out: list[Check] = []
    if pack.pack in RESERVED_PACKS:
        out.append(Check(("pack",), f"'{pack.pack}' is reserved; choose another name.", pack.pack))
    seen: dict[str, int] = {}
    for i, rule in enumerate(pack.rules):
        if rule is None or isinstance(rule, Unchecked):
            continue
        if rule.id in seen:
            out.append(
                Check(
                    ("rules", i, "id"),
                    f"rule id '{rule.id}' is already used by rule #{seen[rule.id] + 1}; "
                    "ids must be unique in a pack.",
                    rule.id,
                )
            )
        else:
            seen[rule.id] = i
        out.extend(_check_rule(pack, rule, ("rules", i), partial))
    out.extend(_check_cycles(pack))
    if partial:
        return out
    if pack.term_dates is not None:
        if pack.publisher.kind != "la":
            out.append(Check(("term_dates",), "only an LA pack may publish term dates."))
        for year, periods in pack.term_dates.items():
            out.extend(check_periods(periods, year, ("term_dates", year)))
    for key, published in (pack.publishes or {}).items():
        if not _is_ref(key, require_pack=True):
            out.append(Check(("publishes", key), f"'{key}' must be written pack:rule-id.", key))
        out.extend(_check_published(published, ("publishes", key)))
    return out


def check_periods(periods: Sequence[PeriodIn], year: int, loc: Loc) -> list[Check]:
    """Check one academic year's term periods: six standard halves, in order, inside the year."""
    out: list[Check] = []
    label = academic_year_label(year)
    if not 1990 <= year <= 2200:
        return [Check(loc, f"{year} is not an academic year (write 2026 for 2026/27).", year)]
    first, last = dt.date(year, 9, 1), dt.date(year + 1, 8, 31)
    labels = [p.label for p in periods]
    missing = [h for h in HALF_LABELS if h not in labels]
    if missing:
        out.append(
            Check(
                loc,
                f"{label} needs all six half terms (autumn1 ... summer2); missing: "
                f"{', '.join(missing)}. A three-term school splits each term at its half-term "
                "break.",
            )
        )
    previous: PeriodIn | None = None
    for j, period in enumerate(periods):
        where = (*loc, j)
        if labels.count(period.label) > 1 and labels.index(period.label) != j:
            out.append(Check((*where, "label"), f"'{period.label}' is given twice.", period.label))
        if period.end < period.start:
            out.append(Check((*where, "end"), "ends before it starts.", period.end.isoformat()))
        for name, day in (("start", period.start), ("end", period.end)):
            if not first <= day <= last:
                out.append(
                    Check(
                        (*where, name),
                        f"{day.isoformat()} is outside {label} (1 Sep {year} - 31 Aug {year + 1}).",
                        day.isoformat(),
                    )
                )
        if previous is not None:
            if HALF_LABELS.index(period.label) < HALF_LABELS.index(previous.label):
                out.append(
                    Check(
                        (*where, "label"),
                        f"'{period.label}' comes after "
                        f"'{previous.label}'; list the halves in order.",
                        period.label,
                    )
                )
            elif period.start <= previous.end:
                out.append(
                    Check(
                        (*where, "start"),
                        f"{period.label} starts on {period.start.isoformat()}, before "
                        f"{previous.label} ends ({previous.end.isoformat()}); periods must not "
                        "overlap.",
                        period.start.isoformat(),
                    )
                )
        previous = period
    return out


def _check_rule(pack: Pack, rule: Rule, loc: Loc, partial: bool = False) -> Iterator[Check]:
    repeat = rule.repeat
    if rule.when is None and rule.for_each is None and (repeat is None or repeat.every != "week"):
        yield Check((*loc, "when"), "required; say when this happens (see the date language).")
    if rule.when is not None and repeat is not None and repeat.every == "week":
        yield Check(
            (*loc, "when"),
            "a weekly repeat takes its days from repeat.weekday, repeat.from and repeat.until; "
            "remove 'when'.",
        )
    if rule.when is not None:
        yield from _check_expr(pack, rule, rule.when, (*loc, "when"), repeat, partial)
        yield from _check_adjust(rule, rule.when, (*loc, "when"))
    if rule.span is not None and rule.span.until is not None:
        yield from _check_expr(
            pack, rule, rule.span.until, (*loc, "span", "until"), repeat, partial
        )
    if repeat is not None:
        yield from _check_repeat(pack, rule, repeat, (*loc, "repeat"), partial)
    if rule.statutory and rule.basis not in (None, Basis.STATUTORY):
        yield Check(
            (*loc, "basis"),
            f"'statutory: true' says the law requires this, but basis says '{rule.basis}'; "
            "keep one of them.",
            str(rule.basis),
        )
    if (rule.statutory or rule.basis == Basis.STATUTORY) and rule.source is None:
        yield Check((*loc, "source"), "a statutory rule must name its source (title and url).")
    if rule.time is not None and rule.span is not None:
        yield Check((*loc, "time"), "a timed entry lasts one day; remove 'span' or 'time'.")
    yield from _check_wording(rule.kind.value, rule.audience, rule.wording, loc)
    prep_ids: dict[str, int] = {}
    for j, prep in enumerate(rule.prep):
        prep_audience = prep.audience if prep.audience is not None else (Audience.SENCO,)
        yield from _check_wording(prep.kind, prep_audience, prep.wording, (*loc, "prep", j))
        if prep.id in prep_ids:
            yield Check(
                (*loc, "prep", j, "id"),
                f"prep id '{prep.id}' is used twice in this rule.",
                prep.id,
            )
        prep_ids[prep.id] = j
        if all(getattr(prep.before, n) == 0 for n in type(prep.before).model_fields):
            yield Check((*loc, "prep", j, "before"), "say how long before (e.g. weeks: 2).")


READER_WORDS = {
    "slt": "senior leaders",
    "governors": "governors",
    "ta": "teaching assistants",
    "staff": "all staff",
}


def _check_wording(
    kind: str, audience: Sequence[Audience], wording: Mapping[Reader, object], loc: Loc
) -> Iterator[Check]:
    """Wording only for audiences that get the entry; a task needs it for each of them."""
    names = {a.value for a in audience}
    for reader in wording:
        if reader not in names:
            yield Check(
                (*loc, "wording", reader),
                f"'{reader}' is not in the audience; add it there or remove this wording.",
                reader,
            )
    if kind != Kind.TASK.value:
        return
    for who in (a.value for a in audience):
        if who != Audience.SENCO.value and who not in wording:
            yield Check(
                (*loc, "audience"),
                f"a task is the SENCO's own to-do, so {READER_WORDS[who]} need words of their "
                f"own: add 'wording: {{{who}: {{title: ..., description: ...}}}}' saying what "
                f"it means for them, or take {who} out of the audience.",
                who,
            )


def _check_adjust(rule: Rule, expr: DateExpr, loc: Loc) -> Iterator[Check]:
    adjust = expr.adjust
    if adjust is None:
        return
    if rule.kind == Kind.DEADLINE and adjust in LATER:
        yield Check(
            (*loc, "adjust"),
            f"a deadline is never moved later; use keep or a previous_* adjustment, not {adjust}.",
            adjust,
        )
    if rule.kind in (Kind.TASK, Kind.MEETING) and adjust in NOT_STAFF:
        yield Check(
            (*loc, "adjust"),
            f"tasks and meetings always land on a staff day; '{adjust}' could leave one in a "
            "holiday. Use next_staff_day, previous_staff_day or a school-day adjustment.",
            adjust,
        )


def _check_expr(
    pack: Pack, rule: Rule, expr: DateExpr, loc: Loc, repeat: Repeat | None, partial: bool = False
) -> Iterator[Check]:
    every = repeat.every if repeat is not None else None
    base = expr.base
    if base in ("day", "weekday") and expr.month is None and every != "month":
        yield Check((*loc, "month"), "which month? (omit it only in a monthly repeat)")
    if base == "day" and expr.month is not None and expr.day is not None:
        month = MONTHS.index(expr.month) + 1
        longest = 29 if month == 2 else calendar.monthrange(2001, month)[1]
        if expr.day > longest:
            yield Check(
                (*loc, "day"),
                f"{expr.month.capitalize()} has no day {expr.day}.",
                expr.day,
            )
    if expr.half == "this" and every != "half_term":
        yield Check((*loc, "half"), "'half: this' only works in `repeat: {every: half_term}`.")
    if expr.term == "this" and every != "term":
        yield Check((*loc, "term"), "'term: this' only works in `repeat: {every: term}`.")
    if expr.after is not None:
        yield from _check_after(pack, rule, expr.after, (*loc, "after"))
    if expr.published is not None:
        yield from _check_published(expr.published, (*loc, "published"))
    for i, usual in enumerate(expr.defaults or ()):
        where = (*loc, "defaults", i)
        if usual.school_date is not None or usual.published is not None or usual.defaults:
            yield Check(where, "a usual date is a calendar date, not another school or published "
                        "date.")  # fmt: skip
        else:
            yield from _check_expr(pack, rule, usual, where, repeat, partial)
    if expr.fallback is not None:
        if expr.fallback.published is not None:
            yield Check((*loc, "fallback"), "a fallback cannot itself be published dates.")
        yield from _check_expr(pack, rule, expr.fallback, (*loc, "fallback"), repeat, partial)


def _check_after(pack: Pack, rule: Rule, ref: str, loc: Loc) -> Iterator[Check]:
    if not _is_ref(ref, require_pack=False):
        yield Check(loc, f"'{ref}' must be a rule id or pack:rule-id.", ref)
        return
    target_pack, _, target_id = ref.rpartition(":")
    if target_pack and target_pack != pack.pack:
        return  # checked when packs are evaluated together
    if target_id == rule.id:
        yield Check(loc, "a rule cannot be dated from itself.", ref)
        return
    target = next((r for r in pack.rules if r is not None and r.id == target_id), None)
    if target is None:
        ids = [r.id for r in pack.rules if r is not None]
        close = difflib.get_close_matches(target_id, ids, n=1, cutoff=0.8)
        hint = f"did you mean '{close[0]}'?" if close else f"rules include: {', '.join(ids[:8])}."
        yield Check(loc, f"no rule '{target_id}' in this pack; {hint}", ref)
    elif target.repeat is not None or target.when is not None and target.when.school_date:
        yield Check(
            loc, f"'{target_id}' has several dates a year; date from a single-date rule.", ref
        )


def _check_repeat(
    pack: Pack, rule: Rule, repeat: Repeat, loc: Loc, partial: bool = False
) -> Iterator[Check]:
    allowed: tuple[str, ...] = {
        "half_term": HALF_LABELS,
        "term": TERM_LABELS,
        "month": MONTHS,
        "week": (),
    }[repeat.every]
    for j, label in enumerate(repeat.only or ()):
        if label not in allowed:
            hint = ", ".join(allowed) if allowed else "nothing (a weekly repeat has no labels)"
            yield Check((*loc, "only", j), f"'{label}' is not one of: {hint}.", label)
    if repeat.through_holidays and rule.kind in (Kind.TASK, Kind.MEETING):
        yield Check(
            (*loc, "through_holidays"),
            "tasks and meetings always land on staff days; through_holidays is for windows and "
            "events.",
        )
    for name, expr in (("from", repeat.from_), ("until", repeat.until)):
        if expr is not None:
            yield from _check_expr(pack, rule, expr, (*loc, name), None, partial)


def _check_published(published: Published, loc: Loc) -> Iterator[Check]:
    for year, value in published.items():
        where = (*loc, year)
        if not 1990 <= year <= 2200:
            yield Check(where, f"{year} is not an academic year (write 2026 for 2026/27).", year)
            continue
        first, last = dt.date(year, 9, 1), dt.date(year + 1, 8, 31)
        days = value if isinstance(value, tuple) else (value,)
        if len(days) == 2 and days[1] < days[0]:
            yield Check(where, "the last day is before the first.", days[1].isoformat())
        for day in days:
            if not first <= day <= last:
                yield Check(
                    where,
                    f"{day.isoformat()} is outside {academic_year_label(year)} "
                    f"(1 Sep {year} - 31 Aug {year + 1}); is the year key right?",
                    day.isoformat(),
                )


def _check_cycles(pack: Pack) -> Iterator[Check]:
    edges: dict[str, list[str]] = {}
    for rule in pack.rules:
        if rule is None:
            continue
        refs = [ref.rpartition(":")[2] for ref in _refs(rule) if _local(ref, pack.pack)]
        edges[rule.id] = [r for r in refs if r != rule.id]
    index = {rule.id: i for i, rule in enumerate(pack.rules) if rule is not None}
    reported: set[frozenset[str]] = set()
    for start in edges:
        path = _find_cycle(start, edges)
        if path and frozenset(path) not in reported:
            reported.add(frozenset(path))
            yield Check(
                ("rules", index[start], "when", "after"),
                "dates depend on each other in a circle: " + " -> ".join([*path, path[0]]) + ".",
                start,
            )


def _find_cycle(start: str, edges: Mapping[str, list[str]]) -> list[str] | None:
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    while stack:
        node, path = stack.pop()
        for nxt in edges.get(node, []):
            if nxt == start:
                return path
            if nxt not in path and len(path) < 500:
                stack.append((nxt, [*path, nxt]))
    return None


def _refs(rule: Rule) -> list[str]:
    out: list[str] = []
    exprs = [rule.when, rule.span.until if rule.span else None]
    while exprs:
        expr = exprs.pop()
        if expr is None:
            continue
        if expr.after is not None:
            out.append(expr.after)
        exprs.append(expr.fallback)
    return out


def _local(ref: str, pack_slug: str) -> bool:
    target_pack = ref.rpartition(":")[0]
    return not target_pack or target_pack == pack_slug


def _is_ref(ref: str, require_pack: bool) -> bool:
    import re

    target_pack, colon, target_id = ref.rpartition(":")
    if require_pack and not colon:
        return False
    if colon and not re.match(SLUG_PATTERN, target_pack):
        return False
    return re.match(RULE_ID_PATTERN, target_id) is not None
