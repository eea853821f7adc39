"""Google Calendar API operations on calendars, access rules and events (a mixin of the emulator).

Each runs with the emulator's lock held, after the caller's token was checked.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import secrets
from typing import Any

from tests.emulators import google_events as events_mod
from tests.emulators.google_auth import AccessToken
from tests.emulators.google_state import (
    APP_CREATED,
    ROLES,
    WRITE_SCOPES,
    Calendar,
    next_etag,
    require,
)
from tests.emulators.google_wire import ApiError, bad_request, not_found, rfc3339, zone_info
from tests.emulators.server import Request, Response, Stats


class GoogleOperations:
    """The Calendar API's calendar, ACL and event operations."""

    stats: Stats
    users: dict[str, str]
    groups: dict[str, set[str]]
    calendars: dict[str, Calendar]
    _order: int

    # --- calendars and access rules --------------------------------------------------------

    def _calendar_op(
        self, req: Request, token: AccessToken, cal: Calendar | None, cal_id: str | None
    ) -> Response:
        if req.method == "POST" and cal_id is None:
            body = _body(req)
            summary = body.get("summary")
            if not isinstance(summary, str) or not summary.strip():
                raise bad_request("Missing title.", "required")
            zone = body.get("timeZone") or self.users.get(token.user, "UTC")
            zone_info(str(zone), "calendar")
            new = Calendar(
                secrets.token_hex(26) + "@group.calendar.google.com",
                summary,
                str(zone),
                token.user,
                description=body.get("description"),
                created_by_client=token.client_id,
            )
            if not (token.scopes & WRITE_SCOPES["calendar"]) and APP_CREATED not in token.scopes:
                raise ApiError(
                    403,
                    "insufficientPermissions",
                    "Request had insufficient authentication scopes.",
                )
            new.set_rule("user", token.user, "owner")
            self.calendars[new.id] = new
            self.stats.write()
            return Response.json(200, new.resource())
        if req.method == "GET" and cal_id is not None:
            return Response.json(
                200, require(cal, token, self.groups, "calendar", False, "reader").resource()
            )
        if req.method == "DELETE" and cal_id is not None:
            owned = require(cal, token, self.groups, "calendar", True, "owner")
            if owned.primary:
                raise bad_request(
                    "Cannot delete a primary calendar; clear it instead.",
                    "cannotDeletePrimaryCalendar",
                )
            del self.calendars[owned.id]
            self.stats.write()
            return Response(204)
        raise not_found()

    def _acl_op(
        self, req: Request, token: AccessToken, cal: Calendar | None, rule_id: str | None
    ) -> Response:
        if req.method == "GET" and rule_id is None:
            owned = require(cal, token, self.groups, "acl", False, "writer")
            items = list(owned.acl.values())
            return Response.json(200, {"kind": "calendar#acl", "etag": owned.etag, "items": items})
        if req.method == "POST" and rule_id is None:
            owned = require(cal, token, self.groups, "acl", True, "owner")
            body = _body(req)
            role, scope = body.get("role"), body.get("scope")
            if role not in ROLES:
                raise bad_request("Invalid value for: role", "required")
            if not isinstance(scope, dict) or scope.get("type") not in {
                "default",
                "user",
                "group",
                "domain",
            }:
                raise bad_request("Invalid value for: scope.type", "required")
            value = scope.get("value")
            if scope["type"] != "default" and (not isinstance(value, str) or not value):
                raise bad_request("Missing scope value.", "required")
            rule = owned.set_rule(
                scope["type"], value.lower() if isinstance(value, str) else None, role
            )
            self.stats.write()
            return Response.json(200, rule)
        if rule_id is not None and req.method in {"GET", "DELETE"}:
            owned = require(cal, token, self.groups, "acl", req.method == "DELETE", "owner")
            existing = owned.acl.get(rule_id)
            if existing is None:
                raise not_found()
            if req.method == "GET":
                return Response.json(200, existing)
            del owned.acl[rule_id]
            self.stats.write()
            return Response(204)
        raise not_found()

    # --- events ----------------------------------------------------------------------------

    def _touch(self, event: dict[str, Any]) -> None:
        event["etag"] = next_etag()
        event["updated"] = rfc3339(dt.datetime.now(dt.UTC))

    def _insert(self, req: Request, token: AccessToken, cal: Calendar) -> Response:
        body = _body(req)
        event_id = events_mod.check_id(body["id"]) if "id" in body else events_mod.new_id()
        if not isinstance(body.get("sequence", 0), int):
            raise bad_request("Invalid value for: sequence")
        if event_id in cal.events:
            raise ApiError(409, "duplicate", "The requested identifier already exists.")
        fields = events_mod.writable(body)
        now = rfc3339(dt.datetime.now(dt.UTC))
        event: dict[str, Any] = {
            "kind": "calendar#event",
            "etag": next_etag(),
            "id": event_id,
            "status": "confirmed",
            "htmlLink": events_mod.html_link(event_id, cal.id),
            "created": now,
            "updated": now,
            **fields,
            "creator": {"email": token.user},
            "organizer": {"email": cal.id, "displayName": cal.summary, "self": True},
            "iCalUID": f"{event_id}@google.com",
            "sequence": int(fields.get("sequence", 0)),
            "reminders": fields.get("reminders", {"useDefault": True}),
            "eventType": "default",
        }
        events_mod.validate(event)
        self._order += 1
        cal.order[event_id] = self._order
        cal.events[event_id] = event
        self.stats.write()
        return Response.json(200, event)

    def _change(self, req: Request, cal: Calendar, event: dict[str, Any], kind: str) -> Response:
        body = _body(req)
        if "id" in body and body["id"] != event["id"]:
            raise bad_request("The event id in the body does not match the one in the URL.")
        fields = events_mod.writable(body)
        server_side = {
            k: event[k]
            for k in (
                "kind",
                "etag",
                "id",
                "htmlLink",
                "created",
                "updated",
                "creator",
                "organizer",
                "iCalUID",
                "eventType",
            )
        }
        if kind == "patch":
            changed = events_mod.merge_patch(event, fields)
        else:
            changed = {
                **server_side,
                "status": event["status"],
                "sequence": event.get("sequence", 0),
                **fields,
            }
            changed.setdefault("reminders", {"useDefault": True})
        changed.update(server_side)
        current_sequence = int(event.get("sequence", 0))
        if "sequence" in fields:
            if not isinstance(fields["sequence"], int) or fields["sequence"] < current_sequence:
                raise bad_request(
                    "Invalid sequence value. The specified sequence number is below the current sequence number of the resource.",
                    "invalidSequenceValue",
                )
        elif any(changed.get(k) != event.get(k) for k in ("start", "end")):
            changed["sequence"] = current_sequence + 1
        events_mod.validate(changed)
        self._touch(changed)
        cal.events[event["id"]] = changed
        self.stats.write()
        return Response.json(200, changed)

    def _list(self, req: Request, cal: Calendar, role: str) -> Response:
        if req.arg("syncToken"):
            raise bad_request(
                "The emulator does not implement syncToken; list with filters instead."
            )
        try:
            max_results = min(int(req.arg("maxResults") or 250), 2500)
        except ValueError:
            raise bad_request("Invalid value for: maxResults") from None
        if max_results < 1:
            raise bad_request(
                f"Invalid value '{max_results}'. Values must be within the range: [1, 2500]"
            )
        time_min = self._bound(req, "timeMin")
        time_max = self._bound(req, "timeMax")
        show_deleted = req.arg("showDeleted") == "true"
        ical_uid = req.arg("iCalUID")
        order_by = req.arg("orderBy")
        if order_by == "startTime" and req.arg("singleEvents") != "true":
            raise bad_request("The requested ordering is not available for the particular query.")
        text = (req.arg("q") or "").lower()
        found = []
        for event in cal.events.values():
            if event["status"] == "cancelled" and not show_deleted:
                continue
            if ical_uid is not None and event["iCalUID"] != ical_uid:
                continue
            if not events_mod.extended_match(
                event, "private", req.query.get("privateExtendedProperty", [])
            ):
                continue
            if not events_mod.extended_match(
                event, "shared", req.query.get("sharedExtendedProperty", [])
            ):
                continue
            if (time_min or time_max) and not events_mod.overlaps(
                event, cal.time_zone, time_min, time_max
            ):
                continue
            if text and not any(
                text in str(event.get(k, "")).lower()
                for k in ("summary", "description", "location")
            ):
                continue
            found.append(event)

        def key(event: dict[str, Any]) -> list[Any]:
            first = (
                events_mod.span(event, cal.time_zone)[0].timestamp()
                if order_by == "startTime"
                else 0
            )
            return [first, cal.order[event["id"]]]

        found.sort(key=key)
        after = _page_after(req.arg("pageToken"))
        if after is not None:
            found = [e for e in found if key(e) > after]
        page, more = found[:max_results], len(found) > max_results
        body: dict[str, Any] = {
            "kind": "calendar#events",
            "etag": next_etag(),
            "summary": cal.summary,
            "description": cal.description or "",
            "updated": max(
                (e["updated"] for e in cal.events.values()),
                default=rfc3339(dt.datetime.now(dt.UTC)),
            ),
            "timeZone": cal.time_zone,
            "accessRole": role,
            "defaultReminders": [{"method": "popup", "minutes": 10}] if cal.primary else [],
            "items": page,
        }
        if more:
            body["nextPageToken"] = _page_token(key(page[-1]))
        return Response.json(200, body)

    @staticmethod
    def _bound(req: Request, name: str) -> dt.datetime | None:
        value = req.arg(name)
        if value is None:
            return None
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise bad_request("Bad Request", "badRequest")
        return moment


def _body(req: Request) -> dict[str, Any]:
    try:
        body = req.json()
    except ValueError:
        raise ApiError(400, "parseError", "Parse Error") from None
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ApiError(400, "parseError", "Parse Error")
    return body


def _page_token(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def _page_after(token: str | None) -> list[Any] | None:
    if not token:
        return None
    try:
        after = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        raise bad_request("Invalid page token value.") from None
    if not isinstance(after, list):
        raise bad_request("Invalid page token value.")
    return after
