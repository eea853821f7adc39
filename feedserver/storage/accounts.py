"""People who sign in to the pages, and their personal single-use sign-in links.

A link is stored only as the hash of its secret. Using one is a single conditional UPDATE
("mark it used where it is still unused, not cancelled and not expired"), so of any number of
requests carrying one link at once, across processes and machines, exactly one succeeds.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.orm import Session

from feedserver.storage import audit
from feedserver.storage.models import SignInLink, User
from feedserver.storage.tokens import digest, new_secret

LINK_HOURS = 72


def new_link(session: Session, user: User, actor: str, now: dt.datetime) -> str:
    """A personal sign-in link secret for ``user`` (shown once; only its hash is kept)."""
    secret = new_secret()
    session.add(
        SignInLink(
            token_hash=digest(secret),
            user_id=user.id,
            created_at=now,
            expires_at=now + dt.timedelta(hours=LINK_HOURS),
        )
    )
    session.flush()
    audit.record(session, now, actor, "user.link", user.school_id, user=user.name)
    return secret


def use_link(session: Session, secret: str, now: dt.datetime) -> User | None:
    """The user a live, unused link belongs to, the link used up at once; or None.

    The check and the use are one statement: a second request with the same link waits for the
    first's row lock (PostgreSQL) or write lock (SQLite), then finds it used.
    """
    used = session.execute(
        update(SignInLink)
        .where(
            SignInLink.token_hash == digest(secret),
            SignInLink.used_at.is_(None),
            SignInLink.expires_at > now,
        )
        .values(used_at=now)
        .returning(SignInLink.user_id)
    ).first()
    if used is None:
        return None
    user = session.get(User, used.user_id)
    if user is None or user.disabled_at is not None:
        return None
    audit.record(
        session, now, f"school:{user.school_id}:{user.name}", "user.sign_in", user.school_id
    )
    return user
