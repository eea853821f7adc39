"""What an LA may see of its schools, and nothing more.

Exactly: each school's name and URN; how many of its feed links work and how many calendars it
has connected (counts, never addresses or tokens); and the dates of the entries the LA's own
packs produce there, except per-pupil ones. Never a school's other entries, settings, roster or
feed links.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from feedserver.storage.models import Connection, EventRow, Feed, FeedToken, PackVersion, School


@dataclass(frozen=True)
class LaEntry:
    """One entry an LA pack produces at a school: its title and dates."""

    title: str
    start: str  # ISO
    end: str  # ISO, exclusive for all-day entries
    all_day: bool


@dataclass
class LaSchool:
    """One of the LA's schools, as the LA sees it."""

    school_id: str
    name: str
    urn: str | None
    subscribed_links: int = 0
    connected_calendars: int = 0


def la_slugs(session: Session, la_code: str) -> list[str]:
    """The packs published by ``la_code``."""
    return list(
        session.scalars(
            select(PackVersion.slug)
            .where(PackVersion.publisher_kind == "la", PackVersion.publisher_code == la_code)
            .distinct()
            .order_by(PackVersion.slug)
        )
    )


def schools_of(session: Session, la_code: str) -> list[LaSchool]:
    """The LA's schools as the LA may see them, by name."""
    rows = session.execute(
        select(School.id, School.name, School.profile)
        .where(School.la_code == la_code)
        .order_by(School.name)
    ).all()
    out = {sid: LaSchool(sid, name, (profile or {}).get("urn")) for sid, name, profile in rows}
    if not out:
        return []
    links = session.execute(
        select(Feed.school_id, func.count(FeedToken.id))
        .join(FeedToken, FeedToken.feed_id == Feed.id)
        .where(Feed.school_id.in_(list(out)), FeedToken.revoked_at.is_(None))
        .group_by(Feed.school_id)
    )
    for school_id, count in links:
        out[school_id].subscribed_links = int(count)
    calendars = session.execute(
        select(Connection.school_id, func.count(Connection.id))
        .where(Connection.school_id.in_(list(out)), Connection.state == "active")
        .group_by(Connection.school_id)
    )
    for school_id, count in calendars:
        out[school_id].connected_calendars = int(count)
    return list(out.values())


def entries(session: Session, la_code: str, school_id: str) -> list[LaEntry] | None:
    """The entries the LA's own packs produce at one of its schools (None: not its school)."""
    school = session.get(School, school_id)
    if school is None or school.la_code != la_code:
        return None
    slugs = la_slugs(session, la_code)
    if not slugs:
        return []
    rows = session.scalars(
        select(EventRow.body).where(
            EventRow.school_id == school_id,
            EventRow.active.is_(True),
            or_(*(EventRow.uid.startswith(f"{school_id}/{slug}/") for slug in slugs)),
        )
    )
    # A pupil's entries are the school's alone, even when the LA's pack made them.
    found = [LaEntry(b["title"], str(b["start"]), str(b["end"]), bool(b["all_day"]))
             for b in rows if not b.get("pupil_level")]  # fmt: skip
    return sorted(found, key=lambda e: (e.start, e.title))
