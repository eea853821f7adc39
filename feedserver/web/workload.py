"""A school's SENCO workload for one academic year, shared by its page and its API route.

It reads the school's stored events (nothing is evaluated in the request) and hands them to the
pure :func:`rules.workload.workload`. Accepting a suggestion sets the school's own date for that
rule (``profile.date_overrides``, as on the settings page) and queues the school's refresh.
Pupil-level entries are named only for the school's own admins; anyone else who may open the
school's pages (the instance admin) sees them as "a pupil's EHCP review step".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from sqlalchemy.orm import Session

import rules
from feedserver.pipeline import jobs, refresh
from feedserver.pipeline.dispatch import enqueue
from feedserver.storage import events as event_store
from feedserver.storage import schools
from feedserver.storage.models import School
from rules.profile import profile_from_data
from rules.workload import Suggestion, Workload, workload

HIDDEN_PUPIL_TITLE = "A pupil's EHCP review step"


class SuggestionGone(rules.SencocalInputError):
    """The suggestion no longer applies (the calendar changed since it was shown)."""


def years_shown(today: dt.date) -> tuple[int, int]:
    """The academic years the workload can show: the feeds' window."""
    return refresh.window(today)


def school_workload(session: Session, school: School, year: int, today: dt.date) -> Workload:
    """The school's workload in ``year`` from its stored events.

    Suggestions that would move a task already past, or into the past, are left out: the
    calendar never moves a past entry, so accepting one would change nothing.
    """
    events, _ = event_store.window(session, school.id, [year])
    profile = schools.profile_of(school)
    packs = [p for p, _ in schools.packs_for(session, profile)]
    load = workload(events, profile, year, packs=packs)
    ahead = tuple(s for s in load.suggestions if min(s.from_date, s.to_date) >= today)
    return dataclasses.replace(load, suggestions=ahead)


def entry_title(event: rules.Event, show_pupils: bool) -> str:
    """An entry's title for this reader (pupil-level ones hidden from all but the school)."""
    if event.body.pupil_level and not show_pupils:
        return HIDDEN_PUPIL_TITLE
    return event.body.title


def workload_json(load: Workload, year: int, show_pupils: bool) -> dict[str, Any]:
    """The workload as the API returns it (the same as the page shows)."""

    def day(value: dt.date | dt.datetime) -> str:
        return (value.date() if isinstance(value, dt.datetime) else value).isoformat()

    return {
        "year": year,
        "cap_hours": load.cap,
        "weeks": [
            {
                "monday": w.monday.isoformat(),
                "hours": round(w.hours, 2),
                "in_term": w.in_term,
                "over": w.over,
                "entries": [
                    {
                        "title": entry_title(e, show_pupils),
                        "date": day(e.body.start),
                        "hours": e.body.effort_hours or 0.0,
                        "kind": e.body.kind.value,
                        "statutory": e.body.statutory,
                        "pupil_level": e.body.pupil_level,
                    }
                    for e in w.entries
                ],
            }
            for w in load.weeks
        ],
        "over_weeks": [w.monday.isoformat() for w in load.over_weeks],
        "suggestions": [suggestion_json(s) for s in load.suggestions],
    }


def suggestion_json(s: Suggestion) -> dict[str, Any]:
    """One suggestion as JSON (what to send back to accept it)."""
    return {
        "ref": s.ref,
        "year": s.year,
        "title": s.title,
        "hours": s.hours,
        "from_date": s.from_date.isoformat(),
        "to_date": s.to_date.isoformat(),
        "reason": s.reason,
    }


def accept(
    session: Session,
    school: School,
    ref: str,
    year: int,
    to_date: dt.date,
    actor: str,
    now: dt.datetime,
    today: dt.date,
) -> Suggestion:
    """Make a shown suggestion the school's own date for its rule, and queue the refresh.

    Raises:
        SuggestionGone: the school's current workload no longer suggests it.
    """
    load = school_workload(session, school, year, today)
    found = next(
        (s for s in load.suggestions if (s.ref, s.year, s.to_date) == (ref, year, to_date)), None
    )
    if found is None:
        raise SuggestionGone(
            "That suggestion no longer applies: the calendar has changed since it was shown. "
            "Reload the workload to see the current suggestions."
        )
    profile = schools.profile_of(school)
    data = json.loads(profile.model_dump_json())
    overrides = data.setdefault("date_overrides", {})
    overrides.setdefault(ref, {})[str(year)] = to_date.isoformat()
    schools.save(session, profile_from_data(data, "your change"), actor, now)
    enqueue(jobs.evaluate_school, school.id, reason="workload")
    return found
