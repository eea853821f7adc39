"""A school's remote-calendar connections, their sealed credentials, and their sync ledgers.

A connection's credentials (a service-account key, a refresh token) are sealed with the server's
key set and opened only to build a client for one sync. The ledger is written batch by batch
in transactions of its own, so a sync that dies half-way keeps what it recorded; the remote's
own tags remain the truth (``connectors.plan``).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from connectors.model import LedgerEntry, LedgerState
from feedserver.storage.db import Database
from feedserver.storage.models import Connection, LedgerRow
from feedserver.storage.secretbox import SecretBox

LOCK_CLASS = 8231  # pg advisory lock namespace for "a sync of connection N is running"


class State(StrEnum):
    """Where a connection stands."""

    ACTIVE = "active"  # synced after every change
    STOPPED = "stopped"  # a person must act (consent withdrawn, calendar deleted); see stop_reason
    DISCONNECTING = "disconnecting"  # being switched off (and emptied, if asked)
    DISCONNECTED = "disconnected"  # switched off; credentials wiped


@dataclass(frozen=True)
class Snapshot:
    """A connection's settings and opened credentials, read for one sync (no session held)."""

    id: int
    school_id: str
    provider: str
    audience: str
    tag: str
    auth_kind: str
    account: str
    calendar_id: str | None
    calendar_name: str
    dedicated: bool
    share_with: tuple[str, ...]
    secret: dict[str, Any]
    state: State


def create(
    session: Session,
    box: SecretBox,
    *,
    school_id: str,
    provider: str,
    audience: str,
    auth_kind: str,
    account: str,
    secret: Mapping[str, Any],
    now: dt.datetime,
    calendar_id: str | None = None,
    calendar_name: str = "",
    share_with: Sequence[str] = (),
    created_by: str = "",
) -> Connection:
    """Add a connection (the caller commits and queues its first sync)."""
    row = Connection(
        school_id=school_id,
        provider=provider,
        audience=audience,
        tag="c" + secrets.token_hex(10),
        auth_kind=auth_kind,
        account=account,
        calendar_id=calendar_id,
        calendar_name=calendar_name,
        dedicated=calendar_id is None,
        share_with={"addresses": list(share_with)},
        secret=box.seal(json.dumps(dict(secret))),
        state=State.ACTIVE.value,
        waiting={},
        last_result={},
        created_at=now,
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    return row


def for_school(session: Session, school_id: str) -> list[Connection]:
    """The school's connections that are not disconnected, oldest first."""
    return list(
        session.scalars(
            select(Connection)
            .where(Connection.school_id == school_id, Connection.state != State.DISCONNECTED)
            .order_by(Connection.id)
        )
    )


def active_ids(session: Session, school_id: str | None = None) -> list[int]:
    """Ids of the active connections (of one school, or all)."""
    query = select(Connection.id).where(Connection.state == State.ACTIVE.value)
    if school_id is not None:
        query = query.where(Connection.school_id == school_id)
    return list(session.scalars(query.order_by(Connection.id)))


def snapshot(row: Connection, box: SecretBox) -> Snapshot:
    """The connection's settings with its credentials opened."""
    secret = json.loads(box.open(row.secret)) if row.secret is not None else {}
    return Snapshot(
        id=row.id,
        school_id=row.school_id,
        provider=row.provider,
        audience=row.audience,
        tag=row.tag,
        auth_kind=row.auth_kind,
        account=row.account,
        calendar_id=row.calendar_id,
        calendar_name=row.calendar_name,
        dedicated=row.dedicated,
        share_with=tuple(row.share_with.get("addresses", [])),
        secret=secret,
        state=State(row.state),
    )


def set_calendar(db: Database, connection_id: int, calendar_id: str) -> None:
    """Store a dedicated calendar's id the moment it exists (its own transaction)."""
    with db.session() as session:
        row = session.get(Connection, connection_id)
        if row is not None:
            row.calendar_id = calendar_id


def reseal_secret(
    db: Database, box: SecretBox, connection_id: int, secret: Mapping[str, Any]
) -> None:
    """Replace a connection's credentials (a refresh token the provider rotated), sealed."""
    with db.session() as session:
        row = session.get(Connection, connection_id)
        if row is not None and row.secret is not None:
            row.secret = box.seal(json.dumps(dict(secret)))


def record_sync(
    db: Database, connection_id: int, now: dt.datetime, result: Mapping[str, Any]
) -> None:
    """A sync finished: when, and what it did."""
    with db.session() as session:
        row = session.get(Connection, connection_id)
        if row is not None:
            row.last_sync_at = now
            row.last_result = dict(result)
            row.waiting = {}


def record_waiting(
    db: Database, connection_id: int, now: dt.datetime, retry_at: dt.datetime
) -> None:
    """A sync could not finish for now (throttled, unreachable) and will try again."""
    with db.session() as session:
        row = session.get(Connection, connection_id)
        if row is not None:
            row.waiting = {"since": now.isoformat(), "retry_at": retry_at.isoformat()}


def stop(db: Database, connection_id: int, reason: str) -> None:
    """A person must act before this connection can sync again; ``reason`` says why."""
    with db.session() as session:
        row = session.get(Connection, connection_id)
        if row is not None:
            row.state = State.STOPPED.value
            row.stop_reason = reason
            row.waiting = {}


def disconnect(session: Session, row: Connection) -> None:
    """Switch a connection off for good: credentials wiped, ledger dropped."""
    row.state = State.DISCONNECTED.value
    row.secret = None
    row.waiting = {}
    session.execute(delete(LedgerRow).where(LedgerRow.connection_id == row.id))


@contextmanager
def sync_lock(db: Database, connection_id: int) -> Iterator[bool]:
    """Hold "a sync of this connection is running" while the block runs; False if another has it.

    PostgreSQL: a session-level advisory lock on a connection of its own, so it is released even
    if the worker dies; the sync's own transactions are not affected. SQLite (one process, jobs
    in-process): nothing to hold.
    """
    if db.engine.dialect.name != "postgresql":
        yield True
        return
    with db.engine.connect() as conn:
        got = bool(
            conn.execute(
                text("SELECT pg_try_advisory_lock(:a, :b)"), {"a": LOCK_CLASS, "b": connection_id}
            ).scalar()
        )
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.execute(
                    text("SELECT pg_advisory_unlock(:a, :b)"), {"a": LOCK_CLASS, "b": connection_id}
                )
                conn.commit()


class SqlLedger:
    """One connection's ledger in the database (``connectors.sync.Ledger``)."""

    def __init__(
        self,
        db: Database,
        connection_id: int,
        now: dt.datetime,
        identities: Mapping[str, str] | None = None,
    ) -> None:
        """Args: the database, the connection, the time to stamp, and push key -> identity."""
        self.db = db
        self.connection_id = connection_id
        self.now = now
        self.identities = identities or {}

    def entries(self) -> dict[str, LedgerEntry]:
        """Every entry, by push key."""
        with self.db.session() as session:
            rows = session.scalars(
                select(LedgerRow).where(LedgerRow.connection_id == self.connection_id)
            )
            return {
                r.key: LedgerEntry(
                    r.key, r.remote_id, r.content_hash, r.last_day, LedgerState(r.state)
                )
                for r in rows
            }

    def store(self, entries: Sequence[LedgerEntry], forget: Sequence[str]) -> None:
        """Write ``entries`` and drop ``forget`` in one transaction."""
        if not entries and not forget:
            return
        with self.db.session() as session:
            if forget:
                for start in range(0, len(forget), 500):
                    session.execute(
                        delete(LedgerRow).where(
                            LedgerRow.connection_id == self.connection_id,
                            LedgerRow.key.in_(list(forget[start : start + 500])),
                        )
                    )
            if entries:
                values = [
                    {
                        "connection_id": self.connection_id,
                        "key": e.key,
                        "identity": self.identities.get(e.key, ""),
                        "remote_id": e.remote_id,
                        "content_hash": e.content_hash,
                        "last_day": e.last_day,
                        "state": e.state.value,
                        "synced_at": self.now,
                    }
                    for e in entries
                ]
                session.execute(_upsert(session), values)  # executemany: compiled once


def _upsert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(LedgerRow)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[LedgerRow.connection_id, LedgerRow.key],
        set_={
            "identity": excluded.identity,
            "remote_id": excluded.remote_id,
            "content_hash": excluded.content_hash,
            "last_day": excluded.last_day,
            "state": excluded.state,
            "synced_at": excluded.synced_at,
        },
    )
