"""The values sync works with: what we want in a remote calendar, what is there, what we wrote.

* :class:`PushEvent`: one event as it should appear in a remote calendar, already worded for
  the connection's audience (the feed server builds these from a school's stored events).
* :class:`RemoteEvent`: one of our events as the remote holds it now, read back by its tag.
* :class:`LedgerEntry`: what we last wrote for one event of one connection (kept in the
  database): the remote's id, the content hash we wrote, and whether a person deleted it.

Every value is keyed by :attr:`PushEvent.key`, an opaque stable string derived from the event's
identity (no school or pupil in it), which is also the tag written into the remote event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

ONE_DAY = dt.timedelta(days=1)
# Namespace for push keys (a UUIDv5 of the event identity); never change it: every remote
# calendar's tags derive from it.
PUSH_NAMESPACE = uuid.UUID("6f3b7a52-29a4-5d1e-9a0c-5e2c0ca1b0d7")


def push_key(identity: str) -> str:
    """The opaque tag for an event identity: stable, and naming no school or pupil."""
    return uuid.uuid5(PUSH_NAMESPACE, identity).hex


@dataclass(frozen=True)
class PushEvent:
    """One event as it should be in a remote calendar.

    Attributes:
        identity: the event's identity string (DESIGN.md grammar); stays on our side.
        summary: the title.
        description: the text (what to do, why this date, the source).
        start: a date (all-day) or an aware datetime (timed, Europe/London).
        end: exclusive, like ICS DTEND; the same type as ``start``.
        categories: labels a calendar may show.
        reminders: minutes before the start at which to remind (a pushed calendar does not
            read a feed's alarms), at most five.
        private: hide the details from people who can see only free/busy.
        url: the source's address, if any.
    """

    identity: str
    summary: str
    description: str
    start: dt.date
    end: dt.date
    categories: tuple[str, ...] = ()
    reminders: tuple[int, ...] = ()
    private: bool = False
    url: str | None = None
    key: str = field(init=False)

    def __post_init__(self) -> None:
        if isinstance(self.start, dt.datetime) != isinstance(self.end, dt.datetime):
            raise ValueError("start and end must both be dates or both be datetimes")
        if self.end <= self.start:
            raise ValueError(f"{self.identity}: the end must come after the start")
        object.__setattr__(self, "key", push_key(self.identity))

    @property
    def all_day(self) -> bool:
        """True for an all-day event (dates rather than times)."""
        return not isinstance(self.start, dt.datetime)

    @property
    def last_day(self) -> dt.date:
        """The last calendar day it covers (decides when it is past)."""
        return last_day_of(self.start, self.end)

    @cached_property
    def content_hash(self) -> str:
        """A hash of everything written to the remote: changes exactly when a write is due."""
        blob = json.dumps(
            [
                self.summary,
                self.description,
                self.start.isoformat(),
                self.end.isoformat(),
                list(self.categories),
                list(self.reminders),
                self.private,
                self.url,
            ],
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


def last_day_of(start: dt.date, end: dt.date) -> dt.date:
    """The last day a start/end pair covers (an all-day end is exclusive)."""
    if isinstance(end, dt.datetime):
        return end.date()
    return end - ONE_DAY


@dataclass(frozen=True)
class RemoteEvent:
    """One of our events as the remote calendar holds it now.

    Attributes:
        remote_id: the remote's id for it.
        key: the push key in its tag.
        content_hash: the hash we wrote into its tag with our last write, if the remote kept it.
        live: False when a person deleted it and the remote keeps a tombstone (Google's
            ``cancelled`` status); a remote without tombstones just stops listing it.
        last_day: the last day it covers now (a person may have moved it).
        version: the remote's version stamp (an etag or change key), if it has one.
    """

    remote_id: str
    key: str
    content_hash: str | None
    live: bool
    last_day: dt.date
    version: str | None = None


class LedgerState(StrEnum):
    """What the ledger knows about one pushed event."""

    LIVE = "live"  # we wrote it and, last we looked, it was there
    DELETED_BY_HAND = "deleted_by_hand"  # a person deleted it; left so until its content changes


@dataclass(frozen=True)
class LedgerEntry:
    """What we last wrote for one event of one connection.

    Attributes:
        key: the push key.
        remote_id: the remote's id for the event.
        content_hash: the hash of what we last wrote.
        last_day: the last day of what we last wrote.
        state: live, or deleted by a person.
    """

    key: str
    remote_id: str
    content_hash: str
    last_day: dt.date
    state: LedgerState = LedgerState.LIVE
