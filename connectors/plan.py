"""The sync planner: desired events against what the remote holds (and the ledger), as a plan.

``plan(desired, remote, ledger, today)`` is pure, with the same Create / Update / Delete shape
as ``rules.diff.plan``. The remote, not the ledger, is the truth: every sync reads our tagged
events back first, so a lost ledger, a crash after a remote write, or a retried write that
landed twice all converge to exactly the desired set.

The policy for what people do by hand in their calendar (README "Pushed calendars"):

* An event of ours that a person **deleted** stays deleted until our content for it changes;
  then it comes back (revived). Remotes with tombstones (Google) show the deletion; for remotes
  without them (Microsoft 365) the ledger remembers what we wrote, so an event the ledger has
  but the remote lacks, with unchanged content, was deleted by a person.
* An event a person **edited** (moved it, changed its place) keeps the edit until our content
  changes: a write happens only when the hash of what we would write differs from the hash we
  last wrote, which is kept in the remote event's own tag.
* The past is left alone: an event whose last day (as the remote shows it now) is before
  ``today`` is never moved or deleted.
* Never a duplicate: two remote events with one key keep the one the ledger knows (else the
  first by id); the others are deleted, past or not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from connectors.model import LedgerEntry, LedgerState, PushEvent, RemoteEvent


@dataclass(frozen=True, slots=True)
class Create:
    """An event to add to the remote."""

    item: PushEvent

    @property
    def key(self) -> str:
        """The push key."""
        return self.item.key


@dataclass(frozen=True, slots=True)
class Update:
    """A remote event to rewrite with new content; ``revive`` when a person had deleted it."""

    remote: RemoteEvent
    item: PushEvent
    revive: bool = False

    @property
    def key(self) -> str:
        """The push key."""
        return self.item.key


@dataclass(frozen=True, slots=True)
class Delete:
    """A remote event of ours that is no longer wanted (or a duplicate of another)."""

    remote: RemoteEvent
    duplicate: bool = False

    @property
    def key(self) -> str:
        """The push key."""
        return self.remote.key


Write = Create | Update | Delete


@dataclass(frozen=True)
class SyncPlan:
    """What one sync will write, and what the ledger should say without any write.

    Attributes:
        creates, updates, deletes: the writes, in a stable order.
        ledger: entries to store as they are, no write needed: events found in the remote
            unchanged (e.g. after the ledger was lost) and events left deleted by a person.
        forget: ledger keys with nothing behind them any more (deleted and no longer wanted).
        unchanged: how many desired events need no write (including those left deleted).
        kept_past: how many events were left alone because their date has passed.
    """

    creates: tuple[Create, ...] = ()
    updates: tuple[Update, ...] = ()
    deletes: tuple[Delete, ...] = ()
    ledger: tuple[LedgerEntry, ...] = ()
    forget: tuple[str, ...] = ()
    unchanged: int = 0
    kept_past: int = 0

    @property
    def writes(self) -> tuple[Write, ...]:
        """Every write: deletes of duplicates first, then creates, updates and other deletes."""
        dupes = tuple(d for d in self.deletes if d.duplicate)
        rest = tuple(d for d in self.deletes if not d.duplicate)
        return (*dupes, *self.creates, *self.updates, *rest)

    @property
    def empty(self) -> bool:
        """True when nothing needs writing to the remote."""
        return not (self.creates or self.updates or self.deletes)


def plan(
    desired: Iterable[PushEvent],
    remote: Iterable[RemoteEvent],
    ledger: Mapping[str, LedgerEntry],
    today: dt.date,
) -> SyncPlan:
    """What turns the remote calendar into ``desired`` under the hand-edit policy.

    Args:
        desired: the events the calendar should hold (keys unique).
        remote: every event of ours the remote holds now (found by tag), tombstones included.
        ledger: key -> what we last wrote, for this connection.
        today: events whose last day is before this are never moved or deleted.

    Returns:
        The plan. Applying it and planning again against the resulting remote gives an empty
        plan.

    Raises:
        ValueError: two desired events share a key.
    """
    wanted: dict[str, PushEvent] = {}
    for item in desired:
        if item.key in wanted:
            raise ValueError(f"two events share the identity {item.identity}")
        wanted[item.key] = item
    found: dict[str, list[RemoteEvent]] = {}
    for event in remote:
        found.setdefault(event.key, []).append(event)

    creates: list[Create] = []
    updates: list[Update] = []
    deletes: list[Delete] = []
    entries: list[LedgerEntry] = []
    forget: list[str] = []
    unchanged = kept_past = 0

    for key, copies in found.items():
        keep = _keeper(copies, ledger.get(key))
        deletes.extend(Delete(c, duplicate=True) for c in copies if c is not keep and c.live)
        found[key] = [keep]

    for key, item in wanted.items():
        entry = ledger.get(key)
        there = found.get(key, [None])[0]
        if there is None:
            if entry is not None and entry.content_hash == item.content_hash:
                unchanged += 1  # deleted by hand (no tombstone) and nothing new to say
                if entry.state != LedgerState.DELETED_BY_HAND:
                    entries.append(_entry(entry, state=LedgerState.DELETED_BY_HAND))
            else:
                creates.append(Create(item))
            continue
        written = there.content_hash or (entry.content_hash if entry is not None else None)
        if there.live and there.last_day < today:
            kept_past += 1
            _adopt(entries, entry, there, written)
        elif written == item.content_hash or (not there.live and written is None):
            # unchanged (a hand edit stays), or deleted by hand with nothing to compare against
            unchanged += 1
            state = LedgerState.LIVE if there.live else LedgerState.DELETED_BY_HAND
            _adopt(entries, entry, there, written or item.content_hash, state)
        else:
            updates.append(Update(there, item, revive=not there.live))

    for key, copies in found.items():
        if key in wanted:
            continue
        there = copies[0]
        if not there.live:
            if key in ledger:
                forget.append(key)
        elif there.last_day < today:
            kept_past += 1
            _adopt(entries, ledger.get(key), there, there.content_hash)
        else:
            deletes.append(Delete(there))
    forget.extend(k for k in ledger if k not in wanted and k not in found)

    creates.sort(key=lambda c: (c.item.start.isoformat(), c.key))
    updates.sort(key=lambda u: (u.item.start.isoformat(), u.key))
    deletes.sort(key=lambda d: (d.remote.last_day, d.remote.remote_id))
    return SyncPlan(
        tuple(creates),
        tuple(updates),
        tuple(deletes),
        tuple(sorted(entries, key=lambda e: e.key)),
        tuple(sorted(forget)),
        unchanged,
        kept_past,
    )


def _keeper(copies: list[RemoteEvent], entry: LedgerEntry | None) -> RemoteEvent:
    """Of remote events sharing one key, the one to keep: the ledger's, else a live one."""
    if entry is not None:
        for copy in copies:
            if copy.remote_id == entry.remote_id:
                return copy
    return min(copies, key=lambda c: (not c.live, c.remote_id))


def _entry(entry: LedgerEntry, *, state: LedgerState) -> LedgerEntry:
    return LedgerEntry(entry.key, entry.remote_id, entry.content_hash, entry.last_day, state)


def _adopt(
    entries: list[LedgerEntry],
    entry: LedgerEntry | None,
    there: RemoteEvent,
    written: str | None,
    state: LedgerState = LedgerState.LIVE,
) -> None:
    """Make the ledger match a remote event that needs no write (when it does not already)."""
    if written is None:
        return
    if (
        entry is not None
        and entry.remote_id == there.remote_id
        and entry.content_hash == written
        and entry.state == state
    ):
        return
    entries.append(LedgerEntry(there.key, there.remote_id, written, there.last_day, state))
