"""Feeds and their named secret tokens: create, add, rotate, revoke, and find by token."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedserver.storage import audit
from feedserver.storage.models import Feed, FeedToken, School
from feedserver.storage.tokens import digest, new_secret
from rules.errors import SencocalInputError
from rules.vocabulary import AUDIENCE_ORDER

AUDIENCES: tuple[str, ...] = tuple(a.value for a in AUDIENCE_ORDER)  # one feed each, this order
TOKEN_NAME = re.compile(r"^[a-z0-9][a-z0-9 _-]{0,59}$")


class SubscriptionError(SencocalInputError):
    """A feed or token request that cannot be carried out (the message says why)."""


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
    feed = Feed(school_id=school.id, audience=audience, created_at=now, event_count=0)
    school.feeds.append(feed)
    session.flush()
    audit.record(session, now, actor, "feed.create", school.id, audience=audience)
    return feed


def active_tokens(feed: Feed) -> list[FeedToken]:
    """The feed's tokens that still work, oldest first."""
    return sorted((t for t in feed.tokens if t.revoked_at is None), key=lambda t: t.id)


def add_token(session: Session, feed: Feed, name: str, actor: str, now: dt.datetime) -> str:
    """Create a named token for ``feed`` and return the secret (shown once, stored hashed).

    Raises:
        SubscriptionError: the name is malformed or already in use on this feed.
    """
    name = name.strip().lower()
    if not TOKEN_NAME.match(name):
        raise SubscriptionError(
            "a token name is 1-60 lower-case letters, digits, spaces, '-' or '_' (e.g. 'slt team')."
        )
    if any(t.name == name for t in active_tokens(feed)):
        raise SubscriptionError(
            f"this feed already has a token called '{name}'; rotate or revoke it."
        )
    secret = new_secret()
    feed.tokens.append(FeedToken(name=name, token_hash=digest(secret), created_at=now))
    session.flush()
    audit.record(
        session, now, actor, "token.add", feed.school_id, audience=feed.audience, name=name
    )
    return secret


def revoke_token(session: Session, feed: Feed, name: str, actor: str, now: dt.datetime) -> None:
    """Stop the named token working.

    Raises:
        SubscriptionError: no active token of that name.
    """
    token = _named(feed, name)
    token.revoked_at = now
    session.flush()
    audit.record(
        session, now, actor, "token.revoke", feed.school_id, audience=feed.audience, name=token.name
    )


def rotate_token(session: Session, feed: Feed, name: str, actor: str, now: dt.datetime) -> str:
    """Replace the named token with a new secret (the old one stops working)."""
    token = _named(feed, name)
    token.revoked_at = now
    session.flush()
    secret = new_secret()
    feed.tokens.append(FeedToken(name=token.name, token_hash=digest(secret), created_at=now))
    session.flush()
    audit.record(
        session, now, actor, "token.rotate", feed.school_id, audience=feed.audience, name=token.name
    )
    return secret


def _named(feed: Feed, name: str) -> FeedToken:
    wanted = name.strip().lower()
    for token in active_tokens(feed):
        if token.name == wanted:
            return token
    raise SubscriptionError(f"this feed has no active token called '{wanted}'.")


def feed_for_token(session: Session, secret: str) -> Feed | None:
    """The feed a live token reaches, or None (unknown and revoked look the same)."""
    return session.scalars(
        select(Feed)
        .join(FeedToken)
        .where(FeedToken.token_hash == digest(secret), FeedToken.revoked_at.is_(None))
    ).first()
