"""Who is signed in to the pages, and the protections around it.

Sign-in is by a personal single-use link (for school admins, made by the instance admin) or by
pasting an API key. Either becomes a signed, http-only, same-site session cookie that expires;
every form carries a CSRF token tied to the session. Feeds and the JSON API never use the cookie.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select
from sqlalchemy.orm import Session

from feedserver.storage.models import ApiKey, School, User
from feedserver.storage.tokens import digest
from feedserver.web.context import services

SESSION_HOURS = 8
NO_COOKIE_PREFIXES = ("/feeds/", "/api/", "/static/", "/healthz")


class PageSessions(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, for the pages only (feeds and the API pay nothing)."""

    def open_session(self, app: Flask, request: Any) -> Any:
        """No session object at all outside the pages."""
        if request.path.startswith(NO_COOKIE_PREFIXES):
            return None
        return super().open_session(app, request)


def configure(app: Flask, production: bool) -> None:
    """Cookie settings: http-only, same-site, secure in production, expiring."""
    app.session_interface = PageSessions()
    app.config.update(
        SESSION_COOKIE_NAME="sencocal_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=SESSION_HOURS),
    )


@dataclass(frozen=True)
class Viewer:
    """The signed-in person: admin, or the admin of one school."""

    role: str
    school_id: str | None
    name: str

    def may_see(self, school_id: str) -> bool:
        """Whether this person may see and change ``school_id``'s pages."""
        return self.role == "admin" or self.school_id == school_id

    @property
    def actor(self) -> str:
        """How the audit log names this person."""
        return (
            f"{self.role}:{self.name}"
            if self.role == "admin"
            else f"school:{self.school_id}:{self.name}"
        )


def current(db: Session) -> Viewer | None:
    """The signed-in viewer, checked against the database.

    Disabled users and revoked keys end their sessions at once.
    """
    data = session.get("who")
    if not isinstance(data, dict):
        return None
    now = services().clock.now().timestamp()
    if not isinstance(data.get("until"), (int, float)) or data["until"] < now:
        session.clear()
        return None
    if data.get("user") is not None:
        user = db.get(User, data["user"])
        if user is None or user.disabled_at is not None:
            session.clear()
            return None
        return Viewer(user.role, user.school_id, user.name)
    key = db.get(ApiKey, data.get("key"))
    if key is None or key.revoked_at is not None:
        session.clear()
        return None
    return Viewer(
        key.role,
        key.school_id,
        key.label or ("instance admin" if key.role == "admin" else "school key"),
    )


def sign_in(user_id: int | None = None, key_id: int | None = None) -> None:
    """Start a fresh session (a new CSRF token, an expiry)."""
    session.clear()
    session.permanent = True
    until = services().clock.now() + dt.timedelta(hours=SESSION_HOURS)
    session["who"] = {"user": user_id, "key": key_id, "until": until.timestamp()}
    session["csrf"] = secrets.token_urlsafe(24)


def key_sign_in(db: Session, secret: str) -> ApiKey | None:
    """The live API key ``secret`` names, or None."""
    return db.scalars(
        select(ApiKey).where(ApiKey.key_hash == digest(secret.strip()), ApiKey.revoked_at.is_(None))
    ).first()


MAX_NEXT = 1000


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site to go to after signing in, else None.

    Only printable ASCII without spaces or backslashes, parsed as a path with no scheme and no
    host: a browser (and Werkzeug) drops tabs and line breaks and reads a backslash as ``/``, so
    ``/<tab>/evil.example`` would otherwise become ``//evil.example``, another site.
    """
    if not target or len(target) > MAX_NEXT:
        return None
    if any(not 0x21 <= ord(c) <= 0x7E for c in target) or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    if parts.path.startswith("//"):
        return None
    return target


def next_for(viewer: Viewer, target: str | None) -> str | None:
    """``target`` when it is safe and one of ``viewer``'s own pages, else None."""
    target = safe_next(target)
    if target is None or viewer.role == "admin":
        return target
    own = f"/schools/{viewer.school_id}"
    path = urlsplit(target).path
    return target if path == own or path.startswith(own + "/") else None


def csrf_token() -> str:
    """The session's CSRF token (templates put it in every form)."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(24)
    return str(token)


def check_csrf() -> None:
    """Refuse a form post whose CSRF token does not match the session's (400)."""
    sent = request.form.get("csrf_token", "")
    if not sent or not hmac.compare_digest(sent, str(session.get("csrf", ""))):
        abort(
            400,
            "This form has expired or did not come from sencocal. Go back, reload and try again.",
        )


def required(role: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Page decorator: signed in (as admin when ``role`` is "admin"), school pages own-only.

    The view receives ``db``, ``viewer`` and, on a school's pages, the ``school`` (loaded once);
    another school's pages answer 404, exactly like a missing one.
    """

    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def inner(**kwargs: Any) -> Any:
            with services().db.session() as db:
                viewer = current(db)
                if viewer is None:
                    return redirect(url_for("pages.sign_in_form", next=request.path))
                if role == "admin" and viewer.role != "admin":
                    abort(403)
                school_id = kwargs.pop("school_id", None)
                if school_id is not None:
                    # Another school's pages and a missing school's look the same: 404.
                    school = db.get(School, school_id) if viewer.may_see(school_id) else None
                    if school is None:
                        abort(404)
                    kwargs["school"] = school
                if request.method == "POST":
                    check_csrf()
                return view(db=db, viewer=viewer, **kwargs)

        return inner

    return wrap
