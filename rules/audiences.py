"""Which events each feed audience receives (DESIGN.md "Audiences / feeds").

Pupil-level events reach only the SENCO. Readers above the SENCO get counts instead: one entry
per rule and week ("3 EHCP annual reviews this week") that names no pupil and keeps one
identity whatever pupils it counts. Governors see no count below :data:`GOVERNORS_MIN`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from rules.calendar import year_bounds
from rules.event import Event, EventBody
from rules.vocabulary import Audience, Basis, Kind, Status

COUNTED = frozenset({Audience.SLT, Audience.GOVERNORS})
GOVERNORS_MIN = 3


def for_audience(events: Iterable[Event], audience: Audience | str) -> list[Event]:
    """Events whose audience contains ``audience``, each worded for that reader.

    Pupil-level events reach only ``senco``; ``slt`` and ``governors`` get a count per week
    of the pupil-level meetings meant for them (governors: only counts of 3 or more). Other
    readers get their own title and description where the rule gives them, and never the
    SENCO's effort estimate.

    Args:
        events: one school's events, in evaluator order (kept; counts follow their week).
        audience: the feed's audience.
    """
    wanted = Audience(audience)
    events = list(events)
    if wanted == Audience.SENCO:
        return events
    out = [
        Event(e.school_id, e.body.for_reader(wanted))
        for e in events
        if wanted in e.body.audience and not e.body.pupil_level
    ]
    if wanted in COUNTED:
        counts = _counts(events, wanted)
        if counts:
            out = sorted([*out, *counts], key=lambda e: e.body.sort_key)
    return out


def _counts(events: Iterable[Event], wanted: Audience) -> list[Event]:
    groups: dict[tuple[str, str, str, int, dt.date], list[EventBody]] = {}
    for event in events:
        body = event.body
        if not body.pupil_level or wanted not in body.audience or body.kind != Kind.MEETING:
            continue
        start = body.start.date() if isinstance(body.start, dt.datetime) else body.start
        monday = start - dt.timedelta(days=start.weekday())
        key = (event.school_id, body.pack, body.rule, body.year, monday)
        groups.setdefault(key, []).append(body)
    least = GOVERNORS_MIN if wanted == Audience.GOVERNORS else 1
    out = []
    for (school_id, pack, rule, year, monday), bodies in sorted(groups.items()):
        if len(bodies) >= least:
            out.append(Event(school_id, _count_body(pack, rule, year, monday, bodies, wanted)))
    return out


def _count_body(
    pack: str, rule: str, year: int, monday: dt.date, bodies: list[EventBody], wanted: Audience
) -> EventBody:
    sample = bodies[0]
    own = next((r for r in sample.wording if r.audience == wanted), None)
    noun = own.title if own is not None else "EHCP annual review"
    count = len(bodies)
    title = f"{count} {noun}{'' if count == 1 else 's'} this week"
    proposed = any(b.status != Status.CONFIRMED for b in bodies)
    description = (
        f"{title[0].upper()}{title[1:]} (week of {monday.day} {monday:%B %Y}). "
        "No pupil is named here: the SENCO's calendar holds the details."
    )
    if proposed:
        description += " Some dates are proposed and may change once meetings are booked."
    week_one = year_bounds(year)[0]
    week_one -= dt.timedelta(days=week_one.weekday())
    label = f"w{(monday - week_one).days // 7 + 1:02d}"
    return EventBody(
        pack=pack,
        rule=rule,
        year=year,
        occurrence=label,
        prep=None,
        title=title,
        description=description,
        kind=Kind.EVENT,
        start=monday,
        end=monday + dt.timedelta(days=5),
        all_day=True,
        anchor=monday,
        audience=(wanted,),
        categories=("Event", sample.categories[1] if len(sample.categories) > 1 else "Reviews"),
        involves=(),
        pupil_level=False,
        statutory=False,
        basis=Basis.INFORMATION,
        status=Status.COMPUTED if proposed else Status.CONFIRMED,
        why="a count of this week's meetings, without pupils' details",
        source=None,
        effort_hours=None,
        alarms=(),
    )
