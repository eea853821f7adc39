"""Graph calendars and events: create, change, list and present them (a mixin of the emulator)."""

from __future__ import annotations

import copy
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

from tests.emulators import graph_store as store
from tests.emulators.graph_identity import User
from tests.emulators.graph_store import Calendar, GraphError, Mailbox, invalid
from tests.emulators.server import Request, Response, Stats

PREFER_ZONE = re.compile(r'outlook\.timezone="([^"]+)"', re.IGNORECASE)


@dataclass
class Group:
    tenant: str
    id: str
    members: set[str]
    mailbox: Mailbox


@dataclass
class Target:
    """What a Graph path names: a mailbox, maybe a calendar, maybe an event, and the collection."""

    mailbox: Mailbox
    owner: User | Group
    collection: str  # "calendar", "calendars", "events"
    calendar: Calendar | None = None
    event_id: str | None = None


class GraphResources:
    """Calendar and event operations on a resolved ``Target`` (the emulator's lock is held)."""

    stats: Stats
    graph_url: str
    base_url: str

    @staticmethod
    def _touch(event: dict[str, Any]) -> None:
        event["changeKey"] = store.change_key()
        event["@odata.etag"] = f'W/"{event["changeKey"]}"'
        event["lastModifiedDateTime"] = store.now_text()

    def _present(self, req: Request, event: dict[str, Any]) -> dict[str, Any]:
        prefer = PREFER_ZONE.search(req.header("prefer") or "")
        return store.present(
            event,
            req.arg("$select"),
            store.expanded_ids(req.arg("$expand")),
            prefer.group(1) if prefer else "UTC",
        )

    # --- calendars -------------------------------------------------------------------------

    def _calendar_op(self, req: Request, target: Target) -> Response:
        box = target.mailbox
        if target.collection == "calendar" or target.calendar is not None:
            calendar = target.calendar or box.default
            if req.method == "GET":
                return Response.json(200, calendar.resource(box.address))
            if req.method == "DELETE" and target.collection == "calendars":
                if calendar.is_default:
                    raise invalid(
                        "The default calendar cannot be deleted.", "ErrorCannotDeleteObject"
                    )
                del box.calendars[calendar.id]
                self.stats.write()
                return Response(204)
        elif req.method == "GET":
            return Response.json(
                200,
                {
                    "@odata.context": f"{self.graph_url}/$metadata#calendars",
                    "value": [c.resource(box.address) for c in box.calendars.values()],
                },
            )
        elif req.method == "POST":
            body = _body(req)
            name = body.get("name")
            if not isinstance(name, str) or not name.strip():
                raise invalid("The calendar name is required.", "ErrorInvalidRequest")
            if any(c.name.lower() == name.lower() for c in box.calendars.values()):
                raise GraphError(
                    409, "ErrorFolderExists", "A folder with the specified name already exists."
                )
            calendar = Calendar(store.graph_id(), name, box.address)
            box.calendars[calendar.id] = calendar
            self.stats.write()
            return Response.json(201, calendar.resource(box.address))
        raise GraphError(405, "BadRequest", "The HTTP method is not allowed for this resource.")

    # --- events ----------------------------------------------------------------------------

    def _insert(self, req: Request, target: Target, calendar: Calendar) -> Response:
        body = _body(req)
        box = target.mailbox
        tx = body.get("transactionId")
        if tx is not None:
            if not isinstance(tx, str) or not tx:
                raise invalid("transactionId must be a non-empty string.", "BadRequest")
            existing_id = box.transactions.get(tx)
            if existing_id is not None:
                for cal in box.calendars.values():
                    if existing_id in cal.events:
                        return Response.json(201, self._present(req, cal.events[existing_id]))
        fields = {k: copy.deepcopy(body[k]) for k in store.WRITABLE if k in body}
        props = store.check_properties(body.get("singleValueExtendedProperties", []))
        now = store.now_text()
        event_id = store.graph_id()
        address = box.address
        event: dict[str, Any] = {
            "@odata.etag": "",
            "id": event_id,
            "createdDateTime": now,
            "lastModifiedDateTime": now,
            "changeKey": "",
            "categories": [],
            "originalStartTimeZone": (fields.get("start") or {}).get("timeZone", "UTC"),
            "originalEndTimeZone": (fields.get("end") or {}).get("timeZone", "UTC"),
            "iCalUId": "040000008200E00074C5B7101A82E00800000000"
            + store.change_key().encode().hex()[:48].upper(),
            "reminderMinutesBeforeStart": 15,
            "isReminderOn": True,
            "hasAttachments": False,
            "subject": "",
            "importance": "normal",
            "sensitivity": "normal",
            "isAllDay": False,
            "isCancelled": False,
            "isOrganizer": True,
            "responseRequested": True,
            "showAs": "busy",
            "type": "singleInstance",
            "webLink": f"https://outlook.office365.com/owa/?itemid={urllib.parse.quote(event_id)}&exvsurl=1&path=/calendar/item",
            "isOnlineMeeting": False,
            "body": {"contentType": "text", "content": ""},
            "location": {"displayName": "", "locationType": "default", "uniqueIdType": "unknown"},
            "attendees": [],
            "organizer": {"emailAddress": {"name": address.partition("@")[0], "address": address}},
            **fields,
            "_props": props,
        }
        if tx is not None:
            event["transactionId"] = tx
        _normalise(event)
        store.validate(event)
        self._touch(event)
        calendar.events[event_id] = event
        if tx is not None:
            box.transactions[tx] = event_id
        self.stats.write()
        return Response.json(201, self._present(req, event))

    def _patch(
        self, req: Request, target: Target, calendar: Calendar, event: dict[str, Any]
    ) -> Response:
        body = _body(req)
        if "transactionId" in body and body["transactionId"] != event.get("transactionId"):
            raise invalid("The transactionId of an event cannot be changed.", "ErrorInvalidRequest")
        changed = copy.deepcopy(event)
        changed.update({k: copy.deepcopy(body[k]) for k in store.WRITABLE if k in body})
        if "singleValueExtendedProperties" in body:
            new = store.check_properties(body["singleValueExtendedProperties"])
            changed["_props"] = store.merge_properties(changed.get("_props", []), new)
        _normalise(changed)
        store.validate(changed)
        self._touch(changed)
        calendar.events[event["id"]] = changed
        self.stats.write()
        return Response.json(200, self._present(req, changed))

    def _list(self, req: Request, target: Target, calendar: Calendar) -> Response:
        try:
            top = int(req.arg("$top") or 10)
            skip = int(req.arg("$skip") or 0)
        except ValueError:
            raise GraphError(400, "BadRequest", "Invalid $top or $skip value.") from None
        if top < 1 or skip < 0:
            raise GraphError(400, "BadRequest", "Invalid $top or $skip value.")
        top = min(top, 1000)
        found = [e for e in calendar.events.values() if store.matches_filter(e, req.arg("$filter"))]
        page = found[skip : skip + top]
        body: dict[str, Any] = {
            "@odata.context": f"{self.graph_url}/$metadata#users('{target.mailbox.address}')/events",
            "value": [self._present(req, e) for e in page],
        }
        if skip + top < len(found):
            query = {k: v[0] for k, v in req.query.items() if k not in {"$skip", "$top"}}
            query |= {"$top": str(top), "$skip": str(skip + top)}
            path = req.raw_path if req.raw_path.startswith("/v1.0") else "/v1.0" + req.raw_path
            body["@odata.nextLink"] = (
                self.base_url.rstrip("/")
                + path
                + "?"
                + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
            )
        return Response.json(200, body)


def _body(req: Request) -> dict[str, Any]:
    try:
        body = req.json()
    except ValueError:
        raise GraphError(400, "BadRequest", "Unable to read JSON request payload.") from None
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "Unable to read JSON request payload.")
    return body


def _normalise(event: dict[str, Any]) -> None:
    location = event.get("location")
    if isinstance(location, dict):
        event["location"] = {"locationType": "default", "uniqueIdType": "unknown", **location}
        event["locations"] = [event["location"]] if location.get("displayName") else []
    body = event.get("body")
    if isinstance(body, dict):
        text = re.sub(r"<[^>]+>", "", str(body.get("content", "")))
        event["bodyPreview"] = " ".join(text.split())[:255]
