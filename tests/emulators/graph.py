"""A Microsoft Graph (v1.0 calendars) and identity-platform emulator over real HTTPS.

Point msal and requests at it::

    with GraphEmulator() as emu:
        session = requests.Session(); session.verify = emu.ca_file; session.trust_env = False
        app = msal.ConfidentialClientApplication(client_id, client_credential=secret,
            authority=emu.authority(tenant), instance_discovery=False, http_client=session)
        session.get(emu.graph_url + "/users/senco@school.example/calendar/events", headers=...)
"""

from __future__ import annotations

import copy
import json
import ssl
import tempfile
import threading
import urllib.parse
from pathlib import Path
from typing import Any

import trustme

from tests.emulators import graph_store as store
from tests.emulators.faults import Fault
from tests.emulators.graph_batch import MAX_BATCH, GraphBatch
from tests.emulators.graph_events import GraphResources, Group, Target
from tests.emulators.graph_identity import App, GraphIdentity, Token, User
from tests.emulators.graph_store import Calendar, GraphError, Mailbox, not_found
from tests.emulators.server import EmulatorServer, Request, Response

FAULT_CODES = {
    429: "TooManyRequests",
    503: "ServiceUnavailable",
    500: "InternalServerError",
    504: "GatewayTimeout",
    403: "ErrorAccessDenied",
}
DENIED = "Access is denied. Check credentials and try again."
KINDS = {"POST": "insert", "PATCH": "patch", "DELETE": "delete", "GET": "get", "PUT": "update"}

_CA_LOCK = threading.Lock()
_CA: tuple[trustme.CA, trustme.LeafCert, Path] | None = None


def _certificates() -> tuple[trustme.CA, trustme.LeafCert, Path]:
    """A throw-away CA and a 127.0.0.1 certificate, made once per test process."""
    global _CA
    with _CA_LOCK:
        if _CA is None:
            ca = trustme.CA()
            leaf = ca.issue_cert("127.0.0.1", "localhost")
            folder = Path(tempfile.mkdtemp(prefix="graph-emulator-"))
            ca.cert_pem.write_to_path(str(folder / "ca.pem"))
            _CA = (ca, leaf, folder / "ca.pem")
        return _CA


class GraphEmulator(GraphResources, GraphBatch, EmulatorServer):
    """Graph's calendar API and the identity platform's endpoints on ``base_url`` (HTTPS).

    Attributes:
        ca_file: The test CA's PEM, for ``session.verify`` (with ``session.trust_env = False``).
        graph_url: ``base_url + "v1.0"``, where Graph calls go.
        mailbox_concurrency: Requests in flight per mailbox before 429 (Graph's is 4).
        throttle_retry_after: The ``Retry-After`` (seconds) of a MailboxConcurrency 429.
    """

    def __init__(self) -> None:
        _, leaf, ca_file = _certificates()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(context)
        super().__init__(ssl_context=context)
        self.ca_file = str(ca_file)
        self.graph_url = self.base_url + "v1.0"
        self.identity = GraphIdentity(self.base_url)
        self.mailbox_concurrency = 4
        self.throttle_retry_after = 1
        self.mailboxes: dict[str, Mailbox] = {}  # by user or group id
        self.groups: dict[str, Group] = {}
        self.restrictions: dict[str, set[str]] = {}  # client id -> mailbox ids it may reach
        self.delegates: dict[str, set[str]] = {}  # mailbox id -> user ids given access

    # --- set-up ----------------------------------------------------------------------------

    @property
    def token_lifetime(self) -> int:
        return self.identity.token_lifetime

    @token_lifetime.setter
    def token_lifetime(self, seconds: int) -> None:
        self.identity.token_lifetime = seconds

    def authority(self, tenant: str) -> str:
        """The msal ``authority`` for a tenant."""
        return self.base_url + tenant

    def add_tenant(self, tenant_id: str) -> None:
        with self.lock:
            self.identity.tenants.add(tenant_id)

    def add_app(
        self,
        tenant: str,
        client_id: str,
        secret: str,
        roles: list[str] | None = None,
        redirect_uris: list[str] | None = None,
    ) -> None:
        """An app registration with a client secret and admin-consented application roles."""
        with self.lock:
            self._tenant(tenant)
            roles = ["Calendars.ReadWrite"] if roles is None else roles
            self.identity.apps[client_id] = App(
                tenant, client_id, secret, tuple(roles), tuple(redirect_uris or ())
            )

    def add_user(self, tenant: str, upn: str, kind: str = "user") -> str:
        """A user (who can sign in) or a shared mailbox; returns its object id."""
        if kind not in {"user", "shared_mailbox"}:
            raise ValueError("kind is 'user' or 'shared_mailbox'")
        with self.lock:
            self._tenant(tenant)
            user = self.identity.add_user(tenant, upn, kind)
            self.mailboxes[user.id] = Mailbox(user.upn, kind)
            return user.id

    def add_group(self, tenant: str, group_id: str, members: list[str]) -> None:
        """A Microsoft 365 group (with its calendar); members by UPN or id."""
        with self.lock:
            self._tenant(tenant)
            ids = {self._user(m).id for m in members}
            mailbox = Mailbox(f"{group_id}@groups", "group")
            self.groups[group_id] = Group(tenant, group_id, ids, mailbox)
            self.mailboxes[group_id] = mailbox

    def restrict_app(self, client_id: str, mailboxes: list[str]) -> None:
        """Exchange RBAC for Applications: app-only calls reach only these mailboxes."""
        with self.lock:
            self.restrictions[client_id] = {self._user(m).id for m in mailboxes}

    def grant_mailbox_access(self, mailbox: str, upn: str) -> None:
        """Share a mailbox's calendar with a user (delegated ``Calendars.ReadWrite.Shared``)."""
        with self.lock:
            self.delegates.setdefault(self._user(mailbox).id, set()).add(self._user(upn).id)

    def consent_as(self, upn: str | None) -> None:
        """Who signs in and consents at the authorize endpoint (``None``: declines)."""
        with self.lock:
            self.identity.consent_user = upn

    def revoke_consent(self, user_or_app: str) -> None:
        """Revoke a user's consents (UPN) or an app's (client id): refreshes and tokens stop."""
        with self.lock:
            if not self.identity.revoke(user_or_app):
                raise KeyError(f"nothing to revoke for {user_or_app}")

    def expire_tokens(self) -> None:
        """Expire every access token now."""
        with self.lock:
            self.identity.expire_tokens()

    def _tenant(self, tenant: str) -> None:
        if tenant not in self.identity.tenants:
            raise KeyError(f"no tenant {tenant}; add_tenant first")

    def _user(self, key: str) -> User:
        found = self.identity.user(key)
        if found is None:
            raise KeyError(f"no user {key}")
        return found

    def _mailbox(self, key: str) -> Mailbox:
        if key in self.groups:
            return self.groups[key].mailbox
        return self.mailboxes[self._user(key).id]

    # --- people editing by hand ------------------------------------------------------------

    def hand_delete(self, mailbox: str, event_id: str) -> None:
        """A person deletes an event in Outlook: it is gone (Graph keeps no cancelled copy)."""
        with self.lock:
            calendar, _ = self._mailbox(mailbox).find(event_id)
            del calendar.events[event_id]

    def hand_edit(self, mailbox: str, event_id: str, **fields: Any) -> None:
        """A person edits an event in Outlook (e.g. ``start=``, ``location=``)."""
        with self.lock:
            calendar, event = self._mailbox(mailbox).find(event_id)
            changed = {**copy.deepcopy(event), **copy.deepcopy(fields)}
            store.validate(changed)
            self._touch(changed)
            calendar.events[event_id] = changed

    def events(self, mailbox: str, calendar_id: str | None = None) -> list[dict[str, Any]]:
        """The API JSON of each event (all extended properties expanded), in creation order."""
        with self.lock:
            box = self._mailbox(mailbox)
            calendar = box.calendars[calendar_id] if calendar_id else box.default
            return [self._present_all(e) for e in calendar.events.values()]

    def calendars(self, mailbox: str) -> list[dict[str, Any]]:
        """The mailbox's calendars as Graph lists them."""
        with self.lock:
            box = self._mailbox(mailbox)
            return [c.resource(box.address) for c in box.calendars.values()]

    @staticmethod
    def _present_all(event: dict[str, Any]) -> dict[str, Any]:
        out = store.present(event, None, [p["id"] for p in event.get("_props", [])], "UTC")
        return out

    # --- HTTP: classification, concurrency, faults -----------------------------------------

    def classify(self, req: Request) -> str:
        segs = _segments(req)
        if len(segs) >= 3 and segs[1:3] == ["oauth2", "v2.0"]:
            return "token" if segs[-1] == "token" else "other"
        if segs[:1] != ["v1.0"] or len(segs) < 2:
            return "other"
        if segs[1] == "$batch":
            return "batch"
        rest = segs[3:]
        if not rest:
            return "other"
        if rest[0] in {"calendar", "calendars"} and "events" not in rest:
            return "calendar"
        if "events" in rest:
            after = rest[rest.index("events") + 1 :]
            if not after:
                return "list" if req.method == "GET" else KINDS.get(req.method, "other")
            return KINDS.get(req.method, "other")
        return "other"

    def fault_response(self, req: Request, fault: Fault) -> Response:
        headers = [("Retry-After", str(fault.retry_after))] if fault.retry_after is not None else []
        if self.classify(req) == "token":
            code = fault.reason or (
                "temporarily_unavailable" if fault.status >= 500 else "invalid_request"
            )
            body = {
                "error": code,
                "error_description": f"AADSTS50196: The server is unavailable ({fault.status}).",
                "error_codes": [50196],
            }
            return Response.json(fault.status, body, headers)
        code = fault.reason or FAULT_CODES.get(fault.status, "UnknownError")
        messages = {
            "TooManyRequests": "Too many requests.",
            "ApplicationThrottled": "Application is over its MailboxConcurrency limit.",
            "ServiceUnavailable": "Service unavailable.",
            "ErrorAccessDenied": DENIED,
        }
        return GraphError(
            fault.status, code, messages.get(code, "An error occurred."), headers
        ).response()

    def _mailboxes_of(self, req: Request) -> set[str]:
        segs = _segments(req)
        keys: list[str] = []
        if segs[:1] == ["v1.0"] and len(segs) > 1 and segs[1] == "$batch":
            try:
                body = json.loads(req.body or b"{}")
                for item in body.get("requests", [])[:MAX_BATCH]:
                    keys += [_segments_of(str(item.get("url", "")))[:2]]  # type: ignore[list-item]
            except (ValueError, AttributeError, TypeError):
                return set()
        elif segs[:1] == ["v1.0"] and len(segs) > 2:
            keys = [segs[1:3]]  # type: ignore[list-item]
        found = set()
        for key in keys:
            if len(key) == 2 and key[0] == "users":
                user = self.identity.user(key[1])
                if user is not None:
                    found.add(user.id)
            elif len(key) == 2 and key[0] == "groups" and key[1] in self.groups:
                found.add(key[1])
        return found

    def enter(self, req: Request) -> Response | None:
        with self.lock:
            keys = self._mailboxes_of(req)
            for key in keys:
                if self.mailboxes[key].inflight >= self.mailbox_concurrency:
                    return GraphError(
                        429,
                        "ApplicationThrottled",
                        "Application is over its MailboxConcurrency limit.",
                        [("Retry-After", str(self.throttle_retry_after))],
                    ).response()
            for key in keys:
                self.mailboxes[key].inflight += 1
            req.extras["mailboxes"] = keys
        return None

    def leave(self, req: Request) -> None:
        with self.lock:
            for key in req.extras.get("mailboxes", ()):
                self.mailboxes[key].inflight -= 1

    # --- routing ---------------------------------------------------------------------------

    def route(self, req: Request) -> Response:
        segs = _segments(req)
        if len(segs) == 4 and segs[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            with self.lock:
                return self.identity.openid_configuration(segs[0])
        if len(segs) == 4 and segs[1:3] == ["oauth2", "v2.0"]:
            with self.lock:
                if segs[3] == "token" and req.method == "POST":
                    return self.identity.token(segs[0], req)
                if segs[3] == "authorize" and req.method == "GET":
                    return self.identity.authorize(segs[0], req)
        if segs[:1] == ["v1.0"] and segs[1:2] == ["$batch"] and req.method == "POST":
            return self._batch(req)
        if segs[:1] == ["v1.0"]:
            return self._api(req)
        return GraphError(404, "BadRequest", "Resource not found for the segment.").response()

    def _api(self, req: Request) -> Response:
        kind = self.classify(req)
        write = req.method in {"POST", "PATCH", "DELETE", "PUT"}

        def run() -> Response:
            try:
                with self.lock:
                    checked = self.identity.check(req)
                    if isinstance(checked, str):
                        raise GraphError(
                            401,
                            "InvalidAuthenticationToken",
                            checked,
                            [("WWW-Authenticate", 'Bearer realm="", error="invalid_token"')],
                        )
                    return self._dispatch(req, kind, checked)
            except GraphError as error:
                return error.response()

        if write and kind in {"insert", "patch", "delete", "update", "calendar"}:
            return self.write(lambda fault: self.fault_response(req, fault), run)
        return run()

    def _target(self, req: Request, token: Token) -> Target:
        segs = _segments(req)[1:]
        if len(segs) < 3 or segs[0] not in {"users", "groups"}:
            raise GraphError(
                400,
                "BadRequest",
                f"Resource not found for the segment '{segs[0] if segs else ''}'.",
            )
        rest = segs[2:]
        owner: User | Group
        if segs[0] == "groups":
            group = self.groups.get(segs[1])
            if group is None or group.tenant != token.tenant:
                raise GraphError(
                    404,
                    "Request_ResourceNotFound",
                    f"Resource '{segs[1]}' does not exist or one of its queried reference-property objects are not present.",
                )
            owner, mailbox = group, group.mailbox
        else:
            user = self.identity.user(segs[1])
            if user is None or user.tenant != token.tenant:
                raise GraphError(
                    404, "ErrorInvalidUser", f"The requested user '{segs[1]}' is invalid."
                )
            owner, mailbox = user, self.mailboxes[user.id]
        calendar: Calendar | None = None
        if rest[0] == "calendar":
            calendar, rest = mailbox.default, rest[1:]
            collection = "calendar"
        elif rest[0] == "calendars":
            collection = "calendars"
            if len(rest) > 1:
                calendar = mailbox.calendars.get(rest[1])
                if calendar is None:
                    raise not_found()
            rest = rest[2:]
        elif rest[0] == "events":
            collection = "events"
        else:
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[0]}'.")
        if rest and rest[0] == "events":
            collection, rest = "events", rest[1:]
        elif rest:
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[0]}'.")
        return Target(mailbox, owner, collection, calendar, rest[0] if rest else None)

    def _allow(self, token: Token, target: Target, write: bool) -> None:
        owner = target.owner
        if isinstance(owner, Group):
            if token.app_only:
                raise GraphError(403, "ErrorAccessDenied", DENIED)
            need = {"Group.ReadWrite.All"} if write else {"Group.ReadWrite.All", "Group.Read.All"}
            if (
                not token.permissions & need
                or token.user is None
                or token.user.id not in owner.members
            ):
                raise GraphError(403, "ErrorAccessDenied", DENIED)
            return
        if token.app_only:
            need = {"Calendars.ReadWrite"} if write else {"Calendars.ReadWrite", "Calendars.Read"}
            allowed = self.restrictions.get(token.app.client_id)
            if not token.permissions & need or (allowed is not None and owner.id not in allowed):
                raise GraphError(403, "ErrorAccessDenied", DENIED)
            return
        assert token.user is not None
        if owner.id == token.user.id:
            need = {"Calendars.ReadWrite"} if write else {"Calendars.ReadWrite", "Calendars.Read"}
        else:
            need = (
                {"Calendars.ReadWrite.Shared"}
                if write
                else {"Calendars.ReadWrite.Shared", "Calendars.Read.Shared"}
            )
            if token.user.id not in self.delegates.get(owner.id, set()):
                raise GraphError(403, "ErrorAccessDenied", DENIED)
        if not token.permissions & need:
            raise GraphError(403, "ErrorAccessDenied", DENIED)

    def _dispatch(self, req: Request, kind: str, token: Token) -> Response:
        target = self._target(req, token)
        write = req.method != "GET"
        self._allow(token, target, write)
        if target.collection in {"calendar", "calendars"}:
            return self._calendar_op(req, target)
        calendar = target.calendar or target.mailbox.default
        if target.event_id is None:
            if req.method == "GET":
                return self._list(req, target, calendar)
            if req.method == "POST":
                return self._insert(req, target, calendar)
            raise GraphError(405, "BadRequest", "The HTTP method is not allowed for this resource.")
        found_in, event = target.mailbox.find(target.event_id)
        if target.calendar is not None and found_in is not target.calendar:
            raise not_found()
        if req.method == "GET":
            return Response.json(200, self._present(req, event))
        if_match = req.header("if-match")
        if if_match is not None and if_match not in {"*", event["@odata.etag"]}:
            raise GraphError(
                412,
                "ErrorIrresolvableConflict",
                "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.",
            )
        if req.method == "DELETE":
            del found_in.events[target.event_id]
            self.stats.write()
            return Response(204)
        if req.method == "PATCH":
            return self._patch(req, target, found_in, event)
        raise GraphError(405, "BadRequest", "The HTTP method is not allowed for this resource.")


def _segments_of(path: str) -> list[str]:
    path = urllib.parse.urlsplit(path).path
    return [urllib.parse.unquote(s) for s in path.split("/") if s]


def _segments(req: Request) -> list[str]:
    return [urllib.parse.unquote(s) for s in req.raw_path.split("/") if s]
