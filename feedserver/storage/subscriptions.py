"""Feeds and their named secret tokens: create, add, rotate, revoke, and find by token."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from feedserver.storage import audit
from feedserver.storage.db import Conflict, insert_new
from feedserver.storage.models import Feed, FeedToken, School
from feedserver.storage.tokens import digest, new_secret, stale_use
from rules.errors import SencocalInputError
from rules.vocabulary import AUDIENCE_ORDER

AUDIENCES: tuple[str, ...] = tuple(a.value for a in AUDIENCE_ORDER)  # one feed each, this order
TOKEN_NAME = re.compile(r"^[a-z0-9][a-z0-9 _-]{0,59}$")
LIVE_NAME = FeedToken.revoked_at.is_(None)  # the partial unique index's condition


class SubscriptionError(SencocalInputError):
    """A feed or token request that cannot be carried out (the message says why)."""


class NameInUse(SubscriptionError, Conflict):
    """The feed already has a working link of that name (perhaps made a moment ago)."""


def normal_name(name: str) -> str:
    """A token name as it is stored and matched (trimmed, lower case)."""
    return name.strip().lower()


def feed_url(base_url: str, token: str) -> str:
    """The subscribe address for ``token``."""
    return f"{base_url}/feeds/{token}.ics"


def ensure_feed(
    session: Session, school: School, audience: str, actor: str, now: dt.datetime
) -> Feed:
    """The school's feed for ``audience``, created if it does not exist yet."""
    for feed in school.feeds:
        if feed.audience == audience:
            return feed
    made = insert_new(
        session,
        Feed,
        {"school_id": school.id, "audience": audience, "created_at": now, "event_count": 0},
        key=["school_id", "audience"],
    )
    if made:  # else another request made it a moment ago: use that one
        audit.record(session, now, actor, "feed.create", school.id, audience=audience)
    session.expire(school, ["feeds"])
    return session.scalars(select(Feed).filter_by(school_id=school.id, audience=audience)).one()


def active_tokens(feed: Feed) -> list[FeedToken]:
    """The feed's tokens that still work, oldest first."""
    return sorted((t for t in feed.tokens if t.revoked_at is None), key=lambda t: t.id)


def add_token(session: Session, feed: Feed, name: str, actor: str, now: dt.datetime) -> str:
    """Create a named token for ``feed`` and return the secret (shown once, stored hashed).

    Raises:
        SubscriptionError: the name is malformed.
        NameInUse: the feed already has a working token of that name.
    """
    name = normal_name(name)
    if not TOKEN_NAME.match(name):
        raise SubscriptionError(
            "a token name is 1-60 lower-case letters, digits, spaces, '-' or '_' (e.g. 'slt team')."
        )
    secret = _insert_token(session, feed, name, now)
    audit.record(
        session, now, actor, "token.add", feed.school_id, audience=feed.audience, name=name
    )
    return secret


def _insert_token(session: Session, feed: Feed, name: str, now: dt.datetime) -> str:
    """Insert a live token named ``name`` (one live name per feed, held by a unique index)."""
    secret = new_secret()
    values = {"feed_id": feed.id, "name": name, "token_hash": digest(secret), "created_at": now}
    if not insert_new(session, FeedToken, values, ["feed_id", "name"], LIVE_NAME):
        raise NameInUse(f"this feed already has a token called '{name}'; rotate or revoke it.")
    session.expire(feed, ["tokens"])
    return secret


def revoke_token(session: Session, feed: Feed, name: str, actor: str, now: dt.datetime) -> None:
    """Stop the named token working.

    Raises:
        SubscriptionError: no active token of that name.
    """
    wanted = _revoke(session, feed, name, now)
    audit.record(
        session, now, actor, "token.revoke", feed.school_id, audience=feed.audience, name=wanted
    )


def rotate_token(session: Session, feed: Feed, name: str, actor: str, now: dt.datetime) -> str:
    """Replace the named token with a new secret (the old one stops working)."""
    wanted = _revoke(session, feed, name, now)
    secret = _insert_token(session, feed, wanted, now)
    audit.record(
        session, now, actor, "token.rotate", feed.school_id, audience=feed.audience, name=wanted
    )
    return secret


def _revoke(session: Session, feed: Feed, name: str, now: dt.datetime) -> str:
    """Revoke the live token ``name`` in one conditional UPDATE (a racing revoke finds none)."""
    wanted = normal_name(name)
    result = session.execute(
        update(FeedToken)
        .where(FeedToken.feed_id == feed.id, FeedToken.name == wanted, LIVE_NAME)
        .values(revoked_at=now)
        .returning(FeedToken.id)
        .execution_options(synchronize_session=False)
    )
    if result.first() is None:
        raise SubscriptionError(f"this feed has no active token called '{wanted}'.")
    session.expire(feed, ["tokens"])
    return wanted


def feed_for_token(session: Session, secret: str, now: dt.datetime | None = None) -> Feed | None:
    """The feed a live token reaches, or None (unknown and revoked look the same).

    With ``now``, the token's last use is recorded (at most every ten minutes, so serving a
    feed almost never writes).
    """
    found = session.execute(
        select(Feed, FeedToken.id, FeedToken.last_used_at)
        .join(FeedToken)
        .where(FeedToken.token_hash == digest(secret), FeedToken.revoked_at.is_(None))
    ).first()
    if found is None:
        return None
    feed, token_id, last_used = found
    if now is not None and stale_use(last_used, now):
        session.execute(
            update(FeedToken)
            .where(FeedToken.id == token_id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
    return feed


def live_links(session: Session) -> list[tuple[School, Feed, FeedToken]]:
    """Every working feed token with its feed and school, by school, audience and name."""
    rows = session.execute(
        select(School, Feed, FeedToken)
        .join(Feed, Feed.school_id == School.id)
        .join(FeedToken, FeedToken.feed_id == Feed.id)
        .where(FeedToken.revoked_at.is_(None))
    ).all()
    return sorted(
        ((school, feed, token) for school, feed, token in rows),
        key=lambda r: (r[0].name, AUDIENCES.index(r[1].audience), r[2].name),
    )


def revoke_token_by_id(
    session: Session, token_id: int, actor: str, now: dt.datetime
) -> tuple[Feed, str]:
    """Revoke one working token by its number (the admin's list); its feed and name.

    Raises:
        SubscriptionError: no working token has that number.
    """
    token = session.get(FeedToken, token_id)
    if token is None or token.revoked_at is not None:
        raise SubscriptionError("that link was already revoked.")
    feed = token.feed
    revoke_token(session, feed, token.name, actor, now)
    return feed, token.name
