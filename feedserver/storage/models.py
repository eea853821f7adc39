"""Database tables (SQLAlchemy 2 declarative). Alembic migrations in ``feedserver/migrations``.

Secrets are never stored in clear: feed tokens and API keys are kept as SHA-256 hashes (they are
long random strings, so a plain hash is enough to make a stolen database useless for access).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        """Store as UTC; refuse naive datetimes (a clock bug, not data)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        """Read back as aware UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Base of every table."""

    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON()}


class School(Base):
    """A school and its profile (stored as the validated profile's JSON)."""

    __tablename__ = "schools"

    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    la_code: Mapped[str] = mapped_column(String(3), index=True)
    profile: Mapped[dict[str, Any]]
    profile_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    evaluated_fingerprint: Mapped[str | None] = mapped_column(String(64), default=None)
    evaluated_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    events_changed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    warnings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # pack slug -> fingerprint of the pack version last evaluated (what changed since, and why)
    evaluated_packs: Mapped[dict[str, Any]] = mapped_column(default=dict)

    feeds: Mapped[list[Feed]] = relationship(back_populates="school", cascade="all, delete-orphan")


class PackVersion(Base):
    """One immutable published version of a pack; the highest revision of a slug is live."""

    __tablename__ = "pack_versions"
    __table_args__ = (UniqueConstraint("slug", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(60), index=True)
    revision: Mapped[int]
    version_label: Mapped[str] = mapped_column(String(40))
    publisher_kind: Mapped[str] = mapped_column(String(20))
    publisher_code: Mapped[str | None] = mapped_column(String(40), index=True)
    school_id: Mapped[str | None] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), default=None, index=True
    )
    content: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    # rule id -> the day its publisher last changed it (set at publish time, never by the author)
    rule_changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note: Mapped[str] = mapped_column(Text, default="")  # the publisher's note on this version
    rolled_back_from: Mapped[int | None] = mapped_column(default=None)  # the revision restored


class EventRow(Base):
    """One event of a school's current window, with its revision history.

    Rows that drop out of the evaluation are kept (``active`` false) so that an event which comes
    back continues its SEQUENCE instead of restarting at 0, which clients would ignore.
    """

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_school_year", "school_id", "academic_year"),)

    school_id: Mapped[str] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True
    )
    uid: Mapped[str] = mapped_column(String(300), primary_key=True)
    academic_year: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    last_day: Mapped[dt.date] = mapped_column(Date)  # the last day it covers (what is past)
    sequence: Mapped[int] = mapped_column(default=0)
    body: Mapped[dict[str, Any]]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    first_seen: Mapped[dt.datetime]
    last_modified: Mapped[dt.datetime]


class Feed(Base):
    """One school's feed for one audience, with its pre-rendered bytes.

    Only the gzipped bytes are stored: a feed compresses about 6:1 and calendar clients ask
    for gzip; a worker decompresses once for the rare client that does not.
    """

    __tablename__ = "feeds"
    __table_args__ = (UniqueConstraint("school_id", "audience"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    audience: Mapped[str] = mapped_column(String(20))
    window_start: Mapped[int | None] = mapped_column(default=None)
    ics_gzip: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    etag: Mapped[str | None] = mapped_column(String(80), default=None)
    content_changed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    event_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime]

    school: Mapped[School] = relationship(back_populates="feeds")
    tokens: Mapped[list[FeedToken]] = relationship(
        back_populates="feed", cascade="all, delete-orphan"
    )


class FeedToken(Base):
    """A named secret token that reaches one feed (one per subscriber group); revocable."""

    __tablename__ = "feed_tokens"
    __table_args__ = (
        # One working token per name and feed, held by the database (two requests at once).
        Index(
            "uq_feed_tokens_live_name",
            "feed_id",
            "name",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
            sqlite_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # to ~10 minutes

    feed: Mapped[Feed] = relationship(back_populates="tokens")


class ApiKey(Base):
    """An API key: the instance admin's, or one school's. Stored hashed."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))  # "admin" | "school"
    school_id: Mapped[str | None] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), default=None, index=True
    )
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # to ~10 minutes
    la_code: Mapped[str | None] = mapped_column(
        ForeignKey("local_authorities.code", ondelete="CASCADE"), default=None, index=True
    )
    changes_seen_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # "What changed"


class AuditEntry(Base):
    """Who changed what, when (never holds a secret)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    school_id: Mapped[str | None] = mapped_column(String(60), default=None, index=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class User(Base):
    """A person who signs in to the pages: the instance admin, or one school's admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))  # "admin" | "school"
    school_id: Mapped[str | None] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), default=None, index=True
    )
    created_at: Mapped[dt.datetime]
    disabled_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    la_code: Mapped[str | None] = mapped_column(
        ForeignKey("local_authorities.code", ondelete="CASCADE"), default=None, index=True
    )
    changes_seen_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # "What changed"


class SignInLink(Base):
    """A personal, single-use, expiring sign-in link (stored hashed)."""

    __tablename__ = "sign_in_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship()


class PageSession(Base):
    """A signed-in browser: the cookie holds a secret, the database its hash and its state.

    Ending a session (signing out, disabling the person, revoking the key it was opened with)
    sets ``ended_at``; a copied cookie is worthless from then on.
    """

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None, index=True
    )
    key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), default=None, index=True
    )
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    end_reason: Mapped[str | None] = mapped_column(String(20), default=None)


class Problem(Base):
    """A typed record of something a job could not do, or found missing; shown in words.

    ``kind`` is a :class:`feedserver.storage.problems.ProblemKind`; ``details`` holds its data
    (ids, dates, rule refs), never sentences, so rewording a page never breaks anything.
    """

    __tablename__ = "problems"
    __table_args__ = (UniqueConstraint("source", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(60))  # the job that found it
    subject: Mapped[str] = mapped_column(String(120))  # what it is about: a school id, "instance"
    school_id: Mapped[str | None] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), default=None, index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attempts: Mapped[int] = mapped_column(default=1)
    first_at: Mapped[dt.datetime]
    last_at: Mapped[dt.datetime]


class Connection(Base):
    """A school's remote calendar (Google or Microsoft 365) that one audience is pushed into.

    ``tag`` is written into every event we push, so the remote's own copy tells which events are
    ours whatever happens to the ledger. Credentials are kept sealed (``secretbox``), never in
    clear and never logged.
    """

    __tablename__ = "connections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(20))  # "google" | "microsoft"
    audience: Mapped[str] = mapped_column(String(20))
    tag: Mapped[str] = mapped_column(String(40), unique=True)
    auth_kind: Mapped[str] = mapped_column(String(20))  # "service_account" | "oauth" | ...
    account: Mapped[str] = mapped_column(String(200))  # the user (or mailbox) acted as
    calendar_id: Mapped[str | None] = mapped_column(String(1100), default=None)
    calendar_name: Mapped[str] = mapped_column(String(200), default="")
    dedicated: Mapped[bool] = mapped_column(Boolean, default=False)
    share_with: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"addresses": [...]}
    secret: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    state: Mapped[str] = mapped_column(String(20), default="active")
    stop_reason: Mapped[str | None] = mapped_column(String(40), default=None)
    waiting: Mapped[dict[str, Any]] = mapped_column(default=dict)  # a transient failure
    last_sync_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(100), default="")


class LedgerRow(Base):
    """What we last wrote for one event of one connection (the remote stays the truth)."""

    __tablename__ = "sync_ledger"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    identity: Mapped[str] = mapped_column(String(300), default="")
    remote_id: Mapped[str] = mapped_column(String(1100))
    content_hash: Mapped[str] = mapped_column(String(40))
    last_day: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20))
    synced_at: Mapped[dt.datetime]


class DryRun(Base):
    """A check of what publishing a pack would do to each of an LA's schools (nothing published).

    ``results`` holds one record per school checked so far (``pipeline.dryrun.SchoolEffect``).
    """

    __tablename__ = "dry_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    la_code: Mapped[str] = mapped_column(String(3), index=True)
    slug: Mapped[str] = mapped_column(String(60))
    content: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="waiting")  # waiting|running|done|failed
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    results: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"schools": [...]}
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(100), default="")


class EventChange(Base):
    """An entry a pack's new version moved, added, reworded or removed at one school.

    Written by refresh for the packs whose version changed since the school was last evaluated
    (not for the school's own edits); the school's "What changed" page lists them.
    """

    __tablename__ = "event_changes"
    __table_args__ = (Index("ix_event_changes_school_at", "school_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime]
    uid: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))  # added | moved | reworded | removed
    pack: Mapped[str] = mapped_column(String(60))
    revision: Mapped[int | None] = mapped_column(default=None)  # the pack version, if published
    title: Mapped[str] = mapped_column(String(300))
    old_start: Mapped[dt.date | None] = mapped_column(Date, default=None)
    new_start: Mapped[dt.date | None] = mapped_column(Date, default=None)


class LocalAuthority(Base):
    """A local authority whose officers publish its own packs (``storage.las``)."""

    __tablename__ = "local_authorities"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)  # the DfE three-digit code
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime]


class RosterRow(Base):
    """A school's EHCP roster, sealed with the server's key set (``storage.roster``).

    One sealed document per school: no pupil reference or date is readable in the database.
    ``fingerprint`` (:func:`rules.roster.roster_fingerprint`) tells refresh when it changed.
    """

    __tablename__ = "ehcp_rosters"

    school_id: Mapped[str] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True
    )
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    fingerprint: Mapped[str] = mapped_column(String(64))
    pupils: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[dt.datetime]
    updated_by: Mapped[str] = mapped_column(String(100), default="")
