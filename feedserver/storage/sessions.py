"""Page sessions kept on the server, so that signing out (and taking access away) ends them.

The browser's cookie carries a random secret; only its hash is stored. A session is live until
it expires, is ended (signed out), or its person is disabled or its key revoked: each of these
is checked on every page request, and disabling or revoking also ends every session at once.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from feedserver.storage import principals
from feedserver.storage.models import ApiKey, PageSession, User
from feedserver.storage.principals import Principal
from feedserver.storage.tokens import digest, new_secret

SESSION_HOURS = 8
SEEN_EVERY = dt.timedelta(minutes=5)  # last_seen_at is written at most this often
KEPT_AFTER_END = dt.timedelta(days=30)  # then a session's row is deleted (SECURITY.md)


class Ended(StrEnum):
    """Why a session ended (stored; shown to the admin in words)."""

    SIGNED_OUT = "signed out"
    USER_DISABLED = "user disabled"
    KEY_REVOKED = "key revoked"
    ENDED_BY_ADMIN = "ended by admin"


def start(
    session: Session, now: dt.datetime, *, user_id: int | None = None, key_id: int | None = None
) -> str:
    """A new session for a person or a key; the secret for the cookie (stored hashed)."""
    if (user_id is None) == (key_id is None):
        raise ValueError("a session belongs to one user or one key")
    forget_old(session, now)
    secret = new_secret()
    session.add(
        PageSession(
            secret_hash=digest(secret),
            user_id=user_id,
            key_id=key_id,
            created_at=now,
            expires_at=now + dt.timedelta(hours=SESSION_HOURS),
            last_seen_at=now,
        )
    )
    session.flush()
    return secret


def forget_old(session: Session, now: dt.datetime) -> None:
    """Delete sessions that ended or expired more than ``KEPT_AFTER_END`` ago."""
    cutoff = now - KEPT_AFTER_END
    session.execute(
        delete(PageSession)
        .where(or_(PageSession.expires_at < cutoff, PageSession.ended_at < cutoff))
        .execution_options(synchronize_session=False)
    )


def principal_for(session: Session, secret: str, now: dt.datetime) -> Principal | None:
    """Who a live session's secret signs in, or None (unknown, ended, expired, taken away)."""
    row = session.scalars(
        select(PageSession).where(PageSession.secret_hash == digest(secret))
    ).first()
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    found: Principal | None = None
    if row.user_id is not None:
        user = session.get(User, row.user_id)
        if user is not None and user.disabled_at is None:
            found = principals.of_user(user, row.id)
        reason = Ended.USER_DISABLED
    else:
        key = session.get(ApiKey, row.key_id)
        if key is not None and key.revoked_at is None:
            found = principals.of_key(key, row.id)
        reason = Ended.KEY_REVOKED
    if found is None:
        row.ended_at, row.end_reason = now, reason
    elif now - row.last_seen_at >= SEEN_EVERY:
        row.last_seen_at = now
    return found


def end(session: Session, secret: str, now: dt.datetime, reason: Ended = Ended.SIGNED_OUT) -> None:
    """End the session ``secret`` opens (nothing when it is unknown or already ended)."""
    session.execute(
        update(PageSession)
        .where(PageSession.secret_hash == digest(secret), PageSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason.value)
        .execution_options(synchronize_session=False)
    )


def end_all(
    session: Session,
    now: dt.datetime,
    reason: Ended,
    *,
    user_id: int | None = None,
    key_id: int | None = None,
) -> int:
    """End every live session of a person or of a key; how many were live."""
    owner = PageSession.user_id == user_id if user_id is not None else PageSession.key_id == key_id
    ended = session.execute(
        update(PageSession)
        .where(owner, PageSession.ended_at.is_(None), PageSession.expires_at > now)
        .values(ended_at=now, end_reason=reason.value)
        .returning(PageSession.id)
        .execution_options(synchronize_session=False)
    ).all()
    return len(ended)


def live_counts(session: Session, now: dt.datetime) -> tuple[dict[int, int], dict[int, int]]:
    """Live sessions by user id and by key id (for the admin's pages)."""
    rows = session.execute(
        select(PageSession.user_id, PageSession.key_id).where(
            PageSession.ended_at.is_(None), PageSession.expires_at > now
        )
    ).all()
    by_user: dict[int, int] = {}
    by_key: dict[int, int] = {}
    for user_id, key_id in rows:
        if user_id is not None:
            by_user[user_id] = by_user.get(user_id, 0) + 1
        if key_id is not None:
            by_key[key_id] = by_key.get(key_id, 0) + 1
    return by_user, by_key
