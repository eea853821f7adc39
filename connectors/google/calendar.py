"""One connection's Google calendar, through google-api-python-client: the :class:`Remote`.

Writes go in batch requests (``batch_size`` per request; the batch URI is explicit so a test
emulator, or a regional endpoint, receives them); reads retry on their own a few times. Our event
ids are chosen by us (``wire.event_id``), so a create whose answer was lost meets a 409 when it
is retried: the event is then fetched and, when it is not already what we want (a tombstone a
person left, or older content), rewritten in place.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.errors import PermanentRemoteError, StopReason, TransientRemoteError
from connectors.google import wire
from connectors.model import RemoteEvent
from connectors.plan import Create, Delete, Update, Write
from connectors.remote import Outcome, Result

log = logging.getLogger("connectors.google")

GOOGLE_BATCH_URI = "https://www.googleapis.com/batch/calendar/v3"
READ_RETRIES = 3
QUOTA_WAIT = 3600.0  # Google's daily calendar limits: try again in an hour
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    socket.timeout,
    TimeoutError,
    ConnectionError,
    http.client.HTTPException,
    ssl.SSLError,
    OSError,
)


@dataclass(frozen=True)
class GoogleTarget:
    """Which calendar a connection writes, and how it is tagged.

    Attributes:
        tag: the connection's own tag, written into every event (what ``list_ours`` finds).
        calendar_id: the calendar, once known (a chosen one, or the dedicated one once made).
        dedicated_name: the name of a calendar to create when ``calendar_id`` is None.
        description: the dedicated calendar's description.
        share_with: group (or user) addresses given read access to a dedicated calendar.
    """

    tag: str
    calendar_id: str | None = None
    dedicated_name: str = "SENCO calendar"
    description: str = ""
    share_with: tuple[str, ...] = ()


@dataclass(frozen=True)
class GoogleEndpoints:
    """Where Google's API is; tests point these at the emulator, production leaves them."""

    api_endpoint: str | None = None  # None: Google's own
    batch_uri: str = GOOGLE_BATCH_URI
    timeout: float = 30.0


class GoogleRemote:
    """A Google calendar as the sync engine sees it (see :class:`connectors.remote.Remote`)."""

    def __init__(
        self,
        target: GoogleTarget,
        credentials: Any,
        endpoints: GoogleEndpoints | None = None,
        *,
        batch_size: int = 50,
        on_calendar_created: Callable[[str], None] | None = None,
    ) -> None:
        """Prepare (nothing is sent until :meth:`open`).

        Args:
            target: the calendar and tag.
            credentials: google-auth credentials (``connectors.google.auth``).
            endpoints: where the API is.
            batch_size: writes per batch request (Google allows 1000; 50 keeps a throttled
                batch cheap to redo).
            on_calendar_created: called with a dedicated calendar's id as soon as it exists,
                so the caller stores it before anything else can fail.
        """
        self.target = target
        self.calendar_id = target.calendar_id
        self.endpoints = endpoints or GoogleEndpoints()
        self.batch_size = batch_size
        self._credentials = credentials
        self._on_created = on_calendar_created
        self._http: Any = None
        self._events_api: Any = None

    # -- the Remote interface -------------------------------------------------------------

    def open(self) -> str:
        """Sign in and find (or create and share) the calendar; its id."""
        service = self._api()
        if self.calendar_id is not None:
            self._read(service.calendars().get(calendarId=self.calendar_id, fields="id"))
            return self.calendar_id
        made = self._read(
            service.calendars().insert(
                body={
                    "summary": self.target.dedicated_name,
                    "description": self.target.description,
                    "timeZone": wire.TZID,
                }
            ),
            retries=0,
        )
        self.calendar_id = str(made["id"])
        if self._on_created is not None:
            self._on_created(self.calendar_id)
        for address in self.target.share_with:
            scope = "group" if address.startswith("group:") else "user"
            value = address.removeprefix("group:").removeprefix("user:")
            self._read(
                service.acl().insert(
                    calendarId=self.calendar_id,
                    body={"role": "reader", "scope": {"type": scope, "value": value}},
                    sendNotifications=False,
                ),
                retries=0,
            )
        return self.calendar_id

    def list_ours(self) -> list[RemoteEvent]:
        """Every event tagged with this connection's tag, cancelled ones included."""
        events = self._events()
        found: list[RemoteEvent] = []
        token: str | None = None
        while True:
            page = self._read(
                events.list(
                    calendarId=self._calendar(),
                    privateExtendedProperty=f"{wire.TAG}={self.target.tag}",
                    showDeleted=True,
                    maxResults=2500,
                    pageToken=token,
                    fields="items(id,status,start,end,etag,extendedProperties),nextPageToken",
                )
            )
            for data in page.get("items", []):
                event = wire.remote_event(data, self.target.tag)
                if event is not None:
                    found.append(event)
            token = page.get("nextPageToken")
            if not token:
                return found

    def write(self, writes: Sequence[Write]) -> list[Outcome]:
        """Carry out ``writes`` in one batch request (and a second for 409 follow-ups)."""
        answers = self._batch([self._request(w) for w in writes])
        outcomes: list[Outcome | None] = []
        exists: list[tuple[int, Create]] = []
        for i, (write, (response, error)) in enumerate(zip(writes, answers, strict=True)):
            if error is None:
                remote_id = None if isinstance(write, Delete) else str(response["id"])
                outcomes.append(Outcome(write, Result.DONE, remote_id))
            elif isinstance(write, Create) and error.status == 409:
                exists.append((i, write))
                outcomes.append(None)
            else:
                outcomes.append(self._failed(write, error))
        if exists:
            for (i, _), outcome in zip(exists, self._settle(exists), strict=True):
                outcomes[i] = outcome
        return [o for o in outcomes if o is not None]

    def close(self) -> None:
        """Close the HTTP connections."""
        if self._http is not None:
            self._http.http.close()
        self._http = None

    # -- writes ---------------------------------------------------------------------------

    def _request(self, write: Write) -> Any:
        events = self._events()
        if isinstance(write, Create):
            body = wire.event_json(write.item, self.target.tag, with_id=True)
            return events.insert(calendarId=self._calendar(), body=body, sendUpdates="none")
        if isinstance(write, Update):
            body = wire.event_json(write.item, self.target.tag, with_id=False)
            return events.update(
                calendarId=self._calendar(),
                eventId=write.remote.remote_id,
                body=body,
                sendUpdates="none",
            )
        return events.delete(
            calendarId=self._calendar(), eventId=write.remote.remote_id, sendUpdates="none"
        )

    def _settle(self, exists: list[tuple[int, Create]]) -> list[Outcome]:
        """Creates answered 409: the event exists (a retried create landed, or a tombstone).

        Fetch each; one already holding what we would write is done; any other (cancelled, or
        older content) is rewritten in place with our content, which revives a tombstone.
        """
        events = self._events()
        ids = [wire.event_id(self.target.tag, w.key) for _, w in exists]
        got = self._batch([events.get(calendarId=self._calendar(), eventId=i) for i in ids])
        rewrite: list[tuple[int, Create]] = []
        outcomes: list[Outcome | None] = []
        for n, ((_, write), (data, error)) in enumerate(zip(exists, got, strict=True)):
            if error is not None:
                outcomes.append(self._failed(write, error))
                continue
            tagged = wire.remote_event(data, self.target.tag)
            if (
                tagged is not None
                and tagged.live
                and tagged.content_hash == write.item.content_hash
            ):
                outcomes.append(Outcome(write, Result.DONE, ids[n]))
            else:
                rewrite.append((n, write))
                outcomes.append(None)
        if rewrite:
            requests = [
                events.update(
                    calendarId=self._calendar(),
                    eventId=ids[n],
                    body=wire.event_json(w.item, self.target.tag, with_id=False),
                    sendUpdates="none",
                )
                for n, w in rewrite
            ]
            for (n, write), (_, error) in zip(rewrite, self._batch(requests), strict=True):
                outcomes[n] = (
                    Outcome(write, Result.DONE, ids[n])
                    if error is None
                    else self._failed(write, error)
                )
        return [o for o in outcomes if o is not None]

    def _failed(self, write: Write, error: wire.GoogleError) -> Outcome:
        """The outcome of one refused write (or raise, when the whole connection must stop)."""
        if isinstance(write, Delete) and error.status in {404, 410}:
            return Outcome(write, Result.DONE)  # already gone
        if error.daily_quota:
            return Outcome(write, Result.RETRY, retry_after=QUOTA_WAIT)
        if error.throttled:
            return Outcome(write, Result.RETRY, retry_after=error.retry_after)
        if error.status in {404, 409, 410, 412}:
            return Outcome(write, Result.UNKNOWN)  # it changed under us: read the calendar again
        self._stop_if_denied(error)
        return Outcome(write, Result.REJECTED, detail=f"{error.status} {error.reason}")

    # -- plumbing -------------------------------------------------------------------------

    def _api(self) -> Any:
        if self._http is None:
            import google_auth_httplib2
            import httplib2

            self._http = google_auth_httplib2.AuthorizedHttp(
                self._credentials, http=httplib2.Http(timeout=self.endpoints.timeout)
            )
        return _service(self.endpoints.api_endpoint)

    def _events(self) -> Any:
        """The API's events collection, built once per remote.

        ``service.events()`` builds a new collection from the discovery document each time
        (every method and its documentation, about a millisecond of CPU): once per write it was
        two thirds of a first sync's CPU (``bench/sync.py``).
        """
        service = self._api()
        if self._events_api is None:
            self._events_api = service.events()
        return self._events_api

    def _calendar(self) -> str:
        if self.calendar_id is None:
            raise RuntimeError("open() first")
        return self.calendar_id

    def _read(self, request: Any, retries: int = READ_RETRIES) -> Any:
        """Run one request (reads retry on their own); errors become our error tree."""
        from googleapiclient.errors import HttpError

        try:
            return self._guard(lambda: request.execute(http=self._http, num_retries=retries))
        except HttpError as exc:
            error = wire.read_error(exc.resp.status, exc.resp, exc.content)
            if error.status == 404:
                raise PermanentRemoteError(
                    StopReason.CALENDAR_GONE, "the calendar was deleted or cannot be found"
                ) from None
            if error.throttled or error.daily_quota:
                wait = QUOTA_WAIT if error.daily_quota else (error.retry_after or 30.0)
                raise TransientRemoteError(f"Google: {error.status} {error.reason}", wait) from None
            self._stop_if_denied(error)
            raise PermanentRemoteError(
                StopReason.REJECTED, f"Google refused a request: {error.status} {error.reason}"
            ) from None

    def _batch(self, requests: Sequence[Any]) -> list[tuple[Any, wire.GoogleError | None]]:
        """Send ``requests`` in one batch; (response, error) for each, in order."""
        from googleapiclient.errors import HttpError
        from googleapiclient.http import BatchHttpRequest

        answers: dict[str, tuple[Any, wire.GoogleError | None]] = {}

        def collect(request_id: str, response: Any, exception: Exception | None) -> None:
            if exception is None:
                answers[request_id] = (response, None)
            elif isinstance(exception, HttpError):
                answers[request_id] = (
                    None,
                    wire.read_error(exception.resp.status, exception.resp, exception.content),
                )
            else:
                raise exception

        batch = BatchHttpRequest(callback=collect, batch_uri=self.endpoints.batch_uri)
        for i, request in enumerate(requests):
            batch.add(request, request_id=str(i))
        try:
            self._guard(lambda: batch.execute(http=self._http))
        except HttpError as exc:
            error = wire.read_error(exc.resp.status, exc.resp, exc.content)
            self._stop_if_denied(error)
            raise TransientRemoteError(
                f"Google answered the batch with {error.status}", error.retry_after or 5.0
            ) from None
        return [answers[str(i)] for i in range(len(requests))]

    def _guard(self, call: Callable[[], Any]) -> Any:
        """Run ``call``, turning sign-in and transport failures into our error tree."""
        from google.auth import exceptions as auth_exc
        from googleapiclient.errors import BatchError

        try:
            return call()
        except auth_exc.RefreshError as exc:
            if _grant_refused(exc):
                raise PermanentRemoteError(
                    StopReason.GRANT_REVOKED, "Google no longer accepts this connection's access"
                ) from None
            raise TransientRemoteError("Google's sign-in service did not answer", 30.0) from None
        except auth_exc.TransportError:
            raise TransientRemoteError(
                "Google's sign-in service could not be reached", 30.0
            ) from None
        except BatchError:
            raise TransientRemoteError("Google's batch answer could not be read", 5.0) from None
        except TRANSPORT_ERRORS as exc:
            log.info("Google request failed in transit: %s", type(exc).__name__)
            raise TransientRemoteError(
                f"no answer from Google ({type(exc).__name__})", 2.0
            ) from None

    @staticmethod
    def _stop_if_denied(error: wire.GoogleError) -> None:
        if error.status == 401:
            raise PermanentRemoteError(
                StopReason.GRANT_REVOKED, "Google no longer accepts this connection's access"
            )
        if error.status == 403 and not (error.throttled or error.daily_quota):
            raise PermanentRemoteError(
                StopReason.NO_ACCESS, f"the account cannot write this calendar ({error.reason})"
            )


GRANT_REFUSED = frozenset(
    {"invalid_grant", "unauthorized_client", "invalid_client", "access_denied"}
)


_SERVICES: dict[str | None, Any] = {}
_SERVICES_LOCK = threading.Lock()


def _service(api_endpoint: str | None) -> Any:
    """The Calendar API's client object, built once per process and endpoint.

    Building it from the discovery document costs about half a second of CPU (every method and
    its documentation), so it is shared: requests are always executed with the connection's
    own authorised ``http``, never the placeholder it was built with.
    """
    with _SERVICES_LOCK:
        found = _SERVICES.get(api_endpoint)
        if found is None:
            import httplib2
            from googleapiclient.discovery import build

            options = {"api_endpoint": api_endpoint} if api_endpoint else None
            found = _SERVICES[api_endpoint] = build(
                "calendar",
                "v3",
                http=httplib2.Http(),
                static_discovery=True,
                cache_discovery=False,
                client_options=options,
            )
        return found


def _grant_refused(exc: Exception) -> bool:
    """True when a token refresh was refused for good (revoked, deleted key, no delegation).

    google-auth raises ``RefreshError(details, response_data, retryable=...)``: the token
    endpoint's own error code is in the response data.
    """
    data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    code = data.get("error")
    if isinstance(code, str) and code in GRANT_REFUSED:
        return True
    if isinstance(code, dict):  # an API-style error from the token endpoint (throttled, 5xx)
        return False
    return bool(data) and not getattr(exc, "retryable", False)
