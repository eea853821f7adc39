"""Published packs: immutable versions with a rising server revision; the newest is live.

A pack that fails validation is rejected before anything is written, so the previous version
stays live. Built-in packs ship with the code and cannot be shadowed by a published one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import lru_cache

from sqlalchemy import func, select
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
) -> tuple[PackVersion, bool]:
    """Validate and store a new version of a pack.

    Args:
        session: where to store it (the caller commits).
        data: the YAML file's content.
        filename: for messages.
        actor: who publishes (for the audit log).
        now: the publication time.
        school_id: set when a school publishes its own local pack.

    Returns:
        The live version, and whether it is new (False when identical to the live one).

    Raises:
        rules.PackRejected: the pack is invalid (nothing is stored).
        PackPublishError: the slug belongs to a built-in or to another publisher.
    """
    pack = rules.load_pack(data, filename)
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    content_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if pack.pack in {p.pack for p in catalog.builtin_packs()}:
        raise PackPublishError(f"'{pack.pack}' is a built-in pack; publish under another name.")
    if school_id is not None and pack.publisher.kind != "school":
        raise PackPublishError("a school's own pack must say publisher: {kind: school}.")
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
    )
    session.add(version)
    session.flush()
    audit.record(
        session, now, actor, "pack.publish", school_id,
        slug=pack.pack, revision=version.revision, version=pack.version,
    )  # fmt: skip
    return version, True


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
    return [
        v
        for v in (live if live is not None else live_versions(session))
        if (v.publisher_kind == "la" and v.publisher_code == la_code) or v.school_id == school_id
    ]


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


def pack_of(version: PackVersion) -> rules.Pack:
    """The parsed pack of a stored version."""
    return parsed(version.content_hash, version.content, version.slug)
