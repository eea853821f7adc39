"""Google Calendar event resources: what a client may set, how Google validates and merges it."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import re
import secrets
from typing import Any

from tests.emulators.google_wire import ApiError, bad_request, parse_date, parse_datetime, zone_info

ID_PATTERN = re.compile(r"[a-v0-9]{5,1024}")
BASE32HEX = "0123456789abcdefghijklmnopqrstuv"
WRITABLE = (
    "summary",
    "description",
    "location",
    "colorId",
    "start",
    "end",
    "reminders",
    "extendedProperties",
    "transparency",
    "visibility",
    "source",
    "status",
    "attendees",
    "recurrence",
    "sequence",
    "guestsCanModify",
    "guestsCanInviteOthers",
    "guestsCanSeeOtherGuests",
    "anyoneCanAddSelf",
)
TIME_FIELDS = ("start", "end")
MAX_REMINDER_MINUTES = 40320


def new_id() -> str:
    """An event id as Google makes one: 26 base32hex characters."""
    return "".join(secrets.choice(BASE32HEX) for _ in range(26))


def check_id(value: object) -> str:
    """A client-chosen event id: base32hex (lowercase a-v, 0-9), 5 to 1024 characters."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise bad_request("Invalid resource id value.")
    return value


def html_link(event_id: str, calendar_id: str) -> str:
    """Google's ``htmlLink``: base64 of "event-id calendar-id" as ``eid``."""
    eid = base64.urlsafe_b64encode(f"{event_id} {calendar_id}".encode()).decode().rstrip("=")
    return f"https://www.google.com/calendar/event?eid={eid}"


def writable(body: dict[str, Any]) -> dict[str, Any]:
    """The fields of a request body a client may set (read-only fields are ignored)."""
    return {key: copy.deepcopy(body[key]) for key in WRITABLE if key in body}


def merge_patch(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Google's patch semantics: objects merge key by key, arrays and values replace, null clears.

    ``start`` and ``end`` are replaced whole (a date and a dateTime never mix).
    """
    merged = copy.deepcopy(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif (
            isinstance(value, dict) and isinstance(merged.get(key), dict) and key not in TIME_FIELDS
        ):
            merged[key] = merge_patch(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def validate(event: dict[str, Any]) -> None:
    """Check an event as Google does for what sencocal sends; raise ``ApiError`` (400)."""
    for key in ("summary", "description", "location"):
        if key in event and not isinstance(event[key], str):
            raise bad_request(f"Invalid value for: {key}")
    start, end = span(event)
    if end < start:
        raise bad_request("The specified time range is empty.", "timeRangeEmpty")
    if "colorId" in event and event["colorId"] not in {str(n) for n in range(1, 12)}:
        raise bad_request("Invalid value for: colorId")
    if event.get("transparency", "opaque") not in {"opaque", "transparent"}:
        raise bad_request("Invalid value for: transparency")
    if event.get("visibility", "default") not in {"default", "public", "private", "confidential"}:
        raise bad_request("Invalid value for: visibility")
    if event.get("status", "confirmed") not in {"confirmed", "tentative", "cancelled"}:
        raise bad_request("Invalid value for: status")
    _check_reminders(event.get("reminders"))
    _check_extended(event.get("extendedProperties"))
    source = event.get("source")
    if source is not None and (not isinstance(source, dict) or not {"url", "title"} >= set(source)):
        raise bad_request("Invalid value for: source")


def span(event: dict[str, Any], zone: str = "UTC") -> tuple[dt.datetime, dt.datetime]:
    """An event's start and end as aware datetimes (all-day: midnight in ``zone``)."""
    if "start" not in event or not isinstance(event["start"], dict):
        raise bad_request("Missing start time.", "required")
    if "end" not in event or not isinstance(event["end"], dict):
        raise bad_request("Missing end time.", "required")
    start, end = event["start"], event["end"]
    start_all_day, end_all_day = "date" in start, "date" in end
    if start_all_day != end_all_day:
        raise bad_request("Start and end times must either both be date or both be dateTime.")
    if start_all_day:
        if "dateTime" in start or "dateTime" in end:
            raise bad_request("Invalid start time.")
        first = parse_date(start["date"], "start.date")
        last = parse_date(end["date"], "end.date")
        if last <= first:
            raise bad_request("The specified time range is empty.", "timeRangeEmpty")
        tz = zone_info(zone, "calendar")
        return dt.datetime.combine(first, dt.time(), tz), dt.datetime.combine(last, dt.time(), tz)
    for name, value in (("start", start), ("end", end)):
        if "dateTime" not in value:
            raise bad_request(f"Missing {name} time.", "required")
        if "timeZone" in value:
            zone_info(str(value["timeZone"]), f"{name} time")
    return (
        parse_datetime(start["dateTime"], "start time", start.get("timeZone")),
        parse_datetime(end["dateTime"], "end time", end.get("timeZone")),
    )


def _check_reminders(reminders: object) -> None:
    if reminders is None:
        return
    if not isinstance(reminders, dict):
        raise bad_request("Invalid value for: reminders")
    overrides = reminders.get("overrides") or []
    if not isinstance(overrides, list):
        raise bad_request("Invalid value for: reminders.overrides")
    if reminders.get("useDefault") and overrides:
        raise bad_request(
            "Cannot specify both default reminders and overrides at the same time.",
            "cannotUseDefaultRemindersAndSpecifyOverride",
        )
    if len(overrides) > 5:
        raise bad_request("The number of reminders exceeds the maximum of 5.", "tooManyReminders")
    for item in overrides:
        if not isinstance(item, dict) or item.get("method") not in {"email", "popup"}:
            raise bad_request("Invalid value for: reminders.overrides.method", "required")
        minutes = item.get("minutes")
        if not isinstance(minutes, int) or isinstance(minutes, bool):
            raise bad_request("Missing or invalid reminder minutes.", "required")
        if not 0 <= minutes <= MAX_REMINDER_MINUTES:
            raise bad_request("Invalid reminder minutes (0 to 40320).", "invalid")


def _check_extended(extended: object) -> None:
    if extended is None:
        return
    if not isinstance(extended, dict) or not set(extended) <= {"private", "shared"}:
        raise bad_request("Invalid value for: extendedProperties")
    for group in extended.values():
        if not isinstance(group, dict):
            raise bad_request("Invalid value for: extendedProperties")
        for key, value in group.items():
            if not isinstance(value, str):
                raise bad_request(f"Invalid value for: extendedProperties {key}")
            if len(value) > 1024:
                raise bad_request("Extended property value exceeds 1024 characters.")


def overlaps(
    event: dict[str, Any], zone: str, time_min: dt.datetime | None, time_max: dt.datetime | None
) -> bool:
    """``timeMin`` bounds the end (exclusive), ``timeMax`` the start (exclusive), as Google does."""
    start, end = span(event, zone)
    if time_min is not None and not end > time_min:
        return False
    if time_max is not None and not start < time_max:
        return False
    return True


def extended_match(event: dict[str, Any], group: str, constraints: list[str]) -> bool:
    """Whether an event satisfies every ``name=value`` constraint on one property group."""
    props = (event.get("extendedProperties") or {}).get(group) or {}
    for constraint in constraints:
        name, sep, value = constraint.partition("=")
        if not sep:
            raise ApiError(400, "invalid", f"Invalid {group}ExtendedProperty value: {constraint}")
        if props.get(name) != value:
            return False
    return True
