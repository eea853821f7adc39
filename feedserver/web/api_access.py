"""The JSON API for access (admin only): keys, people, sign-in links, feed links, the audit log.

The same actions as the admin's pages, through the same storage functions, so each is audited
the same way. Routes register on the API blueprint through :func:`feedserver.web.apiroutes.route`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, request, url_for
from sqlalchemy.orm import Session

from feedserver.storage import accounts, apikeys, audit, subscriptions
from feedserver.storage.models import ApiKey, AuditEntry, SignInLink, User
from feedserver.storage.principals import Principal
from feedserver.web.apiroutes import ApiError, json_body, route
from feedserver.web.context import feed_cache, services

SHOWN_ONCE = "Shown once: copy it now. Only a hash is stored."


def _number(text: str) -> int:
    """A path's number (404 when it is not one, as for a number that names nothing)."""
    if not text.isdigit() or len(text) > 18:
        raise ApiError(404, "Not found.")
    return int(text)


def _when(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "role": key.role,
        "school_id": key.school_id,
        "label": key.label,
        "created_at": _when(key.created_at),
        "last_used_at": _when(key.last_used_at),
        "revoked_at": _when(key.revoked_at),
    }


def _user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "school_id": user.school_id,
        "created_at": _when(user.created_at),
        "disabled_at": _when(user.disabled_at),
    }


def _link_json(link: SignInLink) -> dict[str, Any]:
    return {
        "id": link.id,
        "user_id": link.user_id,
        "name": link.user.name,
        "school_id": link.user.school_id,
        "created_at": _when(link.created_at),
        "expires_at": _when(link.expires_at),
    }


def _new_link(session: Session, principal: Principal, user: User) -> dict[str, Any]:
    secret = accounts.new_link(session, user, principal.actor, services().clock.now())
    url = services().config.public_base_url + url_for("pages.sign_in_link", token=secret)
    return {"user": _user_json(user), "sign_in_link": url, "note": SHOWN_ONCE}


def _account_call(call: Any) -> Any:
    try:
        return call()
    except accounts.AccountError as exc:
        status = 404 if isinstance(exc, accounts.NoSuchAccount) else 422
        problems = [{"field": exc.field, "message": str(exc)}] if exc.field else None
        raise ApiError(status, str(exc)[:1].upper() + str(exc)[1:], problems) from None


@route("GET", "/keys", "Every API key, with its scope and last use (admin).", "admin")
def list_keys(session: Session, principal: Principal) -> Any:
    return {"keys": [_key_json(k) for k in apikeys.all_keys(session)]}


@route("DELETE", "/keys/<key_id>", "Revoke an API key; its sessions end (admin).", "admin")
def revoke_key(session: Session, principal: Principal, key_id: str) -> Any:
    try:
        apikeys.revoke(session, _number(key_id), principal.actor, services().clock.now())
    except apikeys.KeyNotFound:
        raise ApiError(404, "Not found.") from None
    return Response(status=204)


@route("GET", "/users", "Everyone who may sign in to the pages (admin).", "admin")
def list_users(session: Session, principal: Principal) -> Any:
    return {"users": [_user_json(u) for u in accounts.everyone(session)]}


@route(
    "POST",
    "/users",
    "Add a school admin; answers their sign-in link once (admin).",
    "admin",
    body="json",
)
def create_user(session: Session, principal: Principal) -> Any:
    data = json_body()
    fields = {k: data.get(k, "") for k in ("name", "email", "school_id")}
    if not all(isinstance(v, str) for v in fields.values()):
        raise ApiError(422, "name, email and school_id are text.")
    user = _account_call(
        lambda: accounts.create_user(
            session,
            fields["name"],
            fields["email"],
            "school",
            fields["school_id"] or None,
            principal.actor,
            services().clock.now(),
        )  # fmt: skip
    )
    return _new_link(session, principal, user), 201


@route(
    "POST", "/users/<user_id>/disable", "Stop someone signing in; ends their sessions (admin).",
    "admin",
)  # fmt: skip
def disable_user(session: Session, principal: Principal, user_id: str) -> Any:
    number = _number(user_id)
    now = services().clock.now()
    user = _account_call(lambda: accounts.disable(session, number, principal.actor, now))
    return {"user": _user_json(user)}


@route("POST", "/users/<user_id>/enable", "Let someone sign in again (admin).", "admin")
def enable_user(session: Session, principal: Principal, user_id: str) -> Any:
    number = _number(user_id)
    now = services().clock.now()
    user = _account_call(lambda: accounts.enable(session, number, principal.actor, now))
    return {"user": _user_json(user)}


@route(
    "POST", "/users/<user_id>/sign-in-links", "A new personal sign-in link, shown once (admin).",
    "admin",
)  # fmt: skip
def new_sign_in_link(session: Session, principal: Principal, user_id: str) -> Any:
    number = _number(user_id)
    user = _account_call(lambda: accounts.get_user(session, number))
    return _account_call(lambda: _new_link(session, principal, user)), 201


@route(
    "GET", "/sign-in-links", "Sign-in links not yet used, cancelled or expired (admin).", "admin"
)
def list_sign_in_links(session: Session, principal: Principal) -> Any:
    links = accounts.outstanding_links(session, services().clock.now())
    return {"sign_in_links": [_link_json(link) for link in links]}


@route("DELETE", "/sign-in-links/<link_id>", "Cancel an unused sign-in link (admin).", "admin")
def cancel_sign_in_link(session: Session, principal: Principal, link_id: str) -> Any:
    number = _number(link_id)
    now = services().clock.now()
    try:
        accounts.cancel_link(session, number, principal.actor, now)
    except accounts.AccountError:
        raise ApiError(404, "No such unused sign-in link.") from None
    return Response(status=204)


@route("GET", "/feed-links", "Every working feed link with its last use (admin).", "admin")
def list_feed_links(session: Session, principal: Principal) -> Any:
    return {
        "feed_links": [
            {
                "id": token.id,
                "school_id": school.id,
                "audience": feed.audience,
                "name": token.name,
                "created_at": _when(token.created_at),
                "last_used_at": _when(token.last_used_at),
            }
            for school, feed, token in subscriptions.live_links(session)
        ]
    }


@route("DELETE", "/feed-links/<token_id>", "Revoke a feed link by its number (admin).", "admin")
def revoke_feed_link(session: Session, principal: Principal, token_id: str) -> Any:
    number = _number(token_id)
    try:
        subscriptions.revoke_token_by_id(session, number, principal.actor, services().clock.now())
    except subscriptions.SubscriptionError:
        raise ApiError(404, "No such working feed link.") from None
    feed_cache().clear()
    return Response(status=204)


def _entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": _when(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "school_id": entry.school_id,
        "details": entry.details,
    }


@route("GET", "/audit", "The audit log, newest first: ?school=&before= (admin).", "admin")
def audit_log(session: Session, principal: Principal) -> Any:
    before = request.args.get("before", "")
    school = request.args.get("school") or None
    found = audit.entries(
        session, school_id=school, before=int(before) if before.isdigit() else None
    )
    return {"entries": [_entry_json(e) for e in found]}
