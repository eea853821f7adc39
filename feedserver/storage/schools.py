"""School profiles in the database, and which packs apply to each school."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from sqlalchemy.orm import Session

import rules
from feedserver import catalog
from feedserver.storage import audit, packstore
from feedserver.storage.models import PackVersion, School


def profile_json(profile: rules.SchoolProfile) -> dict[str, object]:
    """The profile as stored (JSON-safe, stable key order)."""
    data: dict[str, object] = json.loads(profile.model_dump_json())
    return data


def profile_of(row: School) -> rules.SchoolProfile:
    """The validated profile of a stored school."""
    return rules.SchoolProfile.model_validate(row.profile)


def save(session: Session, profile: rules.SchoolProfile, actor: str, now: dt.datetime) -> School:
    """Create or update a school from a validated profile (the caller commits)."""
    data = profile_json(profile)
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    row = session.get(School, profile.id)
    if row is None:
        row = School(
            id=profile.id,
            name=profile.name,
            la_code=profile.la_code,
            profile=data,
            profile_hash=digest,
            created_at=now,
            updated_at=now,
            warnings={},
        )
        session.add(row)
        audit.record(session, now, actor, "school.create", profile.id)
    elif row.profile_hash != digest:
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
