"""The push sync's jobs: bring one connection's remote calendar up to date, or empty it.

``sync_connection(connection_id)`` reads the school's live events for the connection's
audience, signs in to the remote, and runs ``connectors.sync.sync``: it reads our events back,
plans, writes in batches and records each batch in the ledger, so a sync that dies half-way
(or is killed) converges when it runs again. One sync per connection runs at a time (an
advisory lock on PostgreSQL); a second one finding it busy is queued again shortly.

A transient failure (throttled, unreachable) is noted on the connection and retried after the
remote's Retry-After; a permanent one (consent withdrawn, calendar deleted) stops the connection
with its reason, which the calendars page words, until someone reconnects it.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from connectors import sync as engine
from connectors.errors import PermanentRemoteError, TransientRemoteError
from feedserver import errors, runtime
from feedserver.clock import today
from feedserver.pipeline import pushed, refresh, remotes
from feedserver.pipeline.jobbase import job
from feedserver.storage import connections
from feedserver.storage import events as event_store
from feedserver.storage.connections import Snapshot, SqlLedger, State
from feedserver.storage.models import Connection

log = logging.getLogger("feedserver.push")

BUSY_WAIT = 20.0  # seconds before trying again when another sync of the connection runs
MAX_INLINE_WAIT = 30.0  # the longest a sync waits inside a job before queueing itself again


def _load(connection_id: int, *, active_only: bool) -> tuple[Snapshot, list[Any]] | None:
    """The connection's settings and the events its calendar should hold, or None."""
    svc = runtime.current()
    with svc.db.session() as session:
        row = session.get(Connection, connection_id)
        if row is None or (active_only and row.state != State.ACTIVE.value):
            return None
        snapshot = connections.snapshot(row, svc.secretbox)
        years = refresh.window(today(svc.clock))
        live, _ = event_store.window(session, row.school_id, years)
    return snapshot, pushed.push_events(live, snapshot.audience)


@job("sync", timeout=1800)
def sync_connection(connection_id: int, *, reason: str) -> dict[str, Any]:
    """Make one connection's remote calendar hold its audience's events."""
    svc = runtime.current()
    with connections.sync_lock(svc.db, connection_id) as held:
        if not held:
            raise errors.TransientFailure("another sync of this calendar is running", BUSY_WAIT)
        loaded = _load(connection_id, active_only=True)
        if loaded is None:
            return {"connection": connection_id, "skipped": True}
        snapshot, desired = loaded
        now = svc.clock.now()
        ledger = SqlLedger(svc.db, connection_id, now, {p.key: p.identity for p in desired})
        try:
            remote = remotes.remote_for(
                svc.config,
                snapshot,
                lambda calendar_id: connections.set_calendar(svc.db, connection_id, calendar_id),
                lambda secret: connections.reseal_secret(
                    svc.db, svc.secretbox, connection_id, secret
                ),
            )
            report = engine.sync(
                remote, desired, ledger, today(svc.clock), max_wait=MAX_INLINE_WAIT
            )
        except PermanentRemoteError as exc:
            log.warning("connection %s stopped: %s (%s)", connection_id, exc.kind.value, exc)
            connections.stop(svc.db, connection_id, exc.kind.value)
            return {"connection": connection_id, "stopped": exc.kind.value}
        except TransientRemoteError as exc:
            retry_at = now + dt.timedelta(seconds=exc.retry_after)
            connections.record_waiting(svc.db, connection_id, now, retry_at)
            raise errors.TransientFailure(str(exc), exc.retry_after) from None
        connections.record_sync(
            svc.db, connection_id, svc.clock.now(), {**report.as_dict(), "events": len(desired)}
        )
    return {"connection": connection_id, **report.as_dict()}


@job("sync", timeout=1800)
def disconnect_connection(connection_id: int, *, reason: str) -> dict[str, Any]:
    """Switch a connection off; with ``reason="remove"``, delete our events from its calendar.

    The events go first (every one of ours, past ones too), then the credentials are wiped; if
    the calendar cannot be reached the connection stays, marked, and the job is tried again.
    """
    svc = runtime.current()
    removed = 0
    with connections.sync_lock(svc.db, connection_id) as held:
        if not held:
            raise errors.TransientFailure("a sync of this calendar is running", BUSY_WAIT)
        loaded = _load(connection_id, active_only=False)
        if loaded is None:
            return {"connection": connection_id, "skipped": True}
        snapshot, _ = loaded
        if snapshot.state == State.DISCONNECTED:
            return {"connection": connection_id, "removed": 0}
        if reason == "remove":
            ledger = SqlLedger(svc.db, connection_id, svc.clock.now())
            try:
                remote = remotes.remote_for(svc.config, snapshot, lambda _: None)
                if snapshot.calendar_id is not None:
                    removed = engine.remove_all(remote, ledger, max_wait=MAX_INLINE_WAIT)
            except PermanentRemoteError as exc:
                connections.stop(svc.db, connection_id, exc.kind.value)
                return {"connection": connection_id, "stopped": exc.kind.value}
            except TransientRemoteError as exc:
                raise errors.TransientFailure(str(exc), exc.retry_after) from None
        with svc.db.session() as session:
            row = session.get(Connection, connection_id)
            if row is not None:
                connections.disconnect(session, row)
    return {"connection": connection_id, "removed": removed}
