"""The HTTP side of Microsoft Graph: requests, JSON ``$batch`` and our error tree.

* At most :data:`MAX_BATCH` (20, Graph's limit) requests in one ``$batch``.
* At most :data:`MAILBOX_CONCURRENCY` (4, Graph's MailboxConcurrency limit) requests in flight
  per mailbox from this process: a semaphore per mailbox, shared by every connection using it.
* 429 and 5xx honour ``Retry-After`` (:class:`TransientRemoteError`); a 401 fetches a fresh
  token once, and a second 401 stops the connection (consent revoked); a 403 means the app
  cannot reach the mailbox (:class:`PermanentRemoteError` with a message for the IT admin).
* A dropped connection is :class:`ConnectionLost` (the request may have been carried out);
  a timeout is a plain :class:`TransientRemoteError`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from connectors.errors import PermanentRemoteError, StopReason, TransientRemoteError
from connectors.microsoft import wire
from connectors.microsoft.auth import TokenSource

log = logging.getLogger("connectors.microsoft")

GRAPH_URL = "https://graph.microsoft.com/v1.0"
MAX_BATCH = 20
MAILBOX_CONCURRENCY = 4
THROTTLE_WAIT = 1.0  # seconds, when a 429 / 503 names no Retry-After (the engine backs off too)


class ConnectionLost(TransientRemoteError):
    """The connection closed before an answer: the request may or may not have been done."""


@dataclass(frozen=True)
class GraphEndpoints:
    """Where Graph is (tests point it at the emulator) and how long to wait for an answer."""

    graph_url: str = GRAPH_URL
    verify: str | bool = True
    timeout: float = 30.0


@dataclass(frozen=True)
class Answer:
    """One answer: its status, headers and parsed JSON body (``{}`` when empty)."""

    status: int
    headers: dict[str, str]
    body: Any

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return 200 <= self.status < 300

    def error(self) -> wire.GraphError:
        """The answer read as an error."""
        return wire.read_error(self.status, self.headers, self.body)


@dataclass(frozen=True)
class Part:
    """One request of a ``$batch`` (``url`` relative to the Graph URL, starting with /)."""

    method: str
    url: str
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


_SLOTS: dict[tuple[str, str], threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()


def _slot(graph_url: str, mailbox: str) -> threading.BoundedSemaphore:
    with _SLOTS_LOCK:
        key = (graph_url, mailbox.lower())
        found = _SLOTS.get(key)
        if found is None:
            found = _SLOTS[key] = threading.BoundedSemaphore(MAILBOX_CONCURRENCY)
        return found


class GraphClient:
    """Requests to Graph for one mailbox, with a token source; close it when done."""

    def __init__(self, endpoints: GraphEndpoints, tokens: TokenSource, mailbox: str) -> None:
        import requests

        self.endpoints = endpoints
        self.tokens = tokens
        self.mailbox = mailbox
        self.calls = 0
        self._session = requests.Session()
        self._session.verify = endpoints.verify
        self._session.trust_env = endpoints.verify is True
        self._slot = _slot(endpoints.graph_url, mailbox)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._session.close()

    def call(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        prefer: str | None = wire.PREFER_LONDON,
    ) -> Answer:
        """One request (``url`` absolute, or relative to the Graph URL); 401 retried once."""
        for fresh in (False, True):
            answer = self._send(method, url, params, body, prefer, fresh)
            if answer.status != 401:
                return answer
        error = answer.error()
        raise PermanentRemoteError(
            StopReason.GRANT_REVOKED,
            f"Microsoft 365 no longer accepts sencocal's access ({error.code}): the consent "
            "was revoked. An IT admin must grant it again.",
        )

    def checked(self, method: str, url: str, **kwargs: Any) -> Answer:
        """:meth:`call`, with throttling and refusals raised as our errors."""
        answer = self.call(method, url, **kwargs)
        if not answer.ok:
            raise_for(answer.error())
        return answer

    def batch(self, parts: Sequence[Part]) -> list[Answer]:
        """Send up to 20 requests in one ``$batch``; one answer per part, in order."""
        if not 1 <= len(parts) <= MAX_BATCH:
            raise ValueError(f"a $batch holds 1 to {MAX_BATCH} requests")
        requests_json = []
        for i, part in enumerate(parts):
            item: dict[str, Any] = {"id": str(i), "method": part.method, "url": part.url}
            headers = dict(part.headers)
            if part.body is not None:
                item["body"] = part.body
                headers.setdefault("Content-Type", "application/json")
            if headers:
                item["headers"] = headers
            requests_json.append(item)
        answer = self.checked("POST", "/$batch", body={"requests": requests_json})
        by_id = {str(r.get("id")): r for r in answer.body.get("responses", [])}
        out = []
        for i in range(len(parts)):
            got = by_id.get(str(i))
            if got is None:
                raise TransientRemoteError("Graph's $batch answer left a request out", 2.0)
            headers = {str(k): str(v) for k, v in (got.get("headers") or {}).items()}
            out.append(Answer(int(got.get("status", 500)), headers, got.get("body") or {}))
        return out

    def _send(
        self, method: str, url: str, params: Any, body: Any, prefer: str | None, fresh: bool
    ) -> Answer:
        import requests

        headers = {"Authorization": "Bearer " + self.tokens.token(fresh=fresh)}
        if prefer:
            headers["Prefer"] = prefer
        full = url if url.startswith("https://") else self.endpoints.graph_url + url
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        with self._mailbox_slot():
            self.calls += 1
            try:
                raw = self._session.request(
                    method, full, params=params, data=data, headers=headers,
                    timeout=self.endpoints.timeout,
                )  # fmt: skip
            except requests.Timeout:
                log.info("Graph request timed out")
                raise TransientRemoteError("no answer from Microsoft 365 (timeout)", 2.0) from None
            except requests.exceptions.SSLError:
                raise TransientRemoteError("TLS failed talking to Microsoft 365", 30.0) from None
            except requests.ConnectionError as exc:
                log.info("Graph connection lost: %s", type(exc).__name__)
                raise ConnectionLost("Microsoft 365 closed the connection", 1.0) from None
            except requests.RequestException as exc:
                raise TransientRemoteError(
                    f"Microsoft 365 could not be reached ({type(exc).__name__})", 5.0
                ) from None
        try:
            parsed = raw.json() if raw.content else {}
        except ValueError:
            parsed = {}
        return Answer(raw.status_code, dict(raw.headers), parsed)

    @contextmanager
    def _mailbox_slot(self) -> Iterator[None]:
        with self._slot:
            yield


def raise_for(error: wire.GraphError) -> None:
    """Raise our error for a Graph error answer to a whole request."""
    if error.throttled:
        raise TransientRemoteError(
            f"Microsoft 365 asked us to wait ({error.status} {error.code})",
            error.retry_after if error.retry_after is not None else THROTTLE_WAIT,
        )
    if error.status == 403:
        raise PermanentRemoteError(StopReason.NO_ACCESS, no_access_message(error))
    if error.status == 404:
        raise PermanentRemoteError(
            StopReason.CALENDAR_GONE, "the calendar was deleted or cannot be found"
        )
    raise PermanentRemoteError(
        StopReason.REJECTED, f"Microsoft 365 refused a request: {error.status} {error.code}"
    )


def no_access_message(error: wire.GraphError) -> str:
    """What a 403 means, for the IT admin."""
    return (
        f"Microsoft 365 denied access to this calendar ({error.code}). Check that the app has "
        "the Calendars.ReadWrite application permission with admin consent, and that the "
        "mailbox is in the app's Exchange application access policy (or RBAC scope); a group "
        "calendar needs a delegated sign-in by a group member."
    )
