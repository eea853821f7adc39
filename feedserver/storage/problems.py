"""Problem records: what a job could not do, or found missing, as data for the pages to word.

One record per (source, subject): a job that fails again for the same school updates its record
(and counts the attempts); the same job succeeding for it clears the record.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from feedserver.storage.models import Problem

INSTANCE = "instance"  # the subject of problems that are not about one school


class ProblemKind(StrEnum):
    """What went wrong (the pages word each kind for its reader)."""

    PACK_CONFLICT = "pack_conflict"  # details: slug
    PROFILE_INVALID = "profile_invalid"  # details: problems [{field, message}]
    GAVE_UP = "gave_up"  # a transient failure outlasted its retries; details: attempts
    UNEXPECTED = "unexpected"  # a bug; details: error (the exception's class name)
    NEXT_YEAR_NOT_READY = "next_year_not_ready"  # details: year, schools, unpublished


def record(
    session: Session,
    now: dt.datetime,
    source: str,
    kind: ProblemKind,
    *,
    school_id: str | None = None,
    **details: Any,
) -> Problem:
    """Store (or refresh) the problem ``source`` has with ``school_id`` (or the instance)."""
    subject = school_id or INSTANCE
    found = session.scalars(
        select(Problem).where(Problem.source == source, Problem.subject == subject)
    ).one_or_none()
    if found is None:
        found = Problem(
            source=source,
            subject=subject,
            school_id=school_id,
            kind=kind.value,
            details=details,
            attempts=1,
            first_at=now,
            last_at=now,
        )
        session.add(found)
    else:
        found.kind, found.details, found.last_at = kind.value, details, now
        found.attempts += 1
    session.flush()
    return found


def clear(session: Session, source: str, school_id: str | None = None) -> None:
    """Forget the problem ``source`` had with ``school_id`` (it succeeded)."""
    session.execute(
        delete(Problem).where(Problem.source == source, Problem.subject == (school_id or INSTANCE))
    )


def open_problems(session: Session, school_id: str | None = None) -> list[Problem]:
    """Every stored problem, or one school's, oldest first."""
    query = select(Problem).order_by(Problem.first_at, Problem.id)
    if school_id is not None:
        query = query.where(Problem.school_id == school_id)
    return list(session.scalars(query))
