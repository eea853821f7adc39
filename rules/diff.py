"""The one diff: desired events against what is stored, as Create / Update / Delete values.

``plan(desired, stored, today)`` is pure. Refresh applies its result to the event rows (and
returns it, so jobs know exactly which events changed), the settings page shows it before a
change is saved, and the push sync plans with the same shape against its ledger.

Two rules hold for every caller:

* Identity decides: an event is the same event when its identity string (``Event.uid``) is,
  whatever its date; a moved deadline is an update, never a delete and a create.
* What has happened stays as it happened. An event whose last day is before ``today`` is never
  moved, reworded or removed (a closure day added in May does not move October's meeting, and an
  LA dropping a rule does not erase last term's deadline); it is reported as ``kept`` instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from rules.event import Event

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Stored:
    """What is stored of one event: its identity, content hash, last day, revision, liveness.

    The event itself is only rebuilt when a diff needs it (an update, a delete, a past event
    kept), so planning a school whose calendar barely changed reads hashes, not bodies.

    Attributes:
        uid: the event's identity.
        content_hash: the hash of what a user saw of it when it was last written.
        last_day: the last day it covers (decides whether it is past).
        sequence: its revision (the ICS SEQUENCE), raised by every change.
        active: False once it dropped out of the calendar (kept so a comeback continues its
            SEQUENCE rather than restarting at 0, which calendar clients would ignore).
        modified: when it last changed (the ICS LAST-MODIFIED), if the store keeps it.
        load: rebuilds the stored event.
    """

    uid: str
    content_hash: str
    last_day: dt.date
    sequence: int
    active: bool
    load: Callable[[], Event] = field(repr=False, compare=False)
    modified: dt.datetime | None = None

    @classmethod
    def of(
        cls,
        event: Event,
        sequence: int,
        active: bool = True,
        modified: dt.datetime | None = None,
    ) -> Stored:
        """The stored state of an event held in memory."""
        return cls(
            event.uid, event.body.content_hash, last_day(event), sequence, active,
            lambda: event, modified,
        )  # fmt: skip

    @cached_property
    def event(self) -> Event:
        """The stored event as it was last written."""
        return self.load()


@dataclass(frozen=True, slots=True)
class Create:
    """An event to add; ``previous`` is set when a dropped event comes back."""

    event: Event
    previous: Stored | None = None

    @property
    def uid(self) -> str:
        """The event's identity."""
        return self.event.uid


@dataclass(frozen=True, slots=True)
class Update:
    """A live event whose content changes."""

    before: Stored
    event: Event

    @property
    def uid(self) -> str:
        """The event's identity."""
        return self.event.uid

    @property
    def moved(self) -> bool:
        """True when its dates change (otherwise only its words or details do)."""
        old, new = self.before.event.body, self.event.body
        return (old.start, old.end) != (new.start, new.end)


@dataclass(frozen=True, slots=True)
class Delete:
    """A live event that is no longer wanted."""

    before: Stored

    @property
    def uid(self) -> str:
        """The event's identity."""
        return self.before.uid


@dataclass(frozen=True, slots=True)
class Diff:
    """Everything that changes, in a stable order (by date, then identity).

    ``kept`` holds past events left as they were although the evaluation now says otherwise
    (different content, or gone): they are not changes, but a preview may mention them.
    """

    creates: tuple[Create, ...] = ()
    updates: tuple[Update, ...] = ()
    deletes: tuple[Delete, ...] = ()
    kept: tuple[Stored, ...] = ()

    @property
    def empty(self) -> bool:
        """True when nothing changes."""
        return not (self.creates or self.updates or self.deletes)

    @property
    def changed_uids(self) -> tuple[str, ...]:
        """The identities of every created, updated or deleted event, sorted."""
        changes: tuple[Create | Update | Delete, ...] = (
            *self.creates,
            *self.updates,
            *self.deletes,
        )
        return tuple(sorted({c.uid for c in changes}))

    def __len__(self) -> int:
        return len(self.creates) + len(self.updates) + len(self.deletes)

    def result(self, desired: Iterable[Event]) -> list[Event]:
        """The live events once this diff is applied to the store it was planned against.

        ``desired`` must be the events it was planned from; past events keep their stored form.
        """
        kept = {s.uid: s.event for s in self.kept}
        out = [kept.pop(e.uid, e) for e in desired]
        out.extend(kept.values())  # past events the evaluation no longer has
        out.sort(key=lambda e: e.body.sort_key)
        return out


def last_day(event: Event) -> dt.date:
    """The last calendar day an event covers (its end is exclusive for all-day events)."""
    body = event.body
    if isinstance(body.end, dt.datetime):
        return body.end.date()
    return body.end - ONE_DAY


def is_past(event: Event, today: dt.date) -> bool:
    """True once every day of ``event`` is before ``today``."""
    return last_day(event) < today


def plan(desired: Iterable[Event], stored: Mapping[str, Stored], today: dt.date) -> Diff:
    """What turns ``stored`` into ``desired``, leaving past events as they were.

    Args:
        desired: the events there should be (identities unique).
        stored: identity -> stored state, live or dropped, for the same scope (school, years).
        today: events that ended before this day are never moved or removed.

    Returns:
        The diff; applying it and planning again with the same ``desired`` gives an empty diff.

    Raises:
        ValueError: two desired events share an identity.
    """
    creates: list[Create] = []
    updates: list[Update] = []
    kept: list[Stored] = []
    wanted: set[str] = set()
    for event in desired:
        uid = event.uid
        if uid in wanted:
            raise ValueError(f"two events share the identity {uid}")
        wanted.add(uid)
        before = stored.get(uid)
        if before is None or not before.active:
            creates.append(Create(event, before))
        elif before.content_hash != event.body.content_hash:
            if before.last_day < today:
                kept.append(before)
            else:
                updates.append(Update(before, event))
    deletes: list[Delete] = []
    for uid, before in stored.items():
        if uid in wanted or not before.active:
            continue
        if before.last_day < today:
            kept.append(before)
        else:
            deletes.append(Delete(before))
    creates.sort(key=lambda c: c.event.body.sort_key)
    updates.sort(key=lambda u: u.event.body.sort_key)
    deletes.sort(key=lambda d: (d.before.last_day, d.uid))
    kept.sort(key=lambda s: (s.last_day, s.uid))
    return Diff(tuple(creates), tuple(updates), tuple(deletes), tuple(kept))
