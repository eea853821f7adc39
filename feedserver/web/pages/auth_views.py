"""Signing in (personal link or key) and out."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for

from feedserver.storage import accounts, apikeys, audit
from feedserver.web import limits
from feedserver.web.context import services
from feedserver.web.pages import access
from feedserver.web.pages.blueprint import bp


def _home(viewer: access.Viewer) -> str:
    if viewer.role == "admin":
        return url_for("pages.admin_home")
    if viewer.role == "la":
        return url_for("pages.la_home", la_code=viewer.la_code)
    return url_for("pages.school_home", school_id=viewer.school_id)


@bp.get("/")
def home() -> Any:
    """Signed in: your home page; otherwise the sign-in page."""
    with services().db.session() as db:
        viewer = access.current(db)
    if viewer is None:
        return redirect(url_for("pages.sign_in_form"))
    return redirect(_home(viewer))


@bp.get("/sign-in")
def sign_in_form() -> Any:
    """The sign-in page."""
    return render_template(
        "sign_in.html", next=access.safe_next(request.args.get("next")), error=None
    )


@bp.post("/sign-in")
def sign_in_with_key() -> Any:
    """Sign in with an API key (the instance admin's, or a school's)."""
    access.check_csrf()
    limits.check(limits.SIGN_IN)  # before the key is looked at: guessing learns nothing
    nxt = access.safe_next(request.form.get("next"))
    with services().db.session() as db:
        key = apikeys.live_key(db, request.form.get("key", ""))
        if key is None:
            limits.failed(limits.SIGN_IN)
            error = (
                "That key was not recognised. Check you copied all of it, "
                "or ask your sencocal admin for a sign-in link."
            )
            return render_template("sign_in.html", next=nxt, error=error), 401
        now = services().clock.now()
        apikeys.used(key, now)
        access.sign_in(db, key_id=key.id)
        viewer = access.current(db)
        assert viewer is not None
        audit.record(db, now, viewer.actor, "key.sign_in", key.school_id, key=key.id,
                     label=key.label)  # fmt: skip
        return redirect(access.next_for(viewer, nxt) or _home(viewer))


@bp.get("/sign-in/<token>")
def sign_in_link(token: str) -> Any:
    """A personal sign-in link: a button, so mail scanners that open links do not use it up."""
    return render_template("sign_in_link.html", token=token)


@bp.post("/sign-in/<token>")
def use_sign_in_link(token: str) -> Any:
    """Use a personal sign-in link."""
    access.check_csrf()
    limits.check(limits.SIGN_IN_LINK)
    svc = services()
    with svc.db.session() as db:
        user = accounts.use_link(db, token, svc.clock.now())
        if user is None:
            limits.failed(limits.SIGN_IN_LINK)
            return render_template("link_expired.html"), 410
        access.sign_in(db, user_id=user.id)
        viewer = access.current(db)
        assert viewer is not None
        return redirect(_home(viewer))


@bp.post("/sign-out")
def sign_out() -> Any:
    """End the session."""
    access.check_csrf()
    with services().db.session() as db:
        access.sign_out(db)
    return redirect(url_for("pages.sign_in_form", signed_out=1))
