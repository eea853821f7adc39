"""A school's "What changed": the recorded changes grouped by publication, and who has seen them.

Refresh records each entry a pack's new version moved, added, reworded or removed at a school
(``storage.changes``). Here they are read back for the people of that school: grouped by the
publication that made them (one pack's revision), newest first, with who published it in
words (the LA's name, "national dates" for the built-in packs) and the publisher's note.

Each person (``users.changes_seen_at``) and each school key (``api_keys.changes_seen_at``)
keeps the time of the newest change they were shown; changes after it are new to them. The
instance admin looks across schools with one account, so their visits mark nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedserver import catalog
from feedserver.storage import changes, packstore
from feedserver.storage.models import ApiKey, EventChange, LocalAuthority, PackVersion, User
from feedserver.storage.principals import Principal

SHOWN = 300  # changes listed at most (a year of a busy LA's publications fits)
NATIONAL = "national dates"


@dataclass(frozen=True)
class Change:
    """One entry a publication changed: what happened to it, and its dates before and after."""

    kind: str  # added | moved | reworded | removed
    title: str
    old_start: dt.date | None
    new_start: dt.date | None


@dataclass
class Publication:
    """The changes one pack's revision made at the school.

    Attributes:
        source: who published it, for the school's readers ("Midshire County Council",
            "national dates", "your school's own pack").
        note: the publisher's note on that version ("" when there is none).
        at: when the school's calendar took the changes.
        seen: whether the reader had already been shown them.
        changes: the entries, by date.
    """

    source: str
    note: str
    at: dt.datetime
    seen: bool
    changes: list[Change] = field(default_factory=list)


@dataclass(frozen=True)
class WhatChanged:
    """A school's recorded changes for one reader.

    Attributes:
        new: publications the reader has not been shown, newest first.
        seen: publications already shown, newest first.
        tracked: False for the instance admin (nothing is new or seen for them; all in ``new``).
        more: True when older changes exist beyond the ones listed.
        newest: the time of the newest change listed (what marking them seen records).
    """

    new: list[Publication]
    seen: list[Publication]
    tracked: bool
    more: bool
    newest: dt.datetime | None


def tracked(reader: Principal) -> bool:
    """Whether ``reader``'s visits are remembered (school admins and school keys, not the admin)."""
    return reader.role == "school" and (reader.user_id is not None or reader.key_id is not None)


def seen_at(session: Session, reader: Principal) -> dt.datetime | None:
    """The time of the newest change ``reader`` has been shown, or None."""
    if not tracked(reader):
        return None
    if reader.user_id is not None:
        return session.scalar(select(User.changes_seen_at).where(User.id == reader.user_id))
    return session.scalar(select(ApiKey.changes_seen_at).where(ApiKey.id == reader.key_id))


def unread(session: Session, school_id: str, reader: Principal) -> int | None:
    """How many of the school's changes are new to ``reader`` (None for the instance admin)."""
    if not tracked(reader):
        return None
    return changes.count_since(session, school_id, seen_at(session, reader))


def mark_seen(session: Session, reader: Principal, upto: dt.datetime | None) -> None:
    """Remember that ``reader`` has been shown every change up to ``upto`` (the caller commits).

    The mark never goes back, so an older page open in another tab cannot undo a newer visit.
    """
    if upto is None or not tracked(reader):
        return
    row: User | ApiKey | None = (
        session.get(User, reader.user_id)
        if reader.user_id is not None
        else session.get(ApiKey, reader.key_id)
    )
    if row is not None and (row.changes_seen_at is None or row.changes_seen_at < upto):
        row.changes_seen_at = upto


def for_reader(session: Session, school_id: str, reader: Principal) -> WhatChanged:
    """The school's recorded changes, split into new and seen for ``reader``."""
    rows = changes.recent(session, school_id, limit=SHOWN + 1)
    more = len(rows) > SHOWN
    rows = rows[:SHOWN]
    if reader.school_id != school_id:  # a pupil's entries are named only to the school's own admins
        rows = [r for r in rows if "/pupil:" not in r.uid]
    is_tracked = tracked(reader)
    since = seen_at(session, reader)
    sources = _sources(session, rows)
    groups: dict[tuple[str, int | None, dt.datetime], Publication] = {}
    for row in rows:  # newest first: groups come out in that order too
        seen = is_tracked and since is not None and row.at <= since
        key = (row.pack, row.revision, row.at)
        if key not in groups:
            source, note = sources[(row.pack, row.revision)]
            groups[key] = Publication(source, note, row.at, seen)
        groups[key].changes.append(Change(row.kind, row.title, row.old_start, row.new_start))
    for pub in groups.values():
        pub.changes.sort(key=lambda c: (c.new_start or c.old_start or dt.date.min, c.title))
    pubs = list(groups.values())
    return WhatChanged(
        new=[p for p in pubs if not p.seen],
        seen=[p for p in pubs if p.seen],
        tracked=is_tracked,
        more=more,
        newest=max((r.at for r in rows), default=None),
    )


def _sources(
    session: Session, rows: list[EventChange]
) -> dict[tuple[str, int | None], tuple[str, str]]:
    """Per (pack, revision): who published it, in words, and the note on that version."""
    wanted = {(r.pack, r.revision) for r in rows}
    builtin = {p.pack for p in catalog.builtin_packs()}
    slugs = {slug for slug, rev in wanted if rev is not None and slug not in builtin}
    versions: dict[tuple[str, int], PackVersion] = {}
    if slugs:
        for v in session.scalars(select(PackVersion).where(PackVersion.slug.in_(slugs))):
            versions[(v.slug, v.revision)] = v
    codes = {v.publisher_code for v in versions.values() if v.publisher_kind == "la"}
    la_names: dict[str, str] = {
        code: name
        for code, name in session.execute(
            select(LocalAuthority.code, LocalAuthority.name).where(
                LocalAuthority.code.in_({c for c in codes if c})
            )
        )
    }
    out: dict[tuple[str, int | None], tuple[str, str]] = {}
    for slug, rev in wanted:
        version = versions.get((slug, rev)) if rev is not None else None
        if slug in builtin:
            out[(slug, rev)] = (NATIONAL, "")
        elif version is None:
            out[(slug, rev)] = ("a pack that has since been removed", "")
        else:
            out[(slug, rev)] = (_publisher_words(version, la_names), version.note or "")
    return out


def _publisher_words(version: PackVersion, la_names: dict[str, str]) -> str:
    if version.publisher_kind == "school":
        return "your school's own pack"
    if version.publisher_kind == "la" and version.publisher_code in la_names:
        return la_names[version.publisher_code]
    named = packstore.parsed_plain(version).publisher.name
    if named:
        return named
    return {"la": "your local authority", "trust": "your trust"}.get(
        version.publisher_kind, "the pack's publisher"
    )
