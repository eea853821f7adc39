"""The admin's People page: who may sign in, their sign-in links, and taking access away.

Adding a school admin makes their personal sign-in link (shown once). Disabling someone ends
their sessions and cancels their unused links at once; enabling them again needs a new link.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from feedserver.storage import accounts, sessions
from feedserver.storage.models import School
from feedserver.web.context import services
from feedserver.web.pages import access, admin_nav, fmt
from feedserver.web.pages.blueprint import bp

admin_nav.add(
    admin_nav.Section(
        "pages.admin_people",
        "People",
        20,
        also=("pages.add_school_admin", "pages.new_sign_in_link"),
    )
)


def _page(db: Session, viewer: access.Viewer, status: int = 200, **extra: Any) -> Any:
    now = services().clock.now()
    by_user, _ = sessions.live_counts(db, now)
    context = {"notice": None, "error": None, "error_field": None, "link": None,
               "form": MultiDict(), **extra}  # fmt: skip
    schools_ = db.scalars(select(School).order_by(School.name)).all()
    return render_template(
        "admin_people.html", viewer=viewer, people=accounts.everyone(db),
        links=accounts.outstanding_links(db, now), signed_in=by_user,
        schools={s.id: s for s in schools_}, **context,
    ), status  # fmt: skip


def _link_url(secret: str) -> str:
    return services().config.public_base_url + url_for("pages.sign_in_link", token=secret)


@bp.get("/admin/people")
@access.required("admin")
def admin_people(db: Session, viewer: access.Viewer) -> Any:
    """Everyone who may sign in, and the links not yet used."""
    return _page(db, viewer)


@bp.post("/admin/people")
@access.required("admin")
def add_school_admin(db: Session, viewer: access.Viewer) -> Any:
    """Add a school admin and show their personal sign-in link once."""
    now = services().clock.now()
    form = request.form
    try:
        user = accounts.create_user(db, form.get("name", ""), form.get("email", ""), "school",
                                    form.get("school_id", ""), viewer.actor, now)  # fmt: skip
        secret = accounts.new_link(db, user, viewer.actor, now)
    except accounts.AccountError as exc:
        db.rollback()
        field = {"name": "person", "email": "email"}.get(exc.field or "", "school_id")
        return _page(db, viewer, 422, error=_sentence(exc), error_field=field, form=form)
    return _page(db, viewer, link=(user.name, user.email, _link_url(secret)))


@bp.post("/admin/people/<int:user_id>/link")
@access.required("admin")
def new_sign_in_link(db: Session, viewer: access.Viewer, user_id: int) -> Any:
    """A new personal sign-in link for someone (shown once)."""
    try:
        user = accounts.get_user(db, user_id)
        secret = accounts.new_link(db, user, viewer.actor, services().clock.now())
    except accounts.AccountError as exc:
        return _page(db, viewer, 422, error=_sentence(exc))
    return _page(db, viewer, link=(user.name, user.email, _link_url(secret)))


@bp.post("/admin/people/<int:user_id>/disable")
@access.required("admin")
def disable_user(db: Session, viewer: access.Viewer, user_id: int) -> Any:
    """Stop someone signing in; their sessions end now."""
    try:
        user = accounts.disable(db, user_id, viewer.actor, services().clock.now())
    except accounts.AccountError as exc:
        return _page(db, viewer, 404, error=_sentence(exc))
    done = f"{user.name} can no longer sign in; any session they had open has ended."
    flash(done)
    return redirect(url_for("pages.admin_people"))


@bp.post("/admin/people/<int:user_id>/enable")
@access.required("admin")
def enable_user(db: Session, viewer: access.Viewer, user_id: int) -> Any:
    """Let someone sign in again (they need a new sign-in link)."""
    try:
        user = accounts.enable(db, user_id, viewer.actor, services().clock.now())
    except accounts.AccountError as exc:
        return _page(db, viewer, 404, error=_sentence(exc))
    done = f"{user.name} may sign in again: make them a new sign-in link."
    flash(done)
    return redirect(url_for("pages.admin_people"))


@bp.post("/admin/links/<int:link_id>/cancel")
@access.required("admin")
def cancel_sign_in_link(db: Session, viewer: access.Viewer, link_id: int) -> Any:
    """Stop an unused sign-in link working."""
    try:
        link = accounts.cancel_link(db, link_id, viewer.actor, services().clock.now())
    except accounts.AccountError as exc:
        return _page(db, viewer, 404, error=_sentence(exc))
    done = f"The sign-in link for {link.user.name} was cancelled: it no longer works."
    flash(done)
    return redirect(url_for("pages.admin_people"))


def _sentence(exc: Exception) -> str:
    return fmt.sentence(str(exc))
