"""A Google Calendar API v3 emulator: a real HTTP server with state, auth, batches and faults.

Point the real google-api-python-client at it::

    with GoogleCalendarEmulator() as emu:
        emu.add_user("senco@school.example")
        service = build("calendar", "v3", credentials=creds, static_discovery=True,
                        client_options={"api_endpoint": emu.base_url})
        batch = BatchHttpRequest(batch_uri=emu.batch_uri)
"""

from __future__ import annotations

import copy
import json
import urllib.parse
from typing import Any

from tests.emulators import google_events as events_mod
from tests.emulators.faults import Fault
from tests.emulators.google_auth import AccessToken, GoogleIdentity, OAuthClient
from tests.emulators.google_operations import GoogleOperations
from tests.emulators.google_state import (
    Calendar,
    require,
)
from tests.emulators.google_wire import (
    ApiError,
    Part,
    bad_request,
    batch_response,
    fault_error,
    not_found,
    parse_batch,
    parse_fields,
    select_fields,
)
from tests.emulators.server import EmulatorServer, Request, Response

API_PREFIX = ("calendar", "v3")
MAX_BATCH = 1000
EVENT_KINDS = {
    "POST": "insert",
    "PATCH": "patch",
    "PUT": "update",
    "DELETE": "delete",
    "GET": "get",
}


def _segments(req: Request) -> list[str]:
    return [urllib.parse.unquote(s) for s in req.raw_path.split("/") if s]


def _api_segments(req: Request) -> list[str] | None:
    """The path after ``calendars/`` for a Calendar API call, else ``None``.

    The discovery document's ``baseUrl`` is replaced whole by ``api_endpoint``, so the client
    sends ``/calendars/...`` when pointed at ``base_url``; ``/calendar/v3/calendars/...`` (as on
    googleapis.com) is answered too.
    """
    segs = _segments(req)
    if tuple(segs[:2]) == API_PREFIX:
        segs = segs[2:]
    if not segs or segs[0] != "calendars":
        return None
    return segs[1:]


class GoogleCalendarEmulator(GoogleOperations, EmulatorServer):
    """Google Calendar v3 and Google's OAuth endpoints on ``base_url`` (plain HTTP).

    Attributes:
        batch_uri: Where ``BatchHttpRequest(batch_uri=...)`` must post.
        token_uri: The OAuth 2.0 token endpoint (service-account keys carry it).
        auth_uri: The consent page of the web flow.
        revoke_uri: ``POST token=...`` revokes a grant, as Google's revoke endpoint does.
        certs_uri: The id-token signing keys (``google.oauth2.id_token`` ``certs_url``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.batch_uri = self.base_url + "batch/calendar/v3"
        self.api_endpoint = self.base_url + "calendar/v3/"
        """Also works as ``api_endpoint`` (the path googleapis.com serves the API at)."""
        self.token_uri = self.base_url + "token"
        self.auth_uri = self.base_url + "o/oauth2/auth"
        self.revoke_uri = self.base_url + "revoke"
        self.certs_uri = self.base_url + "oauth2/v1/certs"
        self.identity = GoogleIdentity(is_user=self._is_user)
        self.users: dict[str, str] = {}
        """Each user's email and time zone."""
        self.groups: dict[str, set[str]] = {}
        self.calendars: dict[str, Calendar] = {}
        self._order = 0

    # --- set-up (what an administrator or a person does) -----------------------------------

    @property
    def token_lifetime(self) -> int:
        """Seconds an access token lives (default 3600)."""
        return self.identity.token_lifetime

    @token_lifetime.setter
    def token_lifetime(self, seconds: int) -> None:
        self.identity.token_lifetime = seconds

    def _is_user(self, email: str) -> bool:
        return email.lower() in self.users

    def add_user(self, email: str, time_zone: str = "Europe/London") -> None:
        """Create a user and their primary calendar (its id is the email)."""
        email = email.lower()
        with self.lock:
            self.users[email] = time_zone
            calendar = Calendar(email, email, time_zone, email, primary=True)
            calendar.set_rule("user", email, "owner")
            self.calendars[email] = calendar

    def add_group(self, email: str, members: list[str]) -> None:
        """A Google group, for access rules with ``scope.type == "group"``."""
        with self.lock:
            self.groups[email.lower()] = {m.lower() for m in members}

    def add_service_account(self, domain: str) -> dict[str, str]:
        """A service account of a Workspace domain; returns its JSON key (as Google downloads it)."""
        with self.lock:
            return self.identity.add_service_account(domain, self.token_uri, self.auth_uri)

    def grant_delegation(self, client_id: str, scopes: list[str]) -> None:
        """Domain-wide delegation: the admin lets a service account's client id use ``scopes``."""
        with self.lock:
            if self.identity.service_account_by_client_id(client_id) is None:
                raise KeyError(f"no service account has client id {client_id}")
            self.identity.delegations[client_id] = frozenset(scopes)

    def add_oauth_client(
        self, client_id: str, client_secret: str, redirect_uris: list[str]
    ) -> None:
        """An OAuth web client registered in the Cloud console."""
        with self.lock:
            self.identity.clients[client_id] = OAuthClient(
                client_id, client_secret, tuple(redirect_uris)
            )

    def consent_as(self, email: str | None) -> None:
        """Who signs in and consents at ``auth_uri`` (``None``: the person clicks Cancel)."""
        with self.lock:
            self.identity.consent_user = email.lower() if email else None

    def revoke_grant(self, user_or_client: str) -> None:
        """Revoke a user's or a client's grants (a service account: its delegation)."""
        with self.lock:
            if not self.identity.revoke(user_or_client):
                raise KeyError(f"nothing to revoke for {user_or_client}")

    def expire_tokens(self) -> None:
        """Expire every access token now (the client does not know until it gets a 401)."""
        with self.lock:
            self.identity.expire_tokens()

    def delete_calendar(self, calendar_id: str) -> None:
        """A person deletes a calendar: later calls on it answer 404 ``notFound``."""
        with self.lock:
            del self.calendars[calendar_id]

    def hand_delete(self, calendar_id: str, event_id: str) -> None:
        """A person deletes an event in Google Calendar (it becomes ``cancelled``, id kept)."""
        with self.lock:
            event = self.calendars[calendar_id].events[event_id]
            event["status"] = "cancelled"
            self._touch(event)

    def hand_edit(self, calendar_id: str, event_id: str, **fields: Any) -> None:
        """A person edits an event (e.g. ``start=``, ``end=``, ``location=``); bumps etag, updated, sequence."""
        with self.lock:
            calendar = self.calendars[calendar_id]
            event = events_mod.merge_patch(calendar.events[event_id], fields)
            events_mod.validate(event)
            event["sequence"] = int(event.get("sequence", 0)) + 1
            self._touch(event)
            calendar.events[event_id] = event

    def events(self, calendar_id: str, include_cancelled: bool = False) -> list[dict[str, Any]]:
        """The API JSON of each event in a calendar, in creation order."""
        with self.lock:
            calendar = self.calendars[calendar_id]
            found = sorted(calendar.events.values(), key=lambda e: calendar.order[e["id"]])
            return [
                copy.deepcopy(e) for e in found if include_cancelled or e["status"] != "cancelled"
            ]

    def calendar(self, calendar_id: str) -> dict[str, Any] | None:
        """A calendar's API JSON, or ``None`` if there is none."""
        with self.lock:
            found = self.calendars.get(calendar_id)
            return found.resource() if found else None

    def acl(self, calendar_id: str) -> list[dict[str, Any]]:
        """A calendar's access rules."""
        with self.lock:
            return copy.deepcopy(list(self.calendars[calendar_id].acl.values()))

    def calendars_owned_by(self, email: str) -> list[str]:
        """The ids of the calendars a user owns (primary first)."""
        with self.lock:
            owned = [c for c in self.calendars.values() if c.owner == email.lower()]
            return [c.id for c in sorted(owned, key=lambda c: not c.primary)]

    # --- the HTTP side ---------------------------------------------------------------------

    def classify(self, req: Request) -> str:
        segs = _segments(req)
        if segs in (["token"], ["revoke"]):
            return "token"
        if segs[:3] == ["batch", "calendar", "v3"]:
            return "batch"
        rest = _api_segments(req)
        if rest is None:
            return "other"
        if len(rest) <= 1:
            return "calendar"
        if rest[1] == "acl":
            return "acl"
        if rest[1] == "events":
            if len(rest) == 2:
                return "list" if req.method == "GET" else EVENT_KINDS.get(req.method, "other")
            return EVENT_KINDS.get(req.method, "other")
        return "other"

    def fault_response(self, req: Request, fault: Fault) -> Response:
        if self.classify(req) == "token":  # the OAuth endpoints answer in OAuth's own shape
            error = (
                "rate_limit_exceeded" if fault.status == 429 else fault.reason or "internal_failure"
            )
            headers = (
                [("Retry-After", str(fault.retry_after))] if fault.retry_after is not None else []
            )
            body = {"error": error, "error_description": f"Service error {fault.status}"}
            return Response.json(fault.status, body, headers + [("Connection", "close")])
        return fault_error(fault).response()

    def route(self, req: Request) -> Response:
        segs = _segments(req)
        if segs == ["token"] and req.method == "POST":
            with self.lock:
                answer = self.identity.token(req, self.token_uri)
            # googleapiclient refreshes for a batch through a throw-away httplib2.Http it never
            # closes; closing here keeps its socket from leaking (a ResourceWarning in tests).
            answer.headers.append(("Connection", "close"))
            return answer
        if segs == ["revoke"] and req.method == "POST":
            with self.lock:
                value = req.form().get("token") or req.arg("token") or ""
                if self.identity.revoke_token(value):
                    return Response.json(200, {})
                return Response.json(
                    400, {"error": "invalid_token", "error_description": "Bad Request"}
                )
        if segs == ["o", "oauth2", "auth"] and req.method == "GET":
            with self.lock:
                return self.identity.authorize(req)
        if segs == ["oauth2", "v1", "certs"]:
            return Response.json(200, self.identity.certs())
        if segs == ["batch", "calendar", "v3"] and req.method == "POST":
            return self._batch(req)
        return self._api(req, self.classify(req))

    def _batch(self, req: Request) -> Response:
        try:
            parts = parse_batch(req.header("content-type") or "", req.body)
            if not parts:
                raise bad_request("A batch request needs at least one part.")
            if len(parts) > MAX_BATCH:
                raise bad_request(
                    f"A batch request may hold at most {MAX_BATCH} calls.", "batchSizeTooLarge"
                )
        except ApiError as error:
            return error.response()
        answers: list[tuple[str, Response]] = []
        for part in parts:
            answers.append((part.content_id, self._part(part, req)))
        return batch_response(answers)

    def _part(self, part: Part, outer: Request) -> Response:
        sub = part.request
        if "authorization" not in sub.headers and outer.header("authorization"):
            sub.headers["authorization"] = outer.headers["authorization"]
        kind = self.classify(sub)
        self.stats.part(kind)
        if kind in {"other", "batch", "token"}:
            return not_found().response()
        return self._api(sub, kind)

    def _api(self, req: Request, kind: str) -> Response:
        if kind == "other":
            return not_found().response()
        write = kind in {"insert", "patch", "update", "delete"} or (
            kind in {"calendar", "acl"} and req.method in {"POST", "DELETE", "PATCH", "PUT"}
        )

        def run() -> Response:
            try:
                with self.lock:
                    token = self.identity.check(req)
                    return self._dispatch(req, kind, token)
            except ApiError as error:
                return error.response()

        def partial() -> Response:
            answer = run()
            selection = req.arg("fields")
            if selection and answer.status == 200 and answer.body:
                try:
                    tree = parse_fields(selection)
                except ApiError as error:
                    return error.response()
                kept = [h for h in answer.headers if h[0].lower() != "content-type"]
                return Response.json(200, select_fields(json.loads(answer.body), tree), kept)
            return answer

        if write:
            return self.write(lambda fault: fault_error(fault).response(), partial)
        return partial()

    def _dispatch(self, req: Request, kind: str, token: AccessToken) -> Response:
        segs = _api_segments(req) or []
        calendar_id = segs[0] if segs else None
        if calendar_id == "primary":
            calendar_id = token.user
        cal = self.calendars.get(calendar_id) if calendar_id else None
        if kind == "calendar":
            return self._calendar_op(req, token, cal, calendar_id)
        if kind == "acl":
            return self._acl_op(req, token, cal, segs[2] if len(segs) > 2 else None)
        if kind == "list":
            readable = require(cal, token, self.groups, "events", False, "reader")
            return self._list(req, readable, readable.role_of(token.user, self.groups))
        owned = require(
            cal,
            token,
            self.groups,
            "events",
            kind != "get",
            "reader" if kind == "get" else "writer",
        )
        if kind == "insert":
            return self._insert(req, token, owned)
        event = owned.events.get(segs[2]) if len(segs) > 2 else None
        if event is None:
            raise not_found()
        if kind == "get":
            if req.header("if-none-match") == event["etag"]:
                return Response(304)
            return Response.json(200, event)
        if_match = req.header("if-match")
        if if_match is not None and if_match not in {"*", event["etag"]}:
            raise ApiError(
                412,
                "conditionNotMet",
                "Precondition Failed",
                location="If-Match",
                location_type="header",
            )
        if kind == "delete":
            if event["status"] == "cancelled":
                raise ApiError(410, "deleted", "Resource has been deleted")
            event["status"] = "cancelled"
            self._touch(event)
            self.stats.write()
            return Response(204)
        return self._change(req, owned, event, kind)
