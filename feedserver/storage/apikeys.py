"""API keys: the instance admin's and per-school keys, sent as ``Authorization: Bearer <key>``."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedserver.storage import audit, principals
from feedserver.storage.models import ApiKey
from feedserver.storage.principals import Principal
from feedserver.storage.tokens import digest, new_secret


def create_key(
    session: Session,
    role: str,
    now: dt.datetime,
    school_id: str | None = None,
    label: str = "",
    actor: str = "cli",
) -> str:
    """Make a key, store its hash, and return the key (shown once)."""
    if role not in {"admin", "school"} or (role == "school") != (school_id is not None):
        raise ValueError("an admin key has no school; a school key names one")
    secret = new_secret()
    session.add(
        ApiKey(key_hash=digest(secret), role=role, school_id=school_id, label=label, created_at=now)
    )
    session.flush()
    audit.record(session, now, actor, f"key.create.{role}", school_id, label=label)
    return secret


def bearer_secret(header: str | None) -> str | None:
    """The key in an ``Authorization: Bearer <key>`` header (the scheme in any case), or None."""
    scheme, _, secret = (header or "").strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        return None
    return secret


def principal_for(session: Session, header: str | None) -> Principal | None:
    """The caller a bearer header identifies, or None for a missing, unknown or revoked key."""
    secret = bearer_secret(header)
    if secret is None:
        return None
    key = session.scalars(
        select(ApiKey).where(ApiKey.key_hash == digest(secret), ApiKey.revoked_at.is_(None))
    ).first()
    if key is None:
        return None
    return principals.of_key(key)
