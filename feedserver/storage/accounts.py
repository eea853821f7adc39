"""People who sign in to the pages, and their personal single-use sign-in links.

The instance admin adds people (each with a scope: a school, for now), disables and re-enables
them, and sees and cancels the links that have not been used yet. Disabling someone ends every
session they have at once. A link is stored only as the hash of its secret.

Using a link is a single conditional UPDATE ("mark it used where it is still unused, not
cancelled and not expired"), so of any number of requests carrying one link at once, across
processes and machines, exactly one succeeds.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.orm import Session, selectinload

from feedserver.storage import audit, principals, sessions
from feedserver.storage.models import LocalAuthority, School, SignInLink, User
from feedserver.storage.plaintext import PlainTextError, one_line
from feedserver.storage.tokens import digest, new_secret
from rules.errors import SencocalInputError

LINK_HOURS = 72
LINKS_KEPT = dt.timedelta(days=30)  # after expiring, then deleted (SECURITY.md)
MAX_NAME = 100
MAX_EMAIL = 200


class AccountError(SencocalInputError):
    """A request about a person or a link that cannot be carried out (the message says why).

    ``field`` names the input at fault (``name``, ``email``, ``school_id``), when one is.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NoSuchAccount(AccountError):
    """No person or link has that number (or the link can no longer be cancelled)."""


def create_user(
    session: Session,
    name: str,
    email: str,
    role: str,
    school_id: str | None,
    actor: str,
    now: dt.datetime,
    la_code: str | None = None,
) -> User:
    """Add a person who may sign in, with their scope (``school`` and its id, or ``admin``).

    Raises:
        AccountError: naming what is wrong (name, email, school).
    """
    try:
        name = one_line(name, "person's name", MAX_NAME, required=True)
    except PlainTextError as exc:
        raise AccountError(str(exc), "name") from None
    try:
        email = one_line(email, "email address", MAX_EMAIL)
    except PlainTextError as exc:
        raise AccountError(str(exc), "email") from None
    if " " in email:
        raise AccountError("that email address is not valid (it has a space).", "email")
    if role not in principals.ROLES or not principals.scope_ok(role, school_id, la_code):
        raise AccountError(
            "an instance admin has no school or LA; a school admin has a school; an LA officer "
            "has an LA.",
            "school_id",
        )
    if school_id is not None and session.get(School, school_id) is None:
        raise AccountError("choose a school that exists.", "school_id")
    if la_code is not None and session.get(LocalAuthority, la_code) is None:
        raise AccountError("choose an LA that exists.", "la_code")
    user = User(name=name, email=email, role=role, school_id=school_id, la_code=la_code,
                created_at=now)  # fmt: skip
    session.add(user)
    session.flush()
    audit.record(session, now, actor, "user.create", school_id, user=user.id, name=name,
                 **({"la": la_code} if la_code else {}))  # fmt: skip
    return user


def get_user(session: Session, user_id: int) -> User:
    """The person with that number.

    Raises:
        AccountError: there is none.
    """
    user = session.get(User, user_id)
    if user is None:
        raise NoSuchAccount(f"there is no person number {user_id}.")
    return user


def disable(session: Session, user_id: int, actor: str, now: dt.datetime) -> User:
    """Stop a person signing in: their sessions end now and their unused links stop working."""
    user = get_user(session, user_id)
    if user.disabled_at is None:
        user.disabled_at = now
        ended = sessions.end_all(session, now, sessions.Ended.USER_DISABLED, user_id=user.id)
        session.execute(
            update(SignInLink)
            .where(SignInLink.user_id == user.id, *_outstanding(now))
            .values(cancelled_at=now)
            .execution_options(synchronize_session=False)
        )
        audit.record(session, now, actor, "user.disable", user.school_id, user=user.id,
                     name=user.name, sessions_ended=ended)  # fmt: skip
    return user


def enable(session: Session, user_id: int, actor: str, now: dt.datetime) -> User:
    """Let a disabled person sign in again (with a new link: the old ones stay cancelled)."""
    user = get_user(session, user_id)
    if user.disabled_at is not None:
        user.disabled_at = None
        audit.record(
            session, now, actor, "user.enable", user.school_id, user=user.id, name=user.name
        )
    return user


def everyone(session: Session) -> list[User]:
    """Every person, by school then name (the admins first)."""
    people = session.scalars(select(User)).all()
    return sorted(people, key=lambda u: (u.school_id is not None, u.school_id or "", u.name))


def _outstanding(now: dt.datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        SignInLink.used_at.is_(None),
        SignInLink.cancelled_at.is_(None),
        SignInLink.expires_at > now,
    )


def outstanding_links(session: Session, now: dt.datetime) -> list[SignInLink]:
    """Links not yet used, cancelled or expired, newest first (with their people)."""
    return list(
        session.scalars(
            select(SignInLink)
            .where(*_outstanding(now))
            .options(selectinload(SignInLink.user))
            .order_by(SignInLink.id.desc())
        )
    )


def cancel_link(session: Session, link_id: int, actor: str, now: dt.datetime) -> SignInLink:
    """Stop an unused link working.

    Raises:
        AccountError: no such link, or it was used, cancelled or has expired already.
    """
    cancelled = session.execute(
        update(SignInLink)
        .where(SignInLink.id == link_id, *_outstanding(now))
        .values(cancelled_at=now)
        .returning(SignInLink.id)
        .execution_options(synchronize_session=False)
    ).first()
    link = session.get(SignInLink, link_id)
    if cancelled is None or link is None:
        raise NoSuchAccount("that sign-in link was already used, cancelled or has expired.")
    session.refresh(link)
    audit.record(session, now, actor, "link.cancel", link.user.school_id, user=link.user_id,
                 name=link.user.name)  # fmt: skip
    return link


def new_link(session: Session, user: User, actor: str, now: dt.datetime) -> str:
    """A personal sign-in link secret for ``user`` (shown once; only its hash is kept).

    Raises:
        AccountError: the person is disabled (enable them first).
    """
    if user.disabled_at is not None:
        raise AccountError(f"{user.name} is disabled; enable them before making a link.")
    session.execute(
        delete(SignInLink)
        .where(SignInLink.expires_at < now - LINKS_KEPT)
        .execution_options(synchronize_session=False)
    )
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
    audit.record(session, now, actor, "user.link", user.school_id, user=user.id, name=user.name)
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
            *_outstanding(now),
        )
        .values(used_at=now)
        .returning(SignInLink.user_id)
    ).first()
    if used is None:
        return None
    user = session.get(User, used.user_id)
    if user is None or user.disabled_at is not None:
        return None
    actor = principals.of_user(user).actor
    audit.record(session, now, actor, "user.sign_in", user.school_id, user=user.id, name=user.name)
    return user
