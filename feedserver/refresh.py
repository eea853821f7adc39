"""Keeping stored events and feed bytes current: evaluate, diff, render.

A school is re-evaluated when anything it depends on changed (its profile, a pack's content, the
window moving on 1 September). Events are diffed by identity: a changed content hash raises that
event's SEQUENCE and LAST-MODIFIED and nothing else's. Feeds are rendered here, when events change,
never per request.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

import rules
from feedserver import schools
from feedserver.ics import FeedMeta, Revisions, render
from feedserver.models import EventRow, School
from rules.audiences import for_audience
from rules.calendar import academic_year_of
from rules.vocabulary import academic_year_label

AUDIENCES = ("senco", "slt", "governors", "ta", "staff")
FEED_NAMES = {
    "senco": "SEND calendar",
    "slt": "SEND for senior leaders",
    "governors": "SEND for governors",
    "ta": "SEND for the TA team",
    "staff": "SEND for all staff",
}
FEED_COLOURS = {
    "senco": "teal",
    "slt": "navy",
    "governors": "purple",
    "ta": "darkgreen",
    "staff": "slategray",
}


@dataclass
class RefreshResult:
    """What one refresh did to one school."""

    school_id: str
    evaluated: bool = False
    created: int = 0
    updated: int = 0
    removed: int = 0
    feeds_rendered: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> int:
        """How many events changed in any way."""
        return self.created + self.updated + self.removed


def window(today: dt.date) -> tuple[int, int]:
    """The academic years a feed holds: the current one and the next."""
    current = academic_year_of(today)
    return current, current + 1


def refresh_school(
    session: Session,
    school_id: str,
    today: dt.date,
    now: dt.datetime,
    *,
    memo: rules.Memo | None = None,
    force: bool = False,
) -> RefreshResult:
    """Bring one school's stored events and feeds up to date (the caller commits).

    Args:
        session: database session.
        school_id: the school.
        today: decides the window (current and next academic year).
        now: the time stamped on changed events.
        memo: shared evaluation work (pass one when refreshing many schools).
        force: evaluate and render even if nothing seems to have changed.
    """
    school = session.get(School, school_id)
    if school is None:
        raise KeyError(school_id)
    profile = schools.profile_of(school)
    packs = schools.packs_for(session, profile)
    years = window(today)
    fingerprint = _fingerprint(school.profile_hash, years, [fp for _, fp in packs])
    result = RefreshResult(school_id)
    feeds_stale = any(f.ics_gzip is None or f.window_start != years[0] for f in school.feeds)
    if fingerprint == school.evaluated_fingerprint and not force and not feeds_stale:
        return result
    if fingerprint != school.evaluated_fingerprint or force:
        result.evaluated = True
        events: list[rules.Event] = []
        warnings: list[str] = []
        for year in years:
            evaluation = rules.evaluate_full([p for p, _ in packs], profile, year, memo=memo)
            events.extend(evaluation.events)
            warnings.extend(f"{academic_year_label(year)}: {w}" for w in evaluation.warnings)
        revisions = _apply(session, school, events, years, now, result)
        school.evaluated_fingerprint = fingerprint
        school.evaluated_at = now
        school.warnings = {"items": warnings}
        result.warnings = warnings
        if result.changed:
            school.events_changed_at = now
        # Render from what was just evaluated (the same events the rows now hold).
        events.sort(key=lambda e: e.body.sort_key)
        render_feeds(session, school, years, now, result, current=(events, revisions))
    else:
        render_feeds(session, school, years, now, result)
    return result


def _fingerprint(profile_hash: str, years: tuple[int, int], packs: Iterable[str]) -> str:
    blob = json.dumps([profile_hash, list(years), sorted(packs)])
    return hashlib.sha256(blob.encode()).hexdigest()


def _apply(
    session: Session,
    school: School,
    events: list[rules.Event],
    years: tuple[int, int],
    now: dt.datetime,
    result: RefreshResult,
) -> Revisions:
    rows = {
        r.uid: r for r in session.scalars(select(EventRow).where(EventRow.school_id == school.id))
    }
    desired = {e.uid: e for e in events}
    new_rows = []
    sequence: dict[str, int] = {}
    modified: dict[str, dt.datetime] = {}
    for uid, event in desired.items():
        row = rows.get(uid)
        digest = event.body.content_hash
        if row is None:
            new_rows.append(
                {
                    "school_id": school.id,
                    "uid": uid,
                    "academic_year": event.body.year,
                    "content_hash": digest,
                    "sequence": 0,
                    "body": event.to_json(),
                    "active": True,
                    "first_seen": now,
                    "last_modified": now,
                }
            )
            sequence[uid], modified[uid] = 0, now
            result.created += 1
            continue
        if row.content_hash != digest or not row.active:
            row.sequence += 1
            row.content_hash = digest
            row.body = event.to_json()
            row.active = True
            row.last_modified = now
            result.updated += 1
        sequence[uid], modified[uid] = row.sequence, row.last_modified
    if new_rows:
        session.execute(insert(EventRow), new_rows)
    for uid, row in rows.items():
        if uid in desired or not row.active:
            continue
        if row.academic_year in years:
            row.active = False  # kept, so a comeback continues its SEQUENCE
            row.last_modified = now
            result.removed += 1
        elif row.academic_year < years[0] - 1:
            session.delete(row)  # long out of every window
    session.flush()
    return Revisions(sequence=sequence, modified=modified)


def window_events(
    session: Session, school_id: str, years: tuple[int, int]
) -> tuple[list[rules.Event], Revisions]:
    """The school's active stored events in ``years``, in evaluator order, with their revisions."""
    rows = session.scalars(
        select(EventRow).where(
            EventRow.school_id == school_id,
            EventRow.active.is_(True),
            EventRow.academic_year.in_(years),
        )
    ).all()
    events = sorted((rules.Event.from_json(r.body) for r in rows), key=lambda e: e.body.sort_key)
    revisions = Revisions(
        sequence={r.uid: r.sequence for r in rows},
        modified={r.uid: r.last_modified for r in rows},
    )
    return events, revisions


def render_feeds(
    session: Session,
    school: School,
    years: tuple[int, int],
    now: dt.datetime,
    result: RefreshResult | None = None,
    current: tuple[list[rules.Event], Revisions] | None = None,
) -> None:
    """Render every feed of ``school`` whose bytes would change, keeping their ETags stable.

    ``current`` is the window's events (in order) and revisions when the caller has them.
    """
    if not school.feeds:
        return
    events, revisions = current if current is not None else window_events(session, school.id, years)
    label = f"{academic_year_label(years[0])} and {academic_year_label(years[1])}"
    for feed in school.feeds:
        chosen = for_audience(events, feed.audience)
        meta = FeedMeta(
            name=f"{school.name}: {FEED_NAMES[feed.audience]}",
            description=f"sencocal {FEED_NAMES[feed.audience]} for {school.name}, {label}.",
            color=FEED_COLOURS[feed.audience],
        )
        stamp = school.events_changed_at or school.created_at
        data = render(chosen, meta, stamp, revisions)
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        if feed.etag == etag and feed.window_start == years[0]:
            continue
        feed.ics_gzip = gzip.compress(data, compresslevel=6, mtime=0)
        feed.etag = etag
        feed.window_start = years[0]
        feed.content_changed_at = now
        feed.event_count = len(chosen)
        if result is not None:
            result.feeds_rendered.append(feed.audience)
    session.flush()


def stale_school_ids(session: Session) -> list[str]:
    """Every school id (refresh_school itself decides, cheaply, whether anything changed)."""
    return list(session.scalars(select(School.id).order_by(School.id)))
