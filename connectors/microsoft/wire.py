"""Microsoft Graph's wire format for our events: event JSON, tags, transaction ids, errors.

Pure functions (no HTTP). Our events carry three single-value extended properties (MAPI named
properties in a GUID of our own): the connection's tag (what ``list_ours`` filters on), the
event's push key (its identity, opaque) and the hash of what we last wrote.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from connectors.model import PushEvent, RemoteEvent, last_day_of

TZID = "Europe/London"
LONDON = ZoneInfo(TZID)
# Never change: every event we ever wrote is found by these ids.
PROPERTY_SET = "7b8c1f3e-5a2d-4e6b-9f10-2c3d4e5f6a7b"
TAG = f"String {{{PROPERTY_SET}}} Name sencocalTag"
KEY = f"String {{{PROPERTY_SET}}} Name sencocalKey"
HASH = f"String {{{PROPERTY_SET}}} Name sencocalHash"
TRANSACTION_NAMESPACE = uuid.UUID("0b6f4d1c-8e2a-5f37-a1c9-6d2e7f8a9b0c")
MAX_REMINDER_MINUTES = 40320  # four weeks, as for Google
PREFER_LONDON = f'outlook.timezone="{TZID}"'


def transaction_id(tag: str, key: str) -> str:
    """The ``transactionId`` of our create for one event of one connection.

    Deterministic, so a create sent again after its answer was lost is answered with the event
    the first one made instead of making a second.
    """
    return str(uuid.uuid5(TRANSACTION_NAMESPACE, f"{tag}:{key}"))


def odata_quote(value: str) -> str:
    """A string literal for OData (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def tag_filter(prop: str, value: str) -> str:
    """``$filter`` for events whose extended property ``prop`` holds ``value``."""
    return (
        f"singleValueExtendedProperties/Any(ep: ep/id eq {odata_quote(prop)} "
        f"and ep/value eq {odata_quote(value)})"
    )


EXPAND = (
    f"singleValueExtendedProperties($filter=id eq {odata_quote(TAG)} or id eq {odata_quote(KEY)}"
    f" or id eq {odata_quote(HASH)})"
)
SELECT = "id,start,end,isAllDay"


def _when(moment: dt.date, all_day: bool) -> dict[str, str]:
    if all_day:
        return {"dateTime": f"{moment.isoformat()}T00:00:00", "timeZone": TZID}
    assert isinstance(moment, dt.datetime)
    local = moment.astimezone(LONDON).replace(tzinfo=None)
    return {"dateTime": local.isoformat(timespec="seconds"), "timeZone": TZID}


def event_json(item: PushEvent, tag: str, *, create: bool) -> dict[str, Any]:
    """The event we write for ``item``: a POST body when ``create``, else a PATCH body.

    All-day events run midnight to midnight in Europe/London (Graph refuses anything else) and
    show as free; Outlook keeps one reminder, so the earliest of ours is used.
    """
    text = item.description
    if item.url and item.url.startswith(("http://", "https://")):
        text = f"{text}\n\nWhere this date comes from: {item.url}"
    reminders = [min(m, MAX_REMINDER_MINUTES) for m in item.reminders]
    body: dict[str, Any] = {
        "subject": item.summary,
        "body": {"contentType": "text", "content": text},
        "isAllDay": item.all_day,
        "start": _when(item.start, item.all_day),
        "end": _when(item.end, item.all_day),
        "categories": list(item.categories),
        "showAs": "free" if item.all_day else "busy",
        "sensitivity": "private" if item.private else "normal",
        "isReminderOn": bool(reminders),
        "reminderMinutesBeforeStart": max(reminders) if reminders else 0,
        "singleValueExtendedProperties": [
            {"id": TAG, "value": tag},
            {"id": KEY, "value": item.key},
            {"id": HASH, "value": item.content_hash},
        ],
    }
    if create:
        body["transactionId"] = transaction_id(tag, item.key)
    return body


def properties(data: dict[str, Any]) -> dict[str, str]:
    """An event's expanded extended properties, by id."""
    return {
        str(p.get("id")): str(p.get("value"))
        for p in data.get("singleValueExtendedProperties") or []
        if isinstance(p, dict)
    }


def remote_event(data: dict[str, Any], tag: str) -> RemoteEvent | None:
    """One of our events as Graph returned it, or None when it is not this connection's."""
    props = properties(data)
    if props.get(TAG, "").lower() != tag.lower() or not props.get(KEY):
        return None
    return RemoteEvent(
        remote_id=str(data["id"]),
        key=props[KEY],
        content_hash=props.get(HASH),
        live=True,  # Graph keeps no tombstones: a deleted event is simply gone
        last_day=last_day(data),
        version=data.get("@odata.etag"),
    )


def local_moment(value: dict[str, Any]) -> dt.datetime:
    """A Graph ``dateTimeTimeZone`` as a Europe/London wall-clock time (naive)."""
    text = str(value.get("dateTime", ""))[:19]
    moment = dt.datetime.fromisoformat(text)
    zone = str(value.get("timeZone") or "UTC")
    if zone in {"UTC", "Coordinated Universal Time"}:
        moment = moment.replace(tzinfo=dt.UTC).astimezone(LONDON).replace(tzinfo=None)
    return moment


def last_day(data: dict[str, Any]) -> dt.date:
    """The last day an event covers, read from its start and end."""
    try:
        start, end = local_moment(data["start"]), local_moment(data["end"])
    except (KeyError, ValueError, TypeError):
        return dt.date.min
    if data.get("isAllDay"):
        return last_day_of(start.date(), end.date())
    return end.date()


@dataclass(frozen=True)
class GraphError:
    """A Graph (or identity platform) error answer, read."""

    status: int
    code: str
    message: str
    retry_after: float | None

    @property
    def throttled(self) -> bool:
        """Throttled or a server error: try again later."""
        return self.status in {429, 500, 502, 503, 504}


def read_error(status: int, headers: Any, body: Any) -> GraphError:
    """Classify an error answer (``body`` a parsed JSON value, bytes or text)."""
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body) if body else {}
        except ValueError:
            body = {}
    code, message = "", ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code, message = str(error.get("code", "")), str(error.get("message", ""))
    elif isinstance(error, str):
        code, message = error, str(body.get("error_description", ""))
    retry_after = None
    raw = None
    if headers is not None:
        raw = next((v for k, v in dict(headers).items() if str(k).lower() == "retry-after"), None)
    if raw is not None:
        try:
            retry_after = max(0.0, float(raw))
        except ValueError:
            retry_after = None
    return GraphError(status, code, message, retry_after)
