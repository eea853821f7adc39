"""Who is signed in to the pages, and the protections around it.

Sign-in is by a personal single-use link (for school admins, made by the instance admin) or by
pasting an API key. Either starts a session kept on the server (``storage/sessions.py``), whose
secret travels in a signed, http-only, same-site cookie; signing out, disabling the person or
revoking the key ends it there, so a copied cookie stops working. Every form carries a CSRF
token tied to the session. Feeds and the JSON API never use the cookie.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy.orm import Session

from feedserver.storage import sessions
from feedserver.storage.models import LocalAuthority, School
from feedserver.storage.principals import Principal
from feedserver.storage.sessions import SESSION_HOURS
from feedserver.web.context import services

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


Viewer = Principal  # the pages' name for the signed-in principal


def current(db: Session) -> Principal | None:
    """The signed-in principal, checked against the server's session record.

    A session that was ended (signed out), has expired, or whose person was disabled or key
    revoked gives None, and the cookie is dropped.
    """
    secret = session.get("sid")
    if not isinstance(secret, str):
        return None
    found = sessions.principal_for(db, secret, services().clock.now())
    if found is None:
        session.clear()
    return found


def sign_in(db: Session, user_id: int | None = None, key_id: int | None = None) -> None:
    """Start a fresh session, server side and in the cookie (with a new CSRF token)."""
    session.clear()
    session.permanent = True
    session["sid"] = sessions.start(db, services().clock.now(), user_id=user_id, key_id=key_id)
    session["csrf"] = secrets.token_urlsafe(24)


def sign_out(db: Session) -> None:
    """End this browser's session on the server and forget the cookie."""
    secret = session.get("sid")
    if isinstance(secret, str):
        sessions.end(db, secret, services().clock.now())
    session.clear()


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
    own = f"/la/{viewer.la_code}" if viewer.role == "la" else f"/schools/{viewer.school_id}"
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
    """Page decorator: signed in (as admin when ``role`` is "admin"), school and LA pages own-only.

    The view receives ``db``, ``viewer`` and, on a school's pages, the ``school`` (on an LA's
    pages, the ``la``), loaded once; another school's or LA's pages answer 404, exactly like a
    missing one.
    """

    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def inner(**kwargs: Any) -> Any:
            with services().db.session() as db:
                viewer = current(db)
                if viewer is None:
                    return redirect(url_for("pages.sign_in_form", next=request.path))
                if role == "admin" and not viewer.is_admin:
                    abort(403)
                if request.method == "POST":
                    check_csrf()
                school_id = kwargs.pop("school_id", None)
                if school_id is not None:
                    # Another school's pages and a missing school's look the same: 404.
                    school = db.get(School, school_id) if viewer.may_use(school_id) else None
                    if school is None:
                        abort(404)
                    kwargs["school"] = school
                la_code = kwargs.pop("la_code", None)
                if la_code is not None:
                    ours = viewer.may_publish_for(la_code)
                    la = db.get(LocalAuthority, la_code) if ours else None
                    if la is None:
                        abort(404)
                    kwargs["la"] = la
                return view(db=db, viewer=viewer, **kwargs)

        return inner

    return wrap
