"""One rule's result for one school and academic year: its event bodies and what it lacked.

:func:`compute` reads the school only through :class:`~rules.reads.Reads`, so its result can be
shared by every school that answers the same questions the same way (see :mod:`rules.memo`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from rules.calendar import academic_year_of, is_working_day, year_bounds
from rules.compiled import CompiledRule, compile_rule, display_category, readings, with_senco
from rules.dates import (
    NotPublished,
    Resolved,
    Scope,
    Unresolved,
    adjust,
    first_staff_day,
    fmt,
    is_school_day,
    is_staff_day,
    key_words,
    month_has_term,
    next_staff_day,
    resolve,
    school_dates,
    seek_term_day,
    shift,
)
from rules.event import EventBody, Reading
from rules.expr import Offset
from rules.pack import Prep, Rule
from rules.reads import REFUSED, Answer, Reads
from rules.vocabulary import (
    ACADEMIC_MONTHS,
    BASIS_LABELS,
    HALF_LABELS,
    MONTHS,
    TERM_LABELS,
    Audience,
    Basis,
    Kind,
    Status,
    academic_year_label,
)
from rules.warning import Details, WarningKind

__all__ = ["CompiledRule", "compile_rule", "display_category", "readings"]

LONDON = ZoneInfo("Europe/London")
FIND_DATE = "find-date"
FIND_LEAD = dt.timedelta(weeks=6)


@dataclass(frozen=True)
class Need:
    """Something rule ``ref`` lacked (term dates, a date key, a reference, a sane date...).

    Evaluation gathers needs into :class:`~rules.warning.EvalWarning` records.
    """

    kind: WarningKind
    subject: str
    ref: str
    details: Details = ()


@dataclass(frozen=True)
class RuleOutcome:
    """A rule's bodies for one year, what it lacked, and its date for rules dated from it.

    ``answer`` is ``("ok", first day, last day, status, title)``, ``("refused", kind)`` when
    the rule cannot be dated from (``kind`` a ``reference_*`` WarningKind), or
    ``("error", kind, subject, details)`` when it could not be dated itself.
    """

    bodies: tuple[EventBody, ...]
    needs: tuple[Need, ...]
    answer: Answer


def compute(crule: CompiledRule, year: int, reads: Reads) -> RuleOutcome:
    """Evaluate ``crule`` for one school (through ``reads``) and academic year."""
    if crule.rule.for_each is not None:
        # Per-pupil rules need the EHCP roster, which this version does not read yet.
        return RuleOutcome((), (), (REFUSED, WarningKind.REFERENCE_PER_PUPIL))
    try:
        scopes = list(_scopes(crule, year, reads))
    except Unresolved as exc:
        return unresolved(crule, exc)
    return combine([compute_scope(crule, label, scope, reads) for label, scope in scopes])


def unresolved(crule: CompiledRule, exc: Unresolved) -> RuleOutcome:
    """The outcome of a rule that could not be placed at all."""
    need = Need(exc.kind, exc.subject, crule.ref, exc.details)
    return RuleOutcome((), (need,), ("error", exc.kind, exc.subject, exc.details))


def combine(parts: list[RuleOutcome]) -> RuleOutcome:
    """One rule's outcome from its occurrences' outcomes (a lone occurrence keeps its answer)."""
    if len(parts) == 1:
        return parts[0]
    bodies = tuple(b for part in parts for b in part.bodies)
    needs = tuple(n for part in parts for n in part.needs)
    return RuleOutcome(bodies, needs, (REFUSED, WarningKind.REFERENCE_SEVERAL_DATES))


def compute_scope(
    crule: CompiledRule, label: str | None, scope: Scope, reads: Reads
) -> RuleOutcome:
    """One occurrence of ``crule`` (label and scope from the repeat or the school's dates)."""
    try:
        made = tuple(_occurrence(crule, label, scope, reads))
    except Unresolved as exc:
        return unresolved(crule, exc)
    except NotPublished as exc:
        needs = [Need(WarningKind.UNPUBLISHED, crule.ref, crule.ref)]
        bodies: tuple[EventBody, ...] = ()
        try:
            bodies = (_find_date_task(crule, label, scope, exc.estimate, reads),)
        except Unresolved as inner:
            needs.insert(0, Need(inner.kind, inner.subject, crule.ref, inner.details))
        failed = ("error", WarningKind.UNPUBLISHED, crule.ref, ())
        return RuleOutcome(bodies, tuple(needs), failed)
    answer: Answer = (REFUSED, WarningKind.REFERENCE_NO_DATE)
    if crule.rule.repeat is None and label is None and made:
        main = made[0]
        last = main.end - dt.timedelta(days=1) if main.all_day else main.start
        answer = ("ok", _day(main.start), _day(last), main.status.value, crule.rule.title)
    return RuleOutcome(made, (), answer)


def _day(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _scopes(crule: CompiledRule, year: int, reads: Reads) -> Iterator[tuple[str | None, Scope]]:
    rule = crule.rule
    repeat = rule.repeat
    base = Scope(year=year, ref=crule.ref)
    if repeat is None:
        if rule.when is not None and rule.when.base == "school_date":
            dates = school_dates(reads, str(rule.when.school_date), year)
            for i, day in enumerate(dates, start=1):
                yield str(i), Scope(year=year, ref=crule.ref, pinned=day)
        else:
            yield None, base
        return
    only = set(repeat.only) if repeat.only else None
    if repeat.every == "half_term":
        for label in HALF_LABELS:
            if only is None or label in only:
                yield label, Scope(year=year, ref=crule.ref, this_half=label)
    elif repeat.every == "term":
        for label in TERM_LABELS:
            if only is None or label in only:
                yield label, Scope(year=year, ref=crule.ref, this_term=label)
    elif repeat.every == "month":
        for month in ACADEMIC_MONTHS:
            name = MONTHS[month - 1]
            if only is not None and name not in only:
                continue
            if not repeat.through_holidays and not month_has_term(reads, year, month):
                continue
            yield name, Scope(year=year, ref=crule.ref, this_month=month)
    else:  # week: dates come straight from the repeat, one scope per week
        for label, day in _weeks(crule, year, reads):
            yield label, Scope(year=year, ref=crule.ref, pinned=day)


def _weeks(crule: CompiledRule, year: int, reads: Reads) -> Iterator[tuple[str, dt.date]]:
    repeat = crule.rule.repeat
    assert repeat is not None and repeat.weekday is not None
    from rules.vocabulary import WEEKDAYS

    weekday = WEEKDAYS.index(repeat.weekday)
    scope = Scope(year=year, ref=crule.ref)
    if repeat.through_holidays:
        first, last = year_bounds(year)
    else:
        start, end = year_bounds(year)
        first = seek_term_day(reads, start, 1) or start
        last = seek_term_day(reads, end, -1) or end
    if repeat.from_ is not None:
        first = resolve(repeat.from_, scope, reads).day
    if repeat.until is not None:
        last = resolve(repeat.until, scope, reads).day
    week_one = year_bounds(year)[0]
    week_one -= dt.timedelta(days=week_one.weekday())
    day = first + dt.timedelta(days=(weekday - first.weekday()) % 7)
    while day <= last:
        keep = (
            (is_working_day(day) or crule.rule.kind in (Kind.WINDOW, Kind.EVENT))
            if repeat.through_holidays
            else is_school_day(reads, day)
        )
        if keep:
            yield f"w{(day - week_one).days // 7 + 1:02d}", day
        day += dt.timedelta(weeks=1)


def _default_adjust(kind: Kind, prep: bool) -> str:
    if kind in (Kind.TASK, Kind.MEETING):
        return "previous_staff_day" if prep else "next_staff_day"
    return "keep"


def _occurrence(
    crule: CompiledRule, label: str | None, scope: Scope, reads: Reads
) -> Iterator[EventBody]:
    made = _occurrence_bodies(crule, label, scope, reads)
    if crule.rule.optional:
        made = (_holiday_note(b, reads) for b in made)
    if not scope.usual:
        yield from made
        return
    assert crule.rule.when is not None
    words = key_words(str(crule.rule.when.school_date))
    note = (
        f"Add your date: your school has not added its {words} dates for "
        f"{academic_year_label(scope.year)}, so this sits at a usual time. Add them in your "
        "settings and this entry moves to your date."
    )
    for made_body in made:
        text = f"{made_body.description}\n\n{note}".strip()
        yield replace(
            made_body,
            description=text,
            categories=(*made_body.categories, "Date to add"),
            wording=tuple(replace(r, description=f"{r.description}\n\n{note}".strip())
                          for r in made_body.wording),
        )  # fmt: skip


def _occurrence_bodies(
    crule: CompiledRule, label: str | None, scope: Scope, reads: Reads
) -> Iterator[EventBody]:
    rule = crule.rule
    year = scope.year
    if rule.repeat is not None and rule.repeat.every == "week":
        assert scope.pinned is not None
        got = Resolved(scope.pinned, why=[f"every {rule.repeat.weekday} in {_weekly_words(rule)}"])
        how = "keep"
    elif scope.override is not None:
        got = Resolved(scope.override, why=[f"set by your school for {academic_year_label(year)}"])
        how = "keep"
    else:
        assert rule.when is not None
        got = resolve(rule.when, scope, reads)
        how = rule.when.adjust or _default_adjust(rule.kind, prep=False)
    start = adjust(got.day, how, reads, got.why)
    if academic_year_of(start) != year:
        details = (("date", start.isoformat()),)
        raise Unresolved(WarningKind.DATE_OUTSIDE_YEAR, crule.ref, details)
    if rule.repeat is not None and rule.repeat.every in ("half_term", "term", "month"):
        if not rule.repeat.through_holidays and rule.kind in (Kind.WINDOW, Kind.EVENT):
            if not is_school_day(reads, start):
                return  # term time only: this occurrence falls in a holiday
    end = _end(crule, start, got, scope, reads)
    if scope.override is not None:
        status = Status.CONFIRMED
    elif _inherits_status(rule):
        status = got.status
    else:
        status = Status(rule.status)
    title = expected(rule.title, status)
    why = "; ".join(got.why)
    yield _body(
        crule,
        year,
        label,
        None,
        rule.title,
        crule.description,
        rule.kind,
        start,
        end,
        start,
        crule.audience,
        status,
        why,
        rule.effort_hours,
        tuple(a.days_before for a in rule.alarms),
        crule.categories,
        crule.wording,
        crule.basis,
    )
    for prep in rule.prep:
        yield _prep(crule, prep, label, year, start, status, title, reads)


def expected(title: str, status: Status) -> str:
    """A title as shown: marked "(expected)" when its date is computed, not published."""
    return title + " (expected)" if status == Status.COMPUTED else title


def _inherits_status(rule: Rule) -> bool:
    return rule.when is not None and rule.when.base in ("published", "after")


def _weekly_words(rule: Rule) -> str:
    assert rule.repeat is not None
    return "the year, holidays included" if rule.repeat.through_holidays else "term time"


def _end(crule: CompiledRule, start: dt.date, got: Resolved, scope: Scope, reads: Reads) -> dt.date:
    rule = crule.rule
    if rule.time is not None:
        return start  # timed: _body turns start/end into datetimes
    span = rule.span
    if got.last is not None:
        last = got.last
    elif span is None:
        last = start
    elif span.days is not None:
        last = start + dt.timedelta(days=span.days - 1)
    elif span.weeks is not None:
        last = start + dt.timedelta(weeks=span.weeks, days=-1)
    else:
        assert span.until is not None
        last = resolve(span.until, scope, reads).day
        if last < start:
            details = (("end", last.isoformat()), ("start", start.isoformat()))
            raise Unresolved(WarningKind.END_BEFORE_START, crule.ref, details)
    return last + dt.timedelta(days=1)


def _prep(
    crule: CompiledRule,
    prep: Prep,
    label: str | None,
    year: int,
    anchor: dt.date,
    status: Status,
    rule_title: str,
    reads: Reads,
) -> EventBody:
    lead = prep.before
    offset = Offset(
        months=-lead.months,
        weeks=-lead.weeks,
        days=-lead.days,
        working_days=-lead.working_days,
        school_days=-lead.school_days,
        staff_days=-lead.staff_days,
    )
    why: list[str] = []
    day = shift(anchor, offset, reads, why)
    why[0] = f"{why[0].split(' → ')[0].replace('earlier', 'before')} '{rule_title}' ({fmt(anchor)})"
    try:
        day = adjust(day, "previous_staff_day", reads, why)
    except Unresolved as exc:
        if exc.kind is not WarningKind.TERM_DATES or int(exc.subject) >= year:
            raise
        # A lead task reaching back into a past year whose term dates nobody gave: a working
        # day is the honest best; asking for last year's term dates would only be noise.
        day = adjust(day, "previous_working_day", reads, why)
        why.append(f"your {academic_year_label(int(exc.subject))} term dates are not known")
    if prep.in_term:
        day = _after_holiday(day, anchor, reads, why)
    ready = f"\n\nGetting ready for: {rule_title}, {fmt(anchor)}."
    description = prep.description.strip() + ready
    audience = with_senco(prep.audience) if prep.audience is not None else (Audience.SENCO,)
    categories = (display_category(prep.kind), "Preparation", *crule.categories[1:])
    return _body(
        crule,
        year,
        label,
        prep.id,
        prep.title,
        description.strip(),
        Kind(prep.kind),
        day,
        day + dt.timedelta(days=1),
        anchor,
        audience,
        status,
        "; ".join(why),
        prep.effort_hours,
        tuple(a.days_before for a in prep.alarms),
        tuple(dict.fromkeys(categories)),
        readings(prep.wording, f"\n\nAhead of: {rule_title}, {fmt(anchor)}."),
        prep.basis or crule.prep_basis,
    )


HOLIDAY_NOTE = "It falls in the holidays, which are for rest: leave it if you need the break."


def _holiday_note(body: EventBody, reads: Reads) -> EventBody:
    """An optional entry that starts on a day the school is closed says the holidays are rest."""
    start = body.start.date() if isinstance(body.start, dt.datetime) else body.start
    if is_staff_day(reads, start):
        return body
    return replace(
        body,
        description=f"{body.description} {HOLIDAY_NOTE}",
        wording=tuple(replace(r, description=f"{r.description} {HOLIDAY_NOTE}")
                      for r in body.wording),
    )  # fmt: skip


def _after_holiday(day: dt.date, anchor: dt.date, reads: Reads, why: list[str]) -> dt.date:
    """``day``, or the first staff day after the last holiday between it and ``anchor``."""
    probe = anchor - dt.timedelta(days=1)
    while probe > day:
        if is_working_day(probe) and not is_staff_day(reads, probe):
            moved = next_staff_day(reads, probe)
            if moved < anchor:
                why.append(f"moved forward to {fmt(moved)}, in term after the holiday")
                return moved
            return day
        probe -= dt.timedelta(days=1)
    return day


def _find_date_task(
    crule: CompiledRule, label: str | None, scope: Scope, estimate: dt.date | None, reads: Reads
) -> EventBody:
    rule = crule.rule
    year = scope.year
    earliest = first_staff_day(reads, year)
    why = [f"no confirmed date for {academic_year_label(year)} yet, so none is shown"]
    if estimate is not None and estimate - FIND_LEAD > earliest:
        day = adjust(estimate - FIND_LEAD, "previous_staff_day", reads, [])
        month = MONTHS[estimate.month - 1].capitalize()
        why.append(f"set about six weeks before it usually falls ({month})")
    else:
        day = earliest
        why.append("set at the start of the year")
    text = (
        f"sencocal has no confirmed date for '{rule.title}' in {academic_year_label(year)}. "
        "Find this year's date from the source below; when your LA or your school adds it, "
        "the calendar shows it and this task goes."
    )
    if estimate is not None:
        text += f" In past years it has been in {MONTHS[estimate.month - 1].capitalize()}."
    if crule.description:
        text += "\n\n" + crule.description
    categories = ("Task", "Date to confirm", *crule.categories[1:])
    return _body(
        crule,
        year,
        label,
        FIND_DATE,
        f"Find this year's date: {rule.title}",
        text,
        Kind.TASK,
        day,
        day + dt.timedelta(days=1),
        day,
        (Audience.SENCO,),
        Status.UNCONFIRMED,
        "; ".join(why),
        0.25,
        (),
        tuple(dict.fromkeys(categories)),
        (),
        crule.prep_basis if crule.basis == Basis.STATUTORY else crule.basis,
    )


def _body(
    crule: CompiledRule,
    year: int,
    label: str | None,
    prep: str | None,
    title: str,
    description: str,
    kind: Kind,
    start: dt.date,
    end: dt.date,
    anchor: dt.date,
    audience: tuple[Audience, ...],
    status: Status,
    why: str,
    effort: float | None,
    alarms: tuple[int, ...],
    categories: tuple[str, ...],
    wording: tuple[Reading, ...] = (),
    basis: Basis = Basis.GOOD_PRACTICE,
) -> EventBody:
    rule = crule.rule
    all_day = True
    if rule.time is not None and prep is None:
        all_day = False
        start = dt.datetime.combine(start, rule.time.start, LONDON)
        end = dt.datetime.combine(anchor, rule.time.end, LONDON)
    basis_label = BASIS_LABELS[basis]
    if basis_label is not None:
        plain = tuple(c for c in categories if c != "Optional")
        optional = ("Optional",) if "Optional" in categories else ()
        categories = (*plain, basis_label, *optional)
    if status != Status.CONFIRMED and "Date to confirm" not in categories:
        categories = (*categories, "Expected date")
    return EventBody(
        pack=crule.pack,
        rule=rule.id,
        year=year,
        occurrence=label,
        prep=prep,
        title=expected(title, status),
        description=description,
        kind=kind,
        start=start,
        end=end,
        all_day=all_day,
        anchor=anchor,
        audience=audience,
        categories=categories,
        involves=tuple(i.value for i in rule.involves),
        pupil_level=rule.pupil_level,
        statutory=basis == Basis.STATUTORY,
        basis=basis,
        status=status,
        why=why,
        source=crule.source,
        effort_hours=effort,
        alarms=alarms,
        optional=rule.optional,
        wording=tuple(
            Reading(r.audience, expected(r.title, status), r.description) for r in wording
        ),
    )
