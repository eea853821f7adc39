"""Published packs: immutable versions with a rising server revision; the newest is live.

A pack that fails validation is rejected before anything is written, so the previous version
stays live. Built-in packs ship with the code and cannot be shadowed by a published one.
Publications of one pack are serialised (an advisory lock on PostgreSQL, the write lock on
SQLite), so two at once both land, one revision after the other: the later one is live.

Each version remembers, per rule, the day its publisher last changed it (``rule_changes``,
worked out at publish time against the version before), and events say so ("Example Borough
Council last changed this on Thu 3 Dec 2026"): a republication changes only the events of the
rules that changed, so the others keep their bytes and their SEQUENCE. Rolling back publishes an
old version's content as a new revision, so SEQUENCE still rises and calendars move events.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from functools import lru_cache

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

import rules
from feedserver import catalog
from feedserver.storage import audit
from feedserver.storage.models import PackVersion, School


class PackPublishError(rules.SencocalInputError):
    """A pack may not be published under this slug by this publisher."""


def publish(
    session: Session,
    data: bytes | str,
    filename: str,
    actor: str,
    now: dt.datetime,
    school_id: str | None = None,
    *,
    note: str = "",
    rolled_back_from: int | None = None,
    publisher_code: str | None = None,
) -> tuple[PackVersion, bool]:
    """Validate and store a new version of a pack.

    Args:
        session: where to store it (the caller commits).
        data: the YAML file's content.
        filename: for messages.
        actor: who publishes (for the audit log).
        now: the publication time.
        school_id: set when a school publishes its own local pack.
        note: the publisher's note on this version (schools see it with the changes).
        rolled_back_from: the revision whose content this restores, for a rollback.
        publisher_code: set when an LA publishes: the pack must name that LA as publisher.

    Returns:
        The live version, and whether it is new (False when identical to the live one).

    Raises:
        rules.PackRejected: the pack is invalid (nothing is stored).
        PackPublishError: the slug belongs to a built-in or to another publisher.
    """
    pack = validate(session, data, filename, school_id, publisher_code=publisher_code)
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    content_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
    _serialise(session, pack.pack)
    latest = live(session, pack.pack)
    if latest is not None:
        same_owner = (latest.publisher_kind, latest.publisher_code, latest.school_id) == (
            pack.publisher.kind,
            pack.publisher.code,
            school_id,
        )
        if not same_owner:
            raise PackPublishError(
                f"'{pack.pack}' is already published by someone else; choose another name."
            )
        if latest.content_hash == content_hash:
            return latest, False
    version = PackVersion(
        slug=pack.pack,
        revision=(latest.revision + 1) if latest is not None else 1,
        version_label=pack.version,
        publisher_kind=pack.publisher.kind,
        publisher_code=pack.publisher.code,
        school_id=school_id,
        content=text,
        content_hash=content_hash,
        created_at=now,
        created_by=actor,
        rule_changes=rule_changes(latest, pack, now.date()),
        note=note,
        rolled_back_from=rolled_back_from,
    )
    session.add(version)
    session.flush()
    audit.record(
        session, now, actor, "pack.publish", school_id,
        slug=pack.pack, revision=version.revision, version=pack.version,
    )  # fmt: skip
    return version, True


def validate(
    session: Session,
    data: bytes | str,
    filename: str,
    school_id: str | None = None,
    *,
    publisher_code: str | None = None,
) -> rules.Pack:
    """Check a pack as :func:`publish` would, storing nothing (an LA's "check" and dry run).

    Raises:
        rules.PackRejected: the pack is invalid.
        PackPublishError: the slug belongs to a built-in or to another publisher.
    """
    pack = rules.load_pack(data, filename)
    if publisher_code is not None and (pack.publisher.kind, pack.publisher.code) != (
        "la",
        publisher_code,
    ):
        raise PackPublishError(
            f"This pack names another publisher; an LA can publish only packs that say "
            f'publisher: {{kind: la, code: "{publisher_code}"}}.'
        )
    if pack.pack in {p.pack for p in catalog.builtin_packs()}:
        raise PackPublishError(f"'{pack.pack}' is a built-in pack; publish under another name.")
    if school_id is not None and pack.publisher.kind != "school":
        raise PackPublishError("a school's own pack must say publisher: {kind: school}.")
    latest = live(session, pack.pack)
    if latest is not None and (latest.publisher_kind, latest.publisher_code, latest.school_id) != (
        pack.publisher.kind,
        pack.publisher.code,
        school_id,
    ):
        raise PackPublishError(
            f"'{pack.pack}' is already published by someone else; choose another name."
        )
    return pack


def rollback(
    session: Session, slug: str, revision: int, actor: str, now: dt.datetime, note: str = ""
) -> tuple[PackVersion, bool]:
    """Publish revision ``revision``'s content again, as a new revision (the caller commits).

    Raises:
        PackPublishError: there is no such revision.
    """
    old = session.scalars(
        select(PackVersion).where(PackVersion.slug == slug, PackVersion.revision == revision)
    ).first()
    if old is None:
        raise PackPublishError(f"There is no version {revision} of '{slug}' to go back to.")
    return publish(
        session, old.content, f"{slug}.yaml", actor, now, old.school_id,
        note=note or f"Back to version {revision} ({old.version_label}).",
        rolled_back_from=revision,
    )  # fmt: skip


def history(session: Session, slug: str) -> list[PackVersion]:
    """Every version of ``slug``, newest first."""
    return list(
        session.scalars(
            select(PackVersion)
            .where(PackVersion.slug == slug)
            .order_by(PackVersion.revision.desc())
        )
    )


def rule_changes(previous: PackVersion | None, pack: rules.Pack, today: dt.date) -> dict[str, str]:
    """Per rule, the day it last changed: today for a new or changed rule, else as before."""
    before = {} if previous is None else _rule_digests(parsed_plain(previous))
    known = {} if previous is None else dict(previous.rule_changes or {})
    fallback = None if previous is None else previous.created_at.date().isoformat()
    out = {}
    for rule_id, digest in _rule_digests(pack).items():
        if before.get(rule_id) == digest:
            out[rule_id] = known.get(rule_id) or fallback or today.isoformat()
        else:
            out[rule_id] = today.isoformat()
    return out


def _rule_digests(pack: rules.Pack) -> dict[str, str]:
    return {
        r.id: hashlib.sha256(
            json.dumps(r.model_dump(mode="json"), sort_keys=True).encode("utf-8")
        ).hexdigest()
        for r in pack.rules
    }


def _serialise(session: Session, slug: str) -> None:
    """Make publications of ``slug`` wait for each other until this transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"pack:{slug}".encode()).digest()[:8], "big") >> 1
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    else:  # SQLite: take the database's write lock now, before reading the latest revision
        session.execute(text("UPDATE pack_versions SET slug = slug WHERE slug = :slug"),
                        {"slug": slug})  # fmt: skip


def live(session: Session, slug: str) -> PackVersion | None:
    """The live (newest) version of ``slug``, or None."""
    return session.scalars(
        select(PackVersion).where(PackVersion.slug == slug).order_by(PackVersion.revision.desc())
    ).first()


def live_versions(session: Session) -> list[PackVersion]:
    """The live version of every published pack."""
    newest = (
        select(PackVersion.slug, func.max(PackVersion.revision).label("revision"))
        .group_by(PackVersion.slug)
        .subquery()
    )
    query = select(PackVersion).join(
        newest, (PackVersion.slug == newest.c.slug) & (PackVersion.revision == newest.c.revision)
    )
    return list(session.scalars(query.order_by(PackVersion.slug)))


def live_for_school(
    session: Session, la_code: str, school_id: str, live: list[PackVersion] | None = None
) -> list[PackVersion]:
    """The live LA packs for ``la_code`` and the school's own live packs (from ``live``)."""
    found = [
        v
        for v in (live if live is not None else live_versions(session))
        if (v.publisher_kind == "la" and v.publisher_code == la_code) or v.school_id == school_id
    ]
    # An LA's imported term dates (``la-<code>-term-dates``) come after its other packs, so for
    # the years they cover they replace term dates written in those packs.
    return sorted(found, key=lambda v: (v.slug.endswith("-term-dates"), v.slug))


def reached_school_ids(session: Session, version: PackVersion) -> list[str]:
    """The schools a published pack version reaches, by id (publish, CLI, API and jobs ask here).

    An LA's pack reaches every school in that LA; a school's own pack reaches that school.
    """
    if version.school_id is not None:
        query = select(School.id).where(School.id == version.school_id)
    elif version.publisher_kind == "la" and version.publisher_code:
        query = select(School.id).where(School.la_code == version.publisher_code)
    else:
        return []
    return list(session.scalars(query.order_by(School.id)))


@lru_cache(maxsize=256)
def parsed(content_hash: str, content: str, slug: str) -> rules.Pack:
    """The parsed pack for a stored version (parsed once per process per content)."""
    return rules.load_pack(content, f"{slug}.yaml")


def parsed_plain(version: PackVersion) -> rules.Pack:
    """A stored version's pack exactly as its author wrote it."""
    return parsed(version.content_hash, version.content, version.slug)


@lru_cache(maxsize=256)
def _with_changes(content_hash: str, content: str, slug: str, changes: str) -> rules.Pack:
    return with_change_notes(parsed(content_hash, content, slug), json.loads(changes))


def with_change_notes(pack: rules.Pack, changes: dict[str, str]) -> rules.Pack:
    """``pack`` as schools get it: each rule (and its lead tasks) says when it last changed.

    Only LA and trust packs carry the note; ``changes`` maps rule ids to ISO dates.
    """
    if pack.publisher.kind not in {"la", "trust"}:
        return pack
    who = pack.publisher.name or "Your local authority"
    updated = []
    for rule in pack.rules:
        day = changes.get(rule.id)
        if day is None:
            updated.append(rule)
            continue
        when = dt.date.fromisoformat(day)
        line = f"{who} last changed this on {when:%a} {when.day} {when:%b %Y}."
        updated.append(
            rule.model_copy(
                update={
                    "description": _joined(rule.description, line),
                    "prep": tuple(
                        p.model_copy(update={"description": _joined(p.description, line)})
                        for p in rule.prep
                    ),
                    "wording": {
                        reader: w.model_copy(update={"description": _joined(w.description, line)})
                        if w.description
                        else w
                        for reader, w in rule.wording.items()
                    },
                }
            )
        )
    return pack.model_copy(update={"rules": tuple(updated)})


def as_published(session: Session, pack: rules.Pack, today: dt.date) -> rules.Pack:
    """``pack`` as schools would get it if it were published today (for a dry run)."""
    return with_change_notes(pack, rule_changes(live(session, pack.pack), pack, today))


def _joined(text_: str | None, line: str) -> str:
    return f"{text_}\n\n{line}" if text_ else line


def pack_of(version: PackVersion) -> rules.Pack:
    """A stored version's pack as schools get it: each rule says when it last changed."""
    changes = json.dumps(version.rule_changes or {}, sort_keys=True)
    return _with_changes(version.content_hash, version.content, version.slug, changes)
