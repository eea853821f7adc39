"""The Graph emulator's mailboxes: calendars, events, extended properties, and Graph's checks."""

from __future__ import annotations

import copy
import datetime as dt
import re
import secrets
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from tests.emulators.server import Response

EXT_ID = re.compile(
    r"(String|Integer|Boolean|SystemTime|Double|Binary|Long|Float|Currency|CLSID|Short) "
    r"\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\} "
    r"(Name \S.*|Id 0x[0-9a-fA-F]{1,4})"
)
ANY_FILTER = re.compile(
    r"singleValueExtendedProperties/any\(\s*(\w+)\s*:\s*\1/id\s+eq\s+'((?:[^']|'')*)'\s+and\s+"
    r"\1/value\s+eq\s+'((?:[^']|'')*)'\s*\)",
    re.IGNORECASE,
)
EXPAND = re.compile(r"singleValueExtendedProperties\(\s*\$filter=(.*)\)", re.IGNORECASE)
PROPERTY_ID = re.compile(r"id\s+eq\s+'((?:[^']|'')*)'", re.IGNORECASE)
WINDOWS_ZONES = {
    "GMT Standard Time": "Europe/London",
    "UTC": "UTC",
    "Coordinated Universal Time": "UTC",
    "W. Europe Standard Time": "Europe/Berlin",
    "Romance Standard Time": "Europe/Paris",
}
WRITABLE = (
    "subject",
    "body",
    "start",
    "end",
    "isAllDay",
    "location",
    "categories",
    "showAs",
    "isReminderOn",
    "reminderMinutesBeforeStart",
    "importance",
    "sensitivity",
    "attendees",
    "recurrence",
    "responseRequested",
    "allowNewTimeProposals",
    "hideAttendees",
)
SHOW_AS = {"free", "tentative", "busy", "oof", "workingElsewhere", "unknown"}


class GraphError(Exception):
    """An error answer in Graph's JSON shape."""

    def __init__(
        self, status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.headers = status, code, message, headers or []

    def response(self) -> Response:
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        inner = {
            "date": now,
            "request-id": secrets.token_hex(16),
            "client-request-id": secrets.token_hex(16),
        }
        return Response.json(
            self.status,
            {"error": {"code": self.code, "message": self.message, "innerError": inner}},
            self.headers,
        )


def invalid(message: str, code: str = "ErrorInvalidRequest") -> GraphError:
    return GraphError(400, code, message)


def not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def graph_id() -> str:
    """An opaque id in Graph's shape (URL-safe base64, ~150 characters)."""
    return "AAMkAGI2" + secrets.token_urlsafe(108)


def change_key() -> str:
    return secrets.token_urlsafe(30)


def now_text() -> str:
    """A timestamp as Graph writes ``lastModifiedDateTime`` (seven fractional digits, ``Z``)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def zone(name: object) -> zoneinfo.ZoneInfo:
    if not isinstance(name, str):
        raise invalid("A time zone is required.", "TimeZoneNotSupportedException")
    try:
        return zoneinfo.ZoneInfo(WINDOWS_ZONES.get(name, name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise invalid(
            f"A valid TimeZone value must be specified. The following TimeZone value is not supported: '{name}'.",
            "TimeZoneNotSupportedException",
        ) from None


def moment(value: object, name: str) -> dt.datetime:
    """A dateTimeTimeZone (``{"dateTime", "timeZone"}``) as an aware datetime."""
    if not isinstance(value, dict) or "dateTime" not in value:
        raise invalid(f"The {name} property is required.", "ErrorPropertyValidationFailure")
    try:
        local = dt.datetime.fromisoformat(str(value["dateTime"]).rstrip("Z")[:26])
    except ValueError:
        raise invalid(
            f"Cannot convert the literal '{value['dateTime']}' to the expected type 'Edm.DateTimeOffset'.",
            "BadRequest",
        ) from None
    return local.replace(tzinfo=zone(value.get("timeZone", "UTC")))


@dataclass
class Calendar:
    id: str
    name: str
    owner: str
    is_default: bool = False
    change_key: str = field(default_factory=change_key)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)

    def resource(self, owner_name: str) -> dict[str, Any]:
        return {
            "@odata.etag": f'W/"{self.change_key}"',
            "id": self.id,
            "name": self.name,
            "color": "auto",
            "hexColor": "",
            "isDefaultCalendar": self.is_default,
            "changeKey": self.change_key,
            "canShare": True,
            "canViewPrivateItems": True,
            "canEdit": True,
            "allowedOnlineMeetingProviders": ["teamsForBusiness"],
            "defaultOnlineMeetingProvider": "teamsForBusiness",
            "isTallyingResponses": True,
            "isRemovable": not self.is_default,
            "owner": {"name": owner_name, "address": self.owner},
        }


@dataclass
class Mailbox:
    """A user's, a shared mailbox's or a group's calendars (the first is the default one)."""

    address: str
    kind: str
    calendars: dict[str, Calendar] = field(default_factory=dict)
    transactions: dict[str, str] = field(default_factory=dict)  # transactionId -> event id
    inflight: int = 0

    def __post_init__(self) -> None:
        if not self.calendars:
            default = Calendar(graph_id(), "Calendar", self.address, is_default=True)
            self.calendars[default.id] = default

    @property
    def default(self) -> Calendar:
        return next(c for c in self.calendars.values() if c.is_default)

    def find(self, event_id: str) -> tuple[Calendar, dict[str, Any]]:
        for calendar in self.calendars.values():
            if event_id in calendar.events:
                return calendar, calendar.events[event_id]
        raise not_found()


def validate(event: dict[str, Any]) -> None:
    """Graph's checks on what sencocal sends (400 otherwise)."""
    start, end = moment(event.get("start"), "Start"), moment(event.get("end"), "End")
    if end < start:
        raise invalid(
            "The end time of the event must be later than or equal to its start time.",
            "ErrorInvalidRequest",
        )
    if event.get("isAllDay"):
        if start.time() != dt.time() or end.time() != dt.time() or end <= start:
            raise invalid(
                "Your request can't be completed. If isAllDay is true, the start and end must be midnight in the event's time zone and at least a day apart.",
                "ErrorInvalidRequest",
            )
    if event.get("showAs", "busy") not in SHOW_AS:
        raise invalid(f"Requested value '{event['showAs']}' was not found.", "BadRequest")
    minutes = event.get("reminderMinutesBeforeStart", 15)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 0:
        raise invalid("reminderMinutesBeforeStart must be a non-negative integer.", "BadRequest")
    categories = event.get("categories", [])
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise invalid("categories must be a list of strings.", "BadRequest")
    body = event.get("body")
    if body is not None and (
        not isinstance(body, dict)
        or body.get("contentType", "text").lower() not in {"text", "html"}
    ):
        raise invalid("Requested value for body.contentType was not found.", "BadRequest")


def check_properties(props: object) -> list[dict[str, str]]:
    if not isinstance(props, list):
        raise invalid("singleValueExtendedProperties must be a collection.", "BadRequest")
    for prop in props:
        if (
            not isinstance(prop, dict)
            or not isinstance(prop.get("id"), str)
            or not EXT_ID.fullmatch(prop["id"])
        ):
            raise invalid(
                "The property id is not in a valid format: expected e.g. 'String {GUID} Name name'.",
                "ErrorInvalidProperty",
            )
        if not isinstance(prop.get("value"), str):
            raise invalid("The extended property value must be a string.", "ErrorInvalidProperty")
    return [{"id": p["id"], "value": p["value"]} for p in props]


def merge_properties(
    current: list[dict[str, str]], new: list[dict[str, str]]
) -> list[dict[str, str]]:
    merged = {p["id"]: p for p in current}
    for prop in new:
        merged[prop["id"]] = prop
    return list(merged.values())


def matches_filter(event: dict[str, Any], text: str | None) -> bool:
    """``$filter`` on ``singleValueExtendedProperties/Any(ep: ep/id eq '...' and ep/value eq '...')``.

    The name in the id is case-sensitive, the value is not (as Graph documents).
    """
    if not text:
        return True
    match = ANY_FILTER.fullmatch(text.strip())
    if match is None:
        raise invalid(
            f"Invalid filter clause: the emulator supports only singleValueExtendedProperties/Any(...) filters, not {text!r}.",
            "BadRequest",
        )
    prop_id, value = match.group(2).replace("''", "'"), match.group(3).replace("''", "'")
    return any(
        p["id"] == prop_id and p["value"].lower() == value.lower() for p in event.get("_props", [])
    )


def expanded_ids(text: str | None) -> list[str] | None:
    """The property ids named by ``$expand=singleValueExtendedProperties($filter=id eq '...')``."""
    if not text:
        return None
    whole = EXPAND.fullmatch(text.strip())
    found = PROPERTY_ID.findall(whole.group(1)) if whole else []
    if not found:
        raise invalid(
            f"Parsing OData Select and Expand failed: unsupported $expand {text!r}.", "BadRequest"
        )
    return [f.replace("''", "'") for f in found]


def present(
    event: dict[str, Any], select: str | None, expand: list[str] | None, prefer_zone: str
) -> dict[str, Any]:
    """The API JSON of an event: hidden fields removed, times in the preferred zone, $select/$expand."""
    out = {k: copy.deepcopy(v) for k, v in event.items() if not k.startswith("_")}
    for key in ("start", "end"):
        local = moment(event[key], key)
        if not event.get("isAllDay"):  # all-day events float: their own midnights, as stored
            local = local.astimezone(zone(prefer_zone))
        named = event[key].get("timeZone", "UTC") if event.get("isAllDay") else prefer_zone
        out[key] = {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": named}
    if select:
        keep = {s.strip() for s in select.split(",")} | {"id", "@odata.etag"}
        out = {k: v for k, v in out.items() if k in keep}
    if expand is not None:
        props = [p for p in event.get("_props", []) if p["id"] in expand]
        if props:
            out["singleValueExtendedProperties"] = copy.deepcopy(props)
    return out
