"""What a pack's new version did to a school's entries, kept for the school's "What changed" page.

Refresh records, for the packs whose version changed since the school was last evaluated, each
entry the diff added, moved, reworded or removed (the school's own edits are not news to it).
A school keeps its last :data:`KEEP_DAYS` days of changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from feedserver.storage.models import EventChange
from rules.diff import Diff

KEEP_DAYS = 400


def record(
    session: Session,
    school_id: str,
    diff: Diff,
    packs: set[str],
    fingerprints: Mapping[str, str],
    now: dt.datetime,
) -> int:
    """Store the diff's changes to entries of ``packs``; how many."""
    rows: list[EventChange] = []

    def add(
        kind: str, pack: str, uid: str, title: str, old: dt.date | None, new: dt.date | None
    ) -> None:
        if pack not in packs:
            return
        rows.append(EventChange(school_id=school_id, at=now, uid=uid, kind=kind, pack=pack,
                                revision=_revision(fingerprints.get(pack, "")), title=title[:300],
                                old_start=old, new_start=new))  # fmt: skip

    for c in diff.creates:
        body = c.event.body
        add("added", body.pack, c.uid, body.title, None, _day(body.start))
    for u in diff.updates:
        old, new = u.before.event.body, u.event.body
        kind = "moved" if u.moved else "reworded"
        add(kind, new.pack, u.uid, new.title, _day(old.start), _day(new.start))
    for d in diff.deletes:
        body = d.before.event.body
        add("removed", body.pack, d.uid, body.title, _day(body.start), None)
    session.add_all(rows)
    if rows:
        session.execute(
            delete(EventChange).where(
                EventChange.school_id == school_id,
                EventChange.at < now - dt.timedelta(days=KEEP_DAYS),
            )
        )
    return len(rows)


def _revision(fingerprint: str) -> int | None:
    _, _, rev = fingerprint.partition("@")
    return int(rev) if rev.isdigit() else None


def _day(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def recent(session: Session, school_id: str, limit: int = 200) -> list[EventChange]:
    """The school's changes, newest first."""
    return list(
        session.scalars(
            select(EventChange)
            .where(EventChange.school_id == school_id)
            .order_by(EventChange.at.desc(), EventChange.id)
            .limit(limit)
        )
    )


def count_since(session: Session, school_id: str, since: dt.datetime | None) -> int:
    """How many changes the school has had since ``since`` (all of them when None)."""
    query = select(func.count()).select_from(EventChange).where(EventChange.school_id == school_id)
    if since is not None:
        query = query.where(EventChange.at > since)
    return int(session.scalar(query) or 0)
