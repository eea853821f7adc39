"""The one small interface every remote calendar implements, and the outcome of each write.

A remote (Google Calendar, a Microsoft 365 calendar) knows its wire format, ids, batching and
rate limits; the sync engine (``sync.py``) knows nothing of them. One contract test suite
(``tests/connectors/test_contract.py``) runs against every remote's emulator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from connectors.model import RemoteEvent
from connectors.plan import Write


class Result(StrEnum):
    """How one write ended."""

    DONE = "done"  # written (or, for a delete, already gone)
    RETRY = "retry"  # a transient failure (throttled, 5xx); not written
    UNKNOWN = "unknown"  # may or may not have been written (it exists, or it vanished): re-read
    REJECTED = "rejected"  # refused as malformed: retrying the same request will not help


@dataclass(frozen=True)
class Outcome:
    """The result of one write.

    Attributes:
        write: the write it answers.
        result: how it ended.
        remote_id: the remote's id for the event once written (creates and updates).
        retry_after: for ``RETRY``, what the remote asked us to wait, if it said.
        detail: for ``REJECTED``, the remote's own reason (for the log, never shown raw).
    """

    write: Write
    result: Result
    remote_id: str | None = None
    retry_after: float | None = None
    detail: str = ""


class Remote(Protocol):
    """One remote calendar, as seen by the sync engine, for one connection."""

    batch_size: int

    def open(self) -> str:
        """Sign in and make sure the target calendar exists; its id.

        A connection that asks for a dedicated calendar gets it created and shared here.

        Raises:
            TransientRemoteError: try again later.
            PermanentRemoteError: a person must act (consent withdrawn, calendar deleted).
        """

    def list_ours(self) -> list[RemoteEvent]:
        """Every event of this connection the calendar holds, tombstones included."""

    def write(self, writes: Sequence[Write]) -> list[Outcome]:
        """Carry out at most ``batch_size`` writes; one outcome per write, in order.

        Where the remote has batch requests, the writes go in one.

        Raises:
            TransientRemoteError: the whole request failed and it is unknown what was written
                (a timeout, a dropped connection): the engine reads the calendar again.
            PermanentRemoteError: as for :meth:`open`.
        """

    def close(self) -> None:
        """Release its connections (the engine calls it when a sync ends, however it ends)."""
