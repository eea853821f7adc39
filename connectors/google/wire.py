"""Google Calendar v3's wire format for our events: ids, event JSON, tags, error reasons.

Pure functions (no HTTP): what we send for a :class:`PushEvent`, how we read our events back,
and how a Google error answer is classified.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from connectors.model import PushEvent, RemoteEvent, last_day_of

TZID = "Europe/London"
# Private extended property names (Google drops keys over 44 characters).
TAG = "sencocal"  # the connection's tag: what list() filters on
KEY = "sencocalKey"  # the event's push key
HASH = "sencocalHash"  # the hash of what we last wrote
MAX_REMINDERS = 5  # Google's limit on reminder overrides
MAX_REMINDER_MINUTES = 40320  # four weeks


def event_id(tag: str, key: str) -> str:
    """Our id for an event in one connection's calendar: base32hex (a-v, 0-9), 32 characters.

    Deterministic, so a create that is retried after its answer was lost meets a 409 instead of
    making a second event.
    """
    digest = hashlib.sha256(f"{tag}:{key}".encode()).digest()[:20]
    return base64.b32hexencode(digest).decode("ascii").lower()


def event_json(item: PushEvent, tag: str, *, with_id: bool) -> dict[str, Any]:
    """The event resource we write for ``item`` (insert when ``with_id``, else update)."""
    if item.all_day:
        start: dict[str, str] = {"date": item.start.isoformat()}
        end: dict[str, str] = {"date": item.end.isoformat()}
    else:
        start = {"dateTime": item.start.isoformat(), "timeZone": TZID}
        end = {"dateTime": item.end.isoformat(), "timeZone": TZID}
    body: dict[str, Any] = {
        "summary": item.summary,
        "description": item.description,
        "start": start,
        "end": end,
        "status": "confirmed",
        "transparency": "transparent" if item.all_day else "opaque",
        "visibility": "private" if item.private else "default",
        "reminders": {
            "useDefault": False,
            "overrides": [
                {"method": "popup", "minutes": min(m, MAX_REMINDER_MINUTES)}
                for m in item.reminders[:MAX_REMINDERS]
            ],
        },
        "extendedProperties": {
            "private": {TAG: tag, KEY: item.key, HASH: item.content_hash},
        },
    }
    if item.url and item.url.startswith(("http://", "https://")):
        body["source"] = {"title": "Where this date comes from", "url": item.url}
    if with_id:
        body["id"] = event_id(tag, item.key)
    return body


def remote_event(data: dict[str, Any], tag: str) -> RemoteEvent | None:
    """One of our events as Google returned it, or None when it is not this connection's."""
    private = (data.get("extendedProperties") or {}).get("private") or {}
    if private.get(TAG) != tag or not private.get(KEY):
        return None
    return RemoteEvent(
        remote_id=str(data["id"]),
        key=str(private[KEY]),
        content_hash=private.get(HASH),
        live=data.get("status") != "cancelled",
        last_day=_last_day(data),
        version=data.get("etag"),
    )


def _last_day(data: dict[str, Any]) -> dt.date:
    start, end = data.get("start") or {}, data.get("end") or {}
    if "date" in end:
        return last_day_of(dt.date.fromisoformat(start.get("date", end["date"])),
                           dt.date.fromisoformat(end["date"]))  # fmt: skip
    if "dateTime" in end:
        from zoneinfo import ZoneInfo

        moment = dt.datetime.fromisoformat(end["dateTime"].replace("Z", "+00:00"))
        if moment.tzinfo is not None:
            moment = moment.astimezone(ZoneInfo(TZID))
        return moment.date()
    return dt.date.min  # a tombstone may carry no dates: it is never "past"


@dataclass(frozen=True)
class GoogleError:
    """A Google error answer, read: its status, first reason and Retry-After."""

    status: int
    reason: str
    message: str
    retry_after: float | None

    @property
    def throttled(self) -> bool:
        """Rate limited or a server error: try again later."""
        return self.status in {429, 500, 502, 503, 504} or (
            self.status == 403 and self.reason in RATE_REASONS
        )

    @property
    def daily_quota(self) -> bool:
        """The calendar's daily usage limits: try again in an hour, not in seconds."""
        return self.status == 403 and self.reason == "quotaExceeded"


RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})


def read_error(status: int, headers: Any, content: bytes | str | None) -> GoogleError:
    """Classify an error answer (``headers`` is any mapping with ``get``)."""
    reason, message = "", ""
    try:
        text = content.decode("utf-8") if isinstance(content, bytes) else content or ""
        error = json.loads(text).get("error", {}) if text else {}
        if isinstance(error, dict):
            message = str(error.get("message", ""))
            errors = error.get("errors") or []
            if errors and isinstance(errors[0], dict):
                reason = str(errors[0].get("reason", ""))
            reason = reason or str(error.get("status", ""))
        elif isinstance(error, str):  # OAuth endpoints answer {"error": "invalid_grant"}
            reason = error
    except (ValueError, AttributeError):
        pass
    retry_after = None
    raw = headers.get("retry-after") if headers is not None else None
    if raw is not None:
        try:
            retry_after = max(0.0, float(raw))
        except ValueError:
            retry_after = None
    return GoogleError(status, reason, message, retry_after)
