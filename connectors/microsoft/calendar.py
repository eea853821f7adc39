"""One connection's Microsoft 365 calendar through Graph: the :class:`Remote`.

Targets: a user's own calendar, a named secondary calendar sencocal creates in a mailbox, a
shared mailbox's calendar (app-only), or a Microsoft 365 group's calendar (delegated only:
Graph refuses app-only tokens there). Writes go in one JSON ``$batch`` of at most 20. Creates
carry a ``transactionId`` derived from the connection and the event, so one sent twice makes one
event; and after a dropped connection we do not trust that alone: the batch's events are looked
up by their extended property (one ``$batch`` of filtered GETs), the ones that landed are done,
and the rest are sent again.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn

from connectors.errors import PermanentRemoteError, StopReason
from connectors.microsoft import wire
from connectors.microsoft.auth import TokenSource
from connectors.microsoft.graph import (
    MAX_BATCH,
    Answer,
    ConnectionLost,
    GraphClient,
    GraphEndpoints,
    Part,
    no_access_message,
)
from connectors.model import RemoteEvent
from connectors.plan import Create, Delete, Update, Write
from connectors.remote import Outcome, Result

log = logging.getLogger("connectors.microsoft")
PAGE = 1000  # events per page when listing ours (Graph's largest $top)


@dataclass(frozen=True)
class MicrosoftTarget:
    """Which calendar a connection writes, and how its events are tagged.

    Attributes:
        tag: the connection's own tag, written into every event (what ``list_ours`` finds).
        mailbox: a user's or shared mailbox's address (or object id), or a group's id.
        group: True for a Microsoft 365 group's calendar (delegated sign-in only).
        calendar_id: a chosen calendar in the mailbox, or the one sencocal made once known;
            None with no ``dedicated_name`` is the mailbox's default calendar.
        dedicated_name: the name of a calendar to create when ``calendar_id`` is None.
    """

    tag: str
    mailbox: str
    group: bool = False
    calendar_id: str | None = None
    dedicated_name: str | None = None


class MicrosoftRemote:
    """A Microsoft 365 calendar as the sync engine sees it (a :class:`connectors.remote.Remote`)."""

    batch_size = MAX_BATCH

    def __init__(
        self,
        target: MicrosoftTarget,
        tokens: TokenSource,
        endpoints: GraphEndpoints | None = None,
        *,
        batch_size: int = MAX_BATCH,
        on_calendar_created: Callable[[str], None] | None = None,
    ) -> None:
        """Prepare (nothing is sent until :meth:`open`); ``batch_size`` at most 20."""
        self.target = target
        self.calendar_id = target.calendar_id
        self.endpoints = endpoints or GraphEndpoints()
        self.batch_size = max(1, min(batch_size, MAX_BATCH))
        self._tokens = tokens
        self._on_created = on_calendar_created
        self._client: GraphClient | None = None
        self._empty = False  # the calendar was made by this open(): nothing to list yet

    # -- the Remote interface -------------------------------------------------------------

    @property
    def calls(self) -> int:
        """HTTP requests this remote has sent (a batch is one)."""
        return self._client.calls if self._client is not None else 0

    def open(self) -> str:
        """Sign in and find (or create) the calendar; its id.

        A known calendar is not fetched here: listing its events next answers 404 if it is gone.
        """
        client = self._http()
        self._tokens.token()
        if self.target.group or self.calendar_id is not None or not self.target.dedicated_name:
            return self.calendar_id or "default"
        name = self.target.dedicated_name
        made = client.call("POST", f"{self._owner()}/calendars", body={"name": name})
        if made.ok:
            self._empty = True
            calendar_id = str(made.body["id"])
        elif made.status == 409:  # made before (its answer was lost, or the ledger was)
            calendar_id = self._find_calendar(name)
        else:
            _raise(made)
        self.calendar_id = calendar_id
        if self._on_created is not None:
            self._on_created(calendar_id)
        return calendar_id

    def list_ours(self) -> list[RemoteEvent]:
        """Every event tagged with this connection's tag."""
        if self._empty:
            return []
        client = self._http()
        found: list[RemoteEvent] = []
        url: str | None = self._events()
        params: dict[str, str] | None = {
            "$filter": wire.tag_filter(wire.TAG, self.target.tag),
            "$select": wire.SELECT,
            "$expand": wire.EXPAND,
            "$top": str(PAGE),
        }
        while url:
            page = client.checked("GET", url, params=params)
            for data in page.body.get("value", []):
                event = wire.remote_event(data, self.target.tag)
                if event is not None:
                    found.append(event)
            url, params = page.body.get("@odata.nextLink"), None
        return found

    def write(self, writes: Sequence[Write]) -> list[Outcome]:
        """Carry out ``writes`` in one ``$batch``; after a lost connection, settle them."""
        self._empty = False
        client = self._http()
        try:
            answers = client.batch([self._part(w) for w in writes])
        except ConnectionLost:
            log.info("a $batch's answer was lost; looking our events up")
            return self._settle(writes)
        return [self._outcome(w, a) for w, a in zip(writes, answers, strict=True)]

    def close(self) -> None:
        """Close the HTTP connections."""
        if self._client is not None:
            self._client.close()
        self._client = None

    # -- writes ---------------------------------------------------------------------------

    def _part(self, write: Write) -> Part:
        if isinstance(write, Create):
            body = wire.event_json(write.item, self.target.tag, create=True)
            return Part("POST", self._events(), body, {"Prefer": wire.PREFER_LONDON})
        url = f"{self._events()}/{urllib.parse.quote(write.remote.remote_id, safe='')}"
        if isinstance(write, Update):
            body = wire.event_json(write.item, self.target.tag, create=False)
            return Part("PATCH", url, body)
        return Part("DELETE", url)

    def _outcome(self, write: Write, answer: Answer) -> Outcome:
        if answer.ok:
            remote_id = None if isinstance(write, Delete) else str(answer.body.get("id", ""))
            return Outcome(write, Result.DONE, remote_id or None)
        error = answer.error()
        if isinstance(write, Delete) and error.status == 404:
            return Outcome(write, Result.DONE)  # already gone
        if error.throttled:
            return Outcome(write, Result.RETRY, retry_after=error.retry_after)
        if error.status == 401:
            raise PermanentRemoteError(
                StopReason.GRANT_REVOKED, "Microsoft 365 no longer accepts sencocal's access"
            )
        if error.status == 403:
            raise PermanentRemoteError(StopReason.NO_ACCESS, no_access_message(error))
        if isinstance(write, Create) and error.status == 404:
            raise PermanentRemoteError(
                StopReason.CALENDAR_GONE, "the calendar was deleted or cannot be found"
            )
        if error.status in {404, 409, 412, 424}:
            return Outcome(write, Result.UNKNOWN)  # it changed under us: read the calendar again
        return Outcome(write, Result.REJECTED, detail=f"{error.status} {error.code}")

    def _settle(self, writes: Sequence[Write]) -> list[Outcome]:
        """After a lost answer: creates that landed are done; everything else is sent again.

        Creates are looked up by their key's extended property (not by ``transactionId``);
        updates and deletes are safe to repeat (a repeated delete answers 404: done).
        """
        creates = [w for w in writes if isinstance(w, Create)]
        landed = self._lookup([w.key for w in creates]) if creates else {}
        outcomes: dict[int, Outcome] = {}
        again: list[tuple[int, Write]] = []
        for i, write in enumerate(writes):
            found = landed.get(write.key) if isinstance(write, Create) else None
            if found is None or isinstance(write, Delete):
                again.append((i, write))
            elif found.content_hash == write.item.content_hash:
                outcomes[i] = Outcome(write, Result.DONE, found.remote_id)
            else:
                outcomes[i] = Outcome(write, Result.UNKNOWN)
        if again:
            answers = self._http().batch([self._part(w) for _, w in again])
            for (i, write), answer in zip(again, answers, strict=True):
                outcomes[i] = self._outcome(write, answer)
        return [outcomes[i] for i in range(len(writes))]

    def _lookup(self, keys: Sequence[str]) -> dict[str, RemoteEvent]:
        """Our events with these push keys, found by their extended property (one $batch)."""
        parts = []
        for key in keys:
            query = urllib.parse.urlencode(
                {
                    "$filter": wire.tag_filter(wire.KEY, key),
                    "$select": wire.SELECT,
                    "$expand": wire.EXPAND,
                },
                quote_via=urllib.parse.quote,
            )
            parts.append(Part("GET", f"{self._events()}?{query}", None,
                              {"Prefer": wire.PREFER_LONDON}))  # fmt: skip
        found: dict[str, RemoteEvent] = {}
        for answer in self._http().batch(parts):
            if not answer.ok:
                _raise(answer)
            for data in answer.body.get("value", []):
                event = wire.remote_event(data, self.target.tag)
                if event is not None:
                    found[event.key] = event
        return found

    # -- plumbing -------------------------------------------------------------------------

    def _http(self) -> GraphClient:
        if self._client is None:
            self._client = GraphClient(self.endpoints, self._tokens, self.target.mailbox)
        return self._client

    def _owner(self) -> str:
        kind = "groups" if self.target.group else "users"
        return f"/{kind}/{urllib.parse.quote(self.target.mailbox, safe='@')}"

    def _events(self) -> str:
        """The events collection of the target calendar."""
        if self.target.group or self.calendar_id is None:
            return f"{self._owner()}/calendar/events"
        return f"{self._owner()}/calendars/{urllib.parse.quote(self.calendar_id, safe='')}/events"

    def _find_calendar(self, name: str) -> str:
        answer = self._http().checked("GET", f"{self._owner()}/calendars",
                                      params={"$select": "id,name", "$top": "250"})  # fmt: skip
        for calendar in answer.body.get("value", []):
            if str(calendar.get("name", "")).lower() == name.lower():
                return str(calendar["id"])
        raise PermanentRemoteError(
            StopReason.REJECTED, f"Microsoft 365 says a calendar named {name!r} exists, but it "
            "is not listed",
        )  # fmt: skip


def _raise(answer: Answer) -> NoReturn:
    from connectors.microsoft.graph import raise_for

    raise_for(answer.error())
    raise AssertionError("raise_for always raises")
