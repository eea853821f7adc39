"""The dated steps of each pupil's annual review: the events of ``for_each: ehcp`` rules.

Facts (shared/reference/send-calendar-facts.md, 1b and 1c): advice asked for 6 weeks before
the meeting (``cop.ar.request_advice``, local practice, the school's own setting); invitations
and papers at least 2 weeks before (``cop.ar.invite_notice``, ``cop.ar.circulate_advice``);
the report to the LA within 2 weeks after (``cop.ar.report_to_la``); the LA's decision within
4 weeks after (``cop.ar.la_decision``); interim reviews for children under 5 every 3 to 6 months
where the school turns them on (``cop.ar.under5_interim``: the LA should consider them, not a
duty); the phase-transfer deadline of 15 February or 31 March (``cop.phase.*``), never moved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta

from rules.calendar import academic_year_of
from rules.compiled import CompiledRule
from rules.dates import fmt
from rules.ehcp import Cycle, SchoolDays
from rules.event import EventBody
from rules.outcome import Need, expected
from rules.profile import EhcpSettings
from rules.vocabulary import BASIS_LABELS, Kind, Status
from rules.warning import WarningKind

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Step:
    """One dated step for one pupil, before it becomes an event body."""

    day: dt.date
    why: str
    note: str = ""
    occurrence: str | None = None
    status: Status | None = None  # None: the cycle's


def pupil_bodies(
    crules: Sequence[CompiledRule],
    cycles: Sequence[Cycle],
    settings: EhcpSettings,
    days: SchoolDays,
) -> tuple[list[EventBody], list[Need]]:
    """The bodies of every per-pupil rule for every pupil's cycle, and what went wrong."""
    bodies: list[EventBody] = []
    needs: list[Need] = []
    for crule in crules:
        assert crule.rule.pupil_date is not None
        step = crule.rule.pupil_date.step
        for cycle in cycles:
            for found in _steps(step, cycle, settings, days):
                if step == "interim" and academic_year_of(found.day) != days.year:
                    continue
                bodies.append(_body(crule, cycle, found, days.year))
                if found.note and step in ("papers", "report"):
                    needs.append(Need(WarningKind.DEADLINE_OUT_OF_TERM, crule.ref, crule.ref))
            if step == "meeting" and cycle.late:
                needs.append(Need(WarningKind.REVIEW_LATE, crule.ref, crule.ref))
            if step == "meeting" and cycle.how == "over_cap":
                cap = (("cap", str(settings.reviews_per_week)),)
                needs.append(Need(WarningKind.REVIEWS_OVER_CAP, crule.ref, crule.ref, cap))
    return bodies, needs


def _steps(step: str, cycle: Cycle, settings: EhcpSettings, days: SchoolDays) -> Iterator[Step]:
    meeting = cycle.meeting
    if step == "meeting":
        yield Step(meeting, _meeting_why(cycle), _meeting_note(cycle))
    elif step == "review_due" and cycle.due is not None:
        yield _due(cycle)
    elif step == "request_advice" and cycle.how != "held":
        weeks = settings.advice_weeks
        target = meeting - dt.timedelta(weeks=weeks)
        why = f"{weeks} weeks before the meeting ({fmt(meeting)}), your school's setting"
        yield _in_term(target, days, why, moved="")
    elif step == "papers" and cycle.how != "held":
        target = meeting - dt.timedelta(weeks=2)
        why = f"at least 2 weeks before the meeting ({fmt(meeting)})"
        note = (
            f"Two weeks before the meeting is {fmt(target)}, when the school is closed, so "
            "send everything by the last school day before it: {day}."
        )
        yield _in_term(target, days, why, moved=note)
    elif step == "report":
        target = meeting + dt.timedelta(weeks=2)
        why = f"within 2 weeks of the meeting ({fmt(meeting)})"
        note = (
            f"Two weeks after the meeting is {fmt(target)}, when the school is closed, so send "
            "the report by the last school day before it: {day}."
        )
        yield _in_term(target, days, why, moved=note)
    elif step == "decision":
        target = meeting + dt.timedelta(weeks=4)
        decided = cycle.pupil.last_review_decision
        if cycle.how == "held" and decided is not None and decided >= meeting:
            note = f"Your roster records the LA's decision on {fmt(decided)}."
            yield Step(decided, f"recorded on your roster after the meeting ({fmt(meeting)})",
                       note, status=Status.CONFIRMED)  # fmt: skip
        else:
            yield Step(target, f"4 weeks after the meeting ({fmt(meeting)}); the LA's deadline")
    elif step == "interim":
        yield from _interims(cycle, settings, days)
    elif step == "transfer_deadline" and cycle.transfer_deadline is not None:
        day = cycle.transfer_deadline
        words = "15 February" if day.month == 2 else "31 March"
        yield Step(day, f"before {words} in the year of transfer; never moved",
                   status=Status.CONFIRMED)  # fmt: skip


def _due(cycle: Cycle) -> Step:
    assert cycle.due is not None and cycle.anchor is not None
    source = {
        "plan": "the plan was issued",
        "decision": "the LA's decision after the last review",
        "meeting": "the last review meeting",
    }[str(cycle.anchor_kind)]
    why = f"12 months after {source} ({fmt(cycle.anchor)})"
    if cycle.anchor_kind == "meeting":
        note = (
            "Assumed: your roster has no date for the LA's decision after the last review, so "
            "this counts 12 months from the meeting. The 12 months run from the decision: add "
            "its date to the roster and this date moves to match."
        )
        return Step(cycle.due, why, note, status=Status.COMPUTED)
    return Step(cycle.due, why, status=Status.CONFIRMED)


def _meeting_why(cycle: Cycle) -> str:
    if cycle.how == "held":
        return "the review meeting on your roster"
    if cycle.how == "booked":
        return "the meeting your school booked"
    assert cycle.due is not None
    latest = cycle.due - dt.timedelta(days=28)
    why = f"proposed in term time, at least 4 weeks before the review is due ({fmt(cycle.due)})"
    if cycle.pupil.transfer is not None:
        why = "proposed in the autumn term of the year of transfer, in time for the deadline"
    if cycle.late:
        why = f"proposed as early as possible: it should be held by {fmt(latest)}"
    return why


def _meeting_note(cycle: Cycle) -> str:
    if not cycle.proposed:
        if cycle.late and cycle.due is not None:
            return (
                f"Booked after {fmt(cycle.due - dt.timedelta(days=28))}, so the LA's decision "
                f"may come after the review is due ({fmt(cycle.due)})."
            )
        return ""
    text = (
        "sencocal proposes this date; it is not booked. Once you book the meeting, add its date "
        "to the roster and every step below moves to match."
    )
    if cycle.late and cycle.due is not None:
        text += (
            f" The review is due by {fmt(cycle.due)}, and the LA's decision may come later than "
            "that: hold the meeting as soon as you can."
        )
    if cycle.how == "over_cap":
        text += " Every week near then already has as many reviews as your school's limit."
    return text


def _in_term(target: dt.date, days: SchoolDays, why: str, moved: str) -> Step:
    """``target`` if a school day, else the last school day before it (saying so if asked)."""
    if days.is_school_day(target):
        return Step(target, why)
    day = days.on_or_before(target)
    if day is None:
        return Step(target, why)
    if moved:
        why = f"{why}; the last school day before {fmt(target)}"
        return Step(day, why, moved.format(day=fmt(day)))
    return Step(day, f"{why}, moved to the school day before")


def _interims(cycle: Cycle, settings: EhcpSettings, days: SchoolDays) -> Iterator[Step]:
    """Interim reviews for a child under 5, only where the school turns them on."""
    if not (settings.interim_reviews and cycle.pupil.under_5) or cycle.anchor is None:
        return
    note = (
        "An interim review for a child under 5. The SEND Code of Practice (9.178) says the LA "
        "should consider reviewing an under-5's plan every 3 to 6 months; it is not a duty. "
        "Your school has turned these on in its settings. It can be lighter than the annual "
        "review and needs no formal invitations."
    )
    count = 1
    while True:
        target = cycle.anchor + relativedelta(months=settings.interim_months * count)
        if target >= cycle.meeting - dt.timedelta(weeks=4):
            return
        day = days.on_or_before(target) or target
        why = f"{settings.interim_months * count} months after {fmt(cycle.anchor)}"
        yield Step(day, why, note, occurrence=f"interim-{count}", status=Status.COMPUTED)
        count += 1


def _body(crule: CompiledRule, cycle: Cycle, step: Step, year: int) -> EventBody:
    rule = crule.rule
    status = step.status or cycle.status
    ref = cycle.pupil.ref
    kind = rule.kind
    if kind == Kind.MEETING and step.occurrence is None and cycle.proposed:
        title = f"{rule.title}: {ref} (proposed date)"
    else:
        title = expected(f"{rule.title}: {ref}", status)
    parts = [crule.description]
    if step.note:
        parts.append(step.note)
    if cycle.proposed and status != Status.CONFIRMED and kind != Kind.MEETING:
        parts.append(f"Dated from the proposed meeting on {fmt(cycle.meeting)}.")
    categories = list(crule.categories)
    label = BASIS_LABELS[crule.basis]
    if label is not None:
        categories.append(label)
    if status != Status.CONFIRMED:
        categories.append("Expected date")
    return EventBody(
        pack=crule.pack,
        rule=rule.id,
        year=year,
        occurrence=step.occurrence,
        prep=None,
        title=title,
        description="\n\n".join(p for p in parts if p).strip(),
        kind=kind,
        start=step.day,
        end=step.day + ONE_DAY,
        all_day=True,
        anchor=step.day,
        audience=crule.audience,
        categories=tuple(dict.fromkeys(categories)),
        involves=tuple(i.value for i in rule.involves),
        pupil_level=True,
        statutory=crule.basis.value == "statutory",
        basis=crule.basis,
        status=status,
        why=step.why,
        source=crule.source,
        effort_hours=rule.effort_hours,
        alarms=tuple(a.days_before for a in rule.alarms),
        optional=rule.optional,
        pupil=ref,
        wording=crule.wording,
    )
