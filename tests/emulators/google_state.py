"""The Google emulator's calendars: events, access rules, who may do what, and etags."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.emulators.google_auth import AccessToken
from tests.emulators.google_wire import ApiError, not_found

ROLES = ("none", "freeBusyReader", "reader", "writer", "owner")
_CAL = "https://www.googleapis.com/auth/calendar"
READ_SCOPES = {
    "calendar": {_CAL, _CAL + ".readonly", _CAL + ".calendars", _CAL + ".calendars.readonly"},
    "acl": {_CAL, _CAL + ".acls", _CAL + ".acls.readonly"},
    "events": {
        _CAL,
        _CAL + ".readonly",
        _CAL + ".events",
        _CAL + ".events.readonly",
        _CAL + ".events.owned",
        _CAL + ".events.owned.readonly",
    },
}
WRITE_SCOPES = {
    "calendar": {_CAL, _CAL + ".calendars"},
    "acl": {_CAL, _CAL + ".acls"},
    "events": {_CAL, _CAL + ".events", _CAL + ".events.owned"},
}
APP_CREATED = _CAL + ".app.created"
OWNED_ONLY = {_CAL + ".events.owned", _CAL + ".events.owned.readonly"}

_etags = itertools.count(3_000_000_000_000_000)
_etag_lock = threading.Lock()


def next_etag() -> str:
    """A fresh etag in Google's shape (a quoted 16-digit number)."""
    with _etag_lock:
        return f'"{next(_etags)}"'


@dataclass
class Calendar:
    """One calendar: its metadata, access rules and events (in the API's JSON shape)."""

    id: str
    summary: str
    time_zone: str
    owner: str
    primary: bool = False
    description: str | None = None
    created_by_client: str | None = None
    etag: str = field(default_factory=next_etag)
    acl: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    order: dict[str, int] = field(default_factory=dict)

    def resource(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "calendar#calendar",
            "etag": self.etag,
            "id": self.id,
            "summary": self.summary,
            "timeZone": self.time_zone,
            "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
        }
        if self.description is not None:
            body["description"] = self.description
        return body

    def set_rule(self, scope_type: str, value: str | None, role: str) -> dict[str, Any]:
        rule_id = "default" if scope_type == "default" else f"{scope_type}:{value}"
        scope: dict[str, str] = {"type": scope_type}
        if scope_type != "default" and value is not None:
            scope["value"] = value
        rule = {
            "kind": "calendar#aclRule",
            "etag": next_etag(),
            "id": rule_id,
            "scope": scope,
            "role": role,
        }
        self.acl[rule_id] = rule
        return rule

    def role_of(self, user: str, groups: dict[str, set[str]]) -> str:
        """The highest role any access rule gives ``user``."""
        best = 0
        domain = user.rpartition("@")[2].lower()
        for rule in self.acl.values():
            scope = rule["scope"]
            value = str(scope.get("value", "")).lower()
            matches = (
                scope["type"] == "default"
                or (scope["type"] == "user" and value == user.lower())
                or (scope["type"] == "domain" and value == domain)
                or (scope["type"] == "group" and user.lower() in groups.get(value, set()))
            )
            if matches:
                best = max(best, ROLES.index(rule["role"]))
        return ROLES[best]


def require(
    calendar: Calendar | None,
    token: AccessToken,
    groups: dict[str, set[str]],
    area: str,
    write: bool,
    role: str,
) -> Calendar:
    """The calendar, if the token's scopes and its user's role allow the operation.

    Raises:
        ApiError: 404 when the calendar is gone or invisible to the user; 403
            ``insufficientPermissions`` for missing scopes; 403 ``requiredAccessLevel`` for a
            too-low role.
    """
    if calendar is None:
        raise not_found()
    allowed = (WRITE_SCOPES if write else READ_SCOPES)[area]
    app_created = APP_CREATED in token.scopes and calendar.created_by_client == token.client_id
    if not (token.scopes & allowed) and not app_created:
        raise ApiError(
            403, "insufficientPermissions", "Request had insufficient authentication scopes."
        )
    actual = calendar.role_of(token.user, groups)
    if ROLES.index(actual) < ROLES.index("reader"):
        raise not_found()
    if token.scopes & allowed <= OWNED_ONLY and not app_created and actual != "owner":
        raise ApiError(
            403, "insufficientPermissions", "Request had insufficient authentication scopes."
        )
    if ROLES.index(actual) < ROLES.index(role):
        raise ApiError(
            403,
            "requiredAccessLevel",
            f"You need to have {role} access to this calendar.",
            domain="calendar",
        )
    return calendar
