"""School profiles in the database, and which packs apply to each school."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from sqlalchemy.orm import Session

import rules
from feedserver import catalog
from feedserver.storage import audit, packstore
from feedserver.storage.db import Conflict, insert_new
from feedserver.storage.models import PackVersion, School


class SchoolExists(Conflict):
    """A new school's id is taken (by a request that made it at the same moment)."""


class SchoolNotFound(rules.SencocalInputError):
    """No school has that id."""


def profile_json(profile: rules.SchoolProfile) -> dict[str, object]:
    """The profile as stored (JSON-safe, stable key order)."""
    data: dict[str, object] = json.loads(profile.model_dump_json())
    return data


def profile_of(row: School) -> rules.SchoolProfile:
    """The validated profile of a stored school."""
    return rules.SchoolProfile.model_validate(row.profile)


def save(
    session: Session,
    profile: rules.SchoolProfile,
    actor: str,
    now: dt.datetime,
    *,
    new: bool = False,
) -> School:
    """Create or update a school from a validated profile (the caller commits).

    Args:
        session: the request's transaction.
        profile: the validated profile.
        actor: who, for the audit log.
        now: when.
        new: the school must not exist yet (``POST /api/schools``): never update one that
            another request made a moment ago.

    Raises:
        SchoolExists: ``new`` and the id is taken.
    """
    data = profile_json(profile)
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    row = None if new else session.get(School, profile.id)
    if row is None:
        values = {"id": profile.id, "name": profile.name, "la_code": profile.la_code,
                  "profile": data, "profile_hash": digest, "created_at": now, "updated_at": now,
                  "warnings": {}}  # fmt: skip
        if not insert_new(session, School, values, ["id"]):
            raise SchoolExists(
                f"A school with id '{profile.id}' was made a moment ago by another request; "
                f"PUT /api/schools/{profile.id} to change it."
            )
        audit.record(session, now, actor, "school.create", profile.id)
        found = session.get(School, profile.id)
        assert found is not None
        return found
    if row.profile_hash != digest:
        row.name, row.la_code, row.profile, row.profile_hash = (
            profile.name,
            profile.la_code,
            data,
            digest,
        )
        row.updated_at = now
        audit.record(session, now, actor, "school.update", profile.id)
    session.flush()
    return row


def packs_for(
    session: Session,
    profile: rules.SchoolProfile,
    live: list[PackVersion] | None = None,
) -> list[tuple[rules.Pack, str]]:
    """Pack resolution (DESIGN.md) with a fingerprint per pack.

    Built-ins not turned off + the live pack(s) of the school's LA + the school's own live pack.
    Pass ``live`` (:func:`packstore.live_versions`) when resolving for many schools at once.

    Returns:
        (pack, fingerprint) pairs; a fingerprint changes whenever the pack's content does.
    """
    off = set(profile.packs_off)
    out = [
        (p, f"builtin:{catalog.digest(p.pack)}")
        for p in catalog.builtin_packs()
        if p.pack not in off
    ]
    for version in packstore.live_for_school(session, profile.la_code, profile.id, live):
        if version.slug not in off:
            out.append((packstore.pack_of(version), f"{version.slug}@{version.revision}"))
    return out


def delete(session: Session, school_id: str, actor: str, now: dt.datetime) -> dict[str, int]:
    """Delete a school and everything kept about it; how many rows of each kind went.

    Its feeds, feed tokens, events, own packs, problem records, API keys, people (with their
    sign-in links and sessions) and its audit entries: the database cascades the rows that
    refer to the school, and the audit entries (which keep no reference) go by its id. One
    instance-level entry records that the school was deleted.

    Raises:
        SchoolNotFound: no school has that id.
    """
    from sqlalchemy import delete as delete_rows
    from sqlalchemy import func, select

    from feedserver.storage.models import (
        ApiKey,
        AuditEntry,
        EventRow,
        Feed,
        FeedToken,
        PageSession,
        SignInLink,
        User,
    )

    row = session.get(School, school_id, with_for_update=True)
    if row is None:
        raise SchoolNotFound(f"there is no school with id '{school_id}'.")
    users = select(User.id).where(User.school_id == school_id)
    keys = select(ApiKey.id).where(ApiKey.school_id == school_id)
    counted = {
        "events": select(func.count()).select_from(EventRow).where(EventRow.school_id == school_id),
        "feeds": select(func.count()).select_from(Feed).where(Feed.school_id == school_id),
        "feed tokens": select(func.count()).select_from(FeedToken).join(Feed)
        .where(Feed.school_id == school_id),
        "people": select(func.count()).select_from(User).where(User.school_id == school_id),
        "sign-in links": select(func.count()).select_from(SignInLink)
        .where(SignInLink.user_id.in_(users)),
        "api keys": select(func.count()).select_from(ApiKey).where(ApiKey.school_id == school_id),
        "sessions": select(func.count()).select_from(PageSession)
        .where(PageSession.user_id.in_(users) | PageSession.key_id.in_(keys)),
        "audit entries": select(func.count()).select_from(AuditEntry)
        .where(AuditEntry.school_id == school_id),
    }  # fmt: skip
    counts = {what: int(session.scalar(query) or 0) for what, query in counted.items()}
    session.execute(
        delete_rows(PageSession).where(
            PageSession.user_id.in_(users) | PageSession.key_id.in_(keys)
        )
    )
    session.execute(delete_rows(SignInLink).where(SignInLink.user_id.in_(users)))
    session.execute(delete_rows(User).where(User.school_id == school_id))
    session.execute(delete_rows(ApiKey).where(ApiKey.school_id == school_id))
    session.execute(delete_rows(AuditEntry).where(AuditEntry.school_id == school_id))
    session.delete(row)  # feeds, tokens, events, packs, problems: by the database's cascades
    session.flush()
    audit.record(session, now, actor, "school.delete", None, school=school_id, **{
        k.replace(" ", "_"): v for k, v in counts.items()})  # fmt: skip
    return counts
