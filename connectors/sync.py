"""The sync engine: read the remote, plan, write in batches, record each batch in the ledger.

It works with any :class:`connectors.remote.Remote` and any :class:`Ledger`, so one contract
test suite covers every remote. A sync is a few *rounds*: each reads our events back from the
remote (the truth), plans against them, and writes. A round ends early when the remote throttles
or fails, or when a write's fate is unknown (a dropped connection after the remote committed,
a 409 for an id we chose): the next round reads the calendar again and plans only what is still
missing, so nothing is written twice and nothing is lost. Waits are exponential with jitter and
never shorter than a remote's Retry-After; a wait longer than ``max_wait`` ends the sync with a
:class:`TransientRemoteError` so the job is queued again for later instead of holding a worker.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from connectors.errors import TransientRemoteError
from connectors.model import LedgerEntry, LedgerState, PushEvent
from connectors.plan import Create, Delete, Update, Write, plan
from connectors.remote import Remote, Result

log = logging.getLogger("connectors.sync")


class Ledger(Protocol):
    """Where one connection's ledger is kept (the feed server's database)."""

    def entries(self) -> Mapping[str, LedgerEntry]:
        """Every entry, by push key."""

    def store(self, entries: Sequence[LedgerEntry], forget: Sequence[str]) -> None:
        """Write ``entries`` (replacing any with the same key), drop ``forget``; commit."""


@dataclass
class Backoff:
    """Exponential backoff with full jitter, never shorter than the remote asked."""

    base: float = 1.0
    cap: float = 120.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt ``attempt + 1``."""
        jitter = self.rng.uniform(0, min(self.cap, self.base * 2**attempt))
        return max(retry_after or 0.0, jitter)


@dataclass
class SyncReport:
    """What one sync did (the admin page shows these counts)."""

    created: int = 0
    updated: int = 0
    revived: int = 0
    deleted: int = 0
    duplicates_removed: int = 0
    unchanged: int = 0
    kept_past: int = 0
    rounds: int = 0
    rejected: list[str] = field(default_factory=list)

    @property
    def writes(self) -> int:
        """Writes that were carried out."""
        return self.created + self.updated + self.revived + self.deleted + self.duplicates_removed

    def as_dict(self) -> dict[str, int]:
        """The counts as JSON-ready values."""
        return {
            "created": self.created,
            "updated": self.updated,
            "revived": self.revived,
            "deleted": self.deleted,
            "duplicates_removed": self.duplicates_removed,
            "unchanged": self.unchanged,
            "kept_past": self.kept_past,
            "rejected": len(self.rejected),
        }


def sync(
    remote: Remote,
    desired: Iterable[PushEvent],
    ledger: Ledger,
    today: dt.date,
    *,
    max_rounds: int = 5,
    max_wait: float = 30.0,
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncReport:
    """Make the remote calendar hold exactly ``desired`` (under the hand-edit policy).

    Args:
        remote: the connection's remote calendar.
        desired: the events it should hold.
        ledger: the connection's ledger.
        today: events that ended before it are never moved or deleted.
        max_rounds: read-plan-write rounds before giving up for now.
        max_wait: the longest wait between rounds inside one call (seconds).
        backoff: the wait policy.
        sleep: how to wait.

    Returns:
        What was done.

    Raises:
        TransientRemoteError: not finished; try again after its ``retry_after``.
        PermanentRemoteError: a person must act (consent withdrawn, calendar deleted).
    """
    try:
        return _sync(remote, list(desired), ledger, today, max_rounds, max_wait,
                     backoff or Backoff(), sleep)  # fmt: skip
    finally:
        remote.close()


def _sync(
    remote: Remote,
    items: list[PushEvent],
    ledger: Ledger,
    today: dt.date,
    max_rounds: int,
    max_wait: float,
    backoff: Backoff,
    sleep: Callable[[float], None],
) -> SyncReport:
    by_key = {i.key: i for i in items}
    report = SyncReport()
    remote.open()
    rejected: set[str] = set()
    for attempt in range(max_rounds):
        report.rounds += 1
        current = plan(items, remote.list_ours(), ledger.entries(), today)
        ledger.store(current.ledger, current.forget)
        if attempt == 0:
            report.unchanged, report.kept_past = current.unchanged, current.kept_past
        writes = [w for w in current.writes if w.key not in rejected]
        if not writes:
            return report
        again, wait = _write_all(remote, writes, ledger, report, rejected, by_key)
        if not again:
            return report
        delay = backoff.delay(attempt, wait)
        if delay > max_wait:
            raise TransientRemoteError("the calendar asked us to wait", retry_after=delay)
        if attempt + 1 == max_rounds:
            break  # no round left to wait for: the job is queued again instead
        log.info("sync round %d incomplete; reading the calendar again in %.1f s", attempt, delay)
        sleep(delay)
    raise TransientRemoteError(
        f"not finished after {max_rounds} rounds", retry_after=backoff.delay(max_rounds, wait)
    )


def remove_all(
    remote: Remote,
    ledger: Ledger,
    *,
    max_rounds: int = 5,
    max_wait: float = 30.0,
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Delete every event of this connection from the remote, past ones too (disconnect).

    Returns:
        How many events were deleted.

    Raises:
        TransientRemoteError, PermanentRemoteError: as for :func:`sync`.
    """
    backoff = backoff or Backoff()
    report = SyncReport()
    try:
        remote.open()
        for attempt in range(max_rounds):
            if _remove_round(remote, ledger, report, attempt, max_wait, backoff, sleep):
                return report.deleted
    finally:
        remote.close()
    raise TransientRemoteError(
        f"not finished after {max_rounds} rounds", retry_after=backoff.delay(max_rounds, None)
    )


def _remove_round(
    remote: Remote,
    ledger: Ledger,
    report: SyncReport,
    attempt: int,
    max_wait: float,
    backoff: Backoff,
    sleep: Callable[[float], None],
) -> bool:
    """One round of removal; True once the calendar holds nothing of ours."""
    live = [e for e in remote.list_ours() if e.live]
    if not live:
        ledger.store((), tuple(ledger.entries()))
        return True
    writes: list[Write] = [Delete(e) for e in live]
    again, wait = _write_all(remote, writes, ledger, report, set(), {})
    if again:
        delay = backoff.delay(attempt, wait)
        if delay > max_wait:
            raise TransientRemoteError("the calendar asked us to wait", retry_after=delay)
        sleep(delay)
    return False  # read once more: only an empty listing ends it


def _write_all(
    remote: Remote,
    writes: list[Write],
    ledger: Ledger,
    report: SyncReport,
    rejected: set[str],
    by_key: Mapping[str, PushEvent],
) -> tuple[bool, float | None]:
    """Write in batches, recording each batch; (another round needed, the longest wait asked)."""
    again = False
    wait: float | None = None
    size = max(1, remote.batch_size)
    for start in range(0, len(writes), size):
        batch = writes[start : start + size]
        try:
            outcomes = remote.write(batch)
        except TransientRemoteError as exc:
            return True, max(wait or 0.0, exc.retry_after)
        done: list[LedgerEntry] = []
        gone: list[str] = []
        for outcome in outcomes:
            write = outcome.write
            if outcome.result == Result.DONE:
                _count(report, write)
                if isinstance(write, Delete):
                    if not write.duplicate:
                        gone.append(write.key)
                else:
                    item = write.item
                    remote_id = outcome.remote_id or (
                        write.remote.remote_id if isinstance(write, Update) else ""
                    )
                    done.append(
                        LedgerEntry(
                            item.key, remote_id, item.content_hash, item.last_day, LedgerState.LIVE
                        )
                    )
            elif outcome.result == Result.REJECTED:
                rejected.add(write.key)
                known = by_key.get(write.key)
                report.rejected.append(known.identity if known is not None else write.key)
                log.warning("the calendar refused a write for %s: %s", write.key, outcome.detail)
            else:
                again = True
                if outcome.retry_after is not None:
                    wait = max(wait or 0.0, outcome.retry_after)
        ledger.store(done, gone)
    return again, wait


def _count(report: SyncReport, write: Write) -> None:
    if isinstance(write, Create):
        report.created += 1
    elif isinstance(write, Update):
        if write.revive:
            report.revived += 1
        else:
            report.updated += 1
    elif write.duplicate:
        report.duplicates_removed += 1
    else:
        report.deleted += 1
