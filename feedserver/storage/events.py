"""A school's stored events: the per-school lock, reading the window, applying a diff.

Every write to one school's events happens inside one transaction that first takes
:func:`lock_school`, so two refreshes of the same school (two workers, a worker and a web
request) run one after the other instead of colliding; different schools never wait on each
other. Inserts are upserts as well, so even a writer that skipped the lock cannot fail on the
primary key.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

import rules
from feedserver.ics import Revisions
from feedserver.storage.models import EventRow, School
from rules.diff import Create, Diff, Stored, last_day


def lock_school(session: Session, school_id: str) -> School | None:
    """Take the school's write lock for the rest of the transaction; the school, or None.

    PostgreSQL: ``SELECT ... FOR UPDATE`` on the school's row (other schools are not blocked).
    SQLite: a no-op ``UPDATE`` as the transaction's first write takes the database's write lock
    up front, so the read-then-write below can never fail half-way with "database is locked"
    (SQLite has one writer at a time anyway; the busy timeout makes the second one wait).
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(School).where(School.id == school_id).values(id=School.id),
            execution_options={"synchronize_session": False},
        )
        return session.get(School, school_id, populate_existing=True)
    return session.scalars(
        select(School)
        .where(School.id == school_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def stored(session: Session, school_id: str, years: Iterable[int]) -> dict[str, Stored]:
    """Every stored event of the school in ``years``, live or dropped, by identity.

    Reads hashes and dates only; an event's body is read if the diff asks for it (a past
    event kept as it was, a preview listing what would move).
    """
    rows = session.execute(
        select(
            EventRow.uid,
            EventRow.content_hash,
            EventRow.last_day,
            EventRow.sequence,
            EventRow.active,
            EventRow.last_modified,
        ).where(EventRow.school_id == school_id, EventRow.academic_year.in_(list(years)))
    )
    return {
        uid: Stored(
            uid,
            content_hash,
            last_day,
            sequence,
            active,
            functools.partial(_load, session, school_id, uid),
            modified,
        )  # fmt: skip
        for uid, content_hash, last_day, sequence, active, modified in rows
    }


def _load(session: Session, school_id: str, uid: str) -> rules.Event:
    body = session.scalars(
        select(EventRow.body).where(EventRow.school_id == school_id, EventRow.uid == uid)
    ).one()
    return rules.Event.from_json(body)


def apply(session: Session, school_id: str, diff: Diff, now: dt.datetime) -> None:
    """Write ``diff`` to the school's event rows (the caller holds the lock and commits).

    A created event starts at SEQUENCE 0, or continues after its last one when it comes back;
    an updated one goes up by one; a deleted one is kept but marked dropped.
    """
    if diff.creates:
        values = [
            {
                "school_id": school_id,
                "uid": c.uid,
                "academic_year": c.event.body.year,
                "content_hash": c.event.body.content_hash,
                "last_day": last_day(c.event),
                "sequence": next_sequence(c),
                "body": c.event.to_json(),
                "active": True,
                "first_seen": now,
                "last_modified": now,
            }
            for c in diff.creates
        ]
        for start in range(0, len(values), 500):
            session.execute(_upsert(session, values[start : start + 500]))
    for change in diff.updates:
        session.execute(
            update(EventRow)
            .where(EventRow.school_id == school_id, EventRow.uid == change.uid)
            .values(
                content_hash=change.event.body.content_hash,
                last_day=last_day(change.event),
                sequence=change.before.sequence + 1,
                body=change.event.to_json(),
                active=True,
                last_modified=now,
            )
        )
    gone = [d.uid for d in diff.deletes]
    for start in range(0, len(gone), 500):
        session.execute(
            update(EventRow)
            .where(EventRow.school_id == school_id, EventRow.uid.in_(gone[start : start + 500]))
            .values(active=False, last_modified=now)
        )
    session.flush()


def next_sequence(create: Create) -> int:
    """A created event's SEQUENCE: 0, or one more than before it dropped out."""
    return 0 if create.previous is None else create.previous.sequence + 1


def revisions_after(
    stored_before: dict[str, Stored], diff: Diff, live: Iterable[rules.Event], now: dt.datetime
) -> Revisions:
    """SEQUENCE and LAST-MODIFIED of ``live`` once ``diff`` is applied (no second query)."""
    sequence: dict[str, int] = {}
    modified: dict[str, dt.datetime] = {}
    for event in live:
        before = stored_before.get(event.uid)
        if before is not None:
            sequence[event.uid] = before.sequence
            modified[event.uid] = before.modified or now
    for c in diff.creates:
        sequence[c.uid], modified[c.uid] = next_sequence(c), now
    for u in diff.updates:
        sequence[u.uid], modified[u.uid] = u.before.sequence + 1, now
    return Revisions(sequence=sequence, modified=modified)


def _upsert(session: Session, values: list[dict[str, Any]]) -> Any:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(EventRow).values(values)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[EventRow.school_id, EventRow.uid],
        set_={
            "academic_year": excluded.academic_year,
            "content_hash": excluded.content_hash,
            "last_day": excluded.last_day,
            "sequence": excluded.sequence,
            "body": excluded.body,
            "active": True,
            "last_modified": excluded.last_modified,
        },
    )


def window(
    session: Session, school_id: str, years: Iterable[int]
) -> tuple[list[rules.Event], Revisions]:
    """The school's live events in ``years``, in evaluator order, with their revisions."""
    rows = session.scalars(
        select(EventRow).where(
            EventRow.school_id == school_id,
            EventRow.active.is_(True),
            EventRow.academic_year.in_(list(years)),
        )
    ).all()
    events = sorted((rules.Event.from_json(r.body) for r in rows), key=lambda e: e.body.sort_key)
    return events, Revisions(
        sequence={r.uid: r.sequence for r in rows},
        modified={r.uid: r.last_modified for r in rows},
    )


def prune(session: Session, school_id: str, before_year: int) -> int:
    """Delete the school's rows of academic years before ``before_year``; how many."""
    result = session.execute(
        delete(EventRow).where(
            EventRow.school_id == school_id, EventRow.academic_year < before_year
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
