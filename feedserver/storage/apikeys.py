"""API keys: the instance admin's and per-school keys, sent as ``Authorization: Bearer <key>``.

A key is stored as the hash of its secret. Revoking one stops it at once, for the API and for
every page session it opened.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedserver.storage import audit, principals, sessions
from feedserver.storage.models import ApiKey
from feedserver.storage.plaintext import one_line
from feedserver.storage.principals import Principal
from feedserver.storage.tokens import digest, new_secret, stale_use
from rules.errors import SencocalInputError

MAX_LABEL = 100


class KeyNotFound(SencocalInputError):
    """No API key has that number."""


def create_key(
    session: Session,
    role: str,
    now: dt.datetime,
    school_id: str | None = None,
    label: str = "",
    actor: str = "cli",
    la_code: str | None = None,
) -> str:
    """Make a key, store its hash, and return the key (shown once)."""
    if role not in principals.ROLES or not principals.scope_ok(role, school_id, la_code):
        raise ValueError("an admin key has no scope; a school key names a school, an LA key an LA")
    label = one_line(label, "key's label", MAX_LABEL)
    secret = new_secret()
    key = ApiKey(
        key_hash=digest(secret), role=role, school_id=school_id, la_code=la_code, label=label,
        created_at=now,
    )  # fmt: skip
    session.add(key)
    session.flush()
    audit.record(session, now, actor, f"key.create.{role}", school_id, key=key.id, label=label,
                 **({"la": la_code} if la_code else {}))  # fmt: skip
    return secret


def bearer_secret(header: str | None) -> str | None:
    """The key in an ``Authorization: Bearer <key>`` header (the scheme in any case), or None."""
    scheme, _, secret = (header or "").strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        return None
    return secret


def live_key(session: Session, secret: str) -> ApiKey | None:
    """The unrevoked key ``secret`` is, or None."""
    return session.scalars(
        select(ApiKey).where(ApiKey.key_hash == digest(secret.strip()), ApiKey.revoked_at.is_(None))
    ).first()


def principal_for(
    session: Session, header: str | None, now: dt.datetime | None = None
) -> Principal | None:
    """The caller a bearer header identifies, or None for a missing, unknown or revoked key.

    With ``now``, the key's last use is recorded (at most every ten minutes).
    """
    secret = bearer_secret(header)
    if secret is None:
        return None
    key = live_key(session, secret)
    if key is None:
        return None
    if now is not None:
        used(key, now)
    return principals.of_key(key)


def used(key: ApiKey, now: dt.datetime) -> None:
    """Record a use of ``key`` (written at most every ten minutes)."""
    if stale_use(key.last_used_at, now):
        key.last_used_at = now


def all_keys(session: Session) -> list[ApiKey]:
    """Every key, working ones first, newest first."""
    keys = session.scalars(select(ApiKey).order_by(ApiKey.id.desc())).all()
    return sorted(keys, key=lambda k: k.revoked_at is not None)


def revoke(session: Session, key_id: int, actor: str, now: dt.datetime) -> ApiKey:
    """Revoke a key: the API refuses it and every page session it opened ends, at once.

    Revoking a key that is already revoked changes nothing.

    Raises:
        KeyNotFound: no key has that number.
    """
    key = session.get(ApiKey, key_id, with_for_update=True)
    if key is None:
        raise KeyNotFound(f"there is no API key number {key_id}.")
    if key.revoked_at is None:
        key.revoked_at = now
        ended = sessions.end_all(session, now, sessions.Ended.KEY_REVOKED, key_id=key.id)
        audit.record(session, now, actor, f"key.revoke.{key.role}", key.school_id, key=key.id,
                     label=key.label, sessions_ended=ended)  # fmt: skip
    return key
