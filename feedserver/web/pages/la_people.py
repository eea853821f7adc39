"""An LA's People page (its officers and API keys) and the instance admin's Local authorities page.

An officer adds colleagues (each gets a personal sign-in link, shown once), makes and revokes
the LA's API keys. The instance admin adds an LA with its first officer.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from feedserver.storage import accounts, apikeys, las
from feedserver.storage.models import ApiKey, LocalAuthority, User
from feedserver.storage.plaintext import PlainTextError
from feedserver.web.context import services
from feedserver.web.pages import access, admin_nav, fmt
from feedserver.web.pages.blueprint import bp

admin_nav.add(admin_nav.Section("pages.admin_las", "Local authorities", 25,
                                also=("pages.add_la",)))  # fmt: skip


def _link_url(secret: str) -> str:
    return services().config.public_base_url + url_for("pages.sign_in_link", token=secret)


def _people(db: Session, viewer: access.Viewer, la: LocalAuthority, status: int = 200,
            **extra: Any) -> Any:  # fmt: skip
    context: dict[str, Any] = {"error": None, "error_field": None, "notice": None, "link": None,
                               "made": None, "form": MultiDict(), **extra}  # fmt: skip
    officers = db.scalars(select(User).where(User.la_code == la.code).order_by(User.name)).all()
    keys = db.scalars(select(ApiKey).where(ApiKey.la_code == la.code).order_by(ApiKey.id)).all()
    return render_template("la_people.html", viewer=viewer, la=la, officers=officers, keys=keys,
                           **context), status  # fmt: skip


@bp.get("/la/<la_code>/people")
@access.required()
def la_people(db: Session, viewer: access.Viewer, la: LocalAuthority) -> Any:
    """The LA's officers and API keys."""
    return _people(db, viewer, la)


@bp.post("/la/<la_code>/people")
@access.required()
def la_add_officer(db: Session, viewer: access.Viewer, la: LocalAuthority) -> Any:
    """Add a colleague and show their personal sign-in link once."""
    now = services().clock.now()
    form = request.form
    try:
        user = accounts.create_user(db, form.get("name", ""), form.get("email", ""), "la", None,
                                    viewer.actor, now, la_code=la.code)  # fmt: skip
        secret = accounts.new_link(db, user, viewer.actor, now)
    except accounts.AccountError as exc:
        db.rollback()
        field = {"name": "officer-name", "email": "officer-email"}.get(exc.field or "", "")
        return _people(db, viewer, la, 422, error=fmt.sentence(str(exc)), error_field=field,
                       form=form)  # fmt: skip
    return _people(db, viewer, la, link=(user.name, _link_url(secret)))


@bp.post("/la/<la_code>/keys")
@access.required()
def la_make_key(db: Session, viewer: access.Viewer, la: LocalAuthority) -> Any:
    """Make an API key for the LA and show it once."""
    label = request.form.get("label", "")
    try:
        secret = apikeys.create_key(db, "la", services().clock.now(), label=label,
                                    actor=viewer.actor, la_code=la.code)  # fmt: skip
    except PlainTextError as exc:
        return _people(db, viewer, la, 422, error=fmt.sentence(str(exc)), error_field="key-label")
    return _people(db, viewer, la, made=(" ".join(label.split()), secret))


@bp.post("/la/<la_code>/keys/<int:key_id>/revoke")
@access.required()
def la_revoke_key(db: Session, viewer: access.Viewer, la: LocalAuthority, key_id: int) -> Any:
    """Revoke one of the LA's keys: it stops working at once."""
    key = db.get(ApiKey, key_id)
    if key is None or key.la_code != la.code:
        return render_template("not_found.html", viewer=viewer), 404
    apikeys.revoke(db, key.id, viewer.actor, services().clock.now())
    flash(f"Key {key.id} is revoked: it no longer works, and sessions it opened have ended.")
    return redirect(url_for("pages.la_people", la_code=la.code), 303)


def _las(db: Session, viewer: access.Viewer, status: int = 200, **extra: Any) -> Any:
    context: dict[str, Any] = {"error": None, "error_field": None, "notice": None, "link": None,
                               "form": MultiDict(), **extra}  # fmt: skip
    counts = dict(
        db.execute(
            select(User.la_code, func.count(User.id))
            .where(User.la_code.is_not(None))
            .group_by(User.la_code)
        ).all()
    )
    return render_template("admin_las.html", viewer=viewer, las=las.all_las(db), officers=counts,
                           **context), status  # fmt: skip


@bp.get("/admin/las")
@access.required("admin")
def admin_las(db: Session, viewer: access.Viewer) -> Any:
    """Every LA that publishes here."""
    return _las(db, viewer)


@bp.post("/admin/las")
@access.required("admin")
def add_la(db: Session, viewer: access.Viewer) -> Any:
    """Add an LA and its first officer; show the officer's sign-in link once."""
    form = request.form
    now = services().clock.now()
    try:
        la = las.create(db, form.get("code", ""), form.get("la_name", ""), viewer.actor, now)
        user = accounts.create_user(db, form.get("name", ""), form.get("email", ""), "la", None,
                                    viewer.actor, now, la_code=la.code)  # fmt: skip
        secret = accounts.new_link(db, user, viewer.actor, now)
    except (las.LaError, accounts.AccountError) as exc:
        db.rollback()
        named = "la-name" if isinstance(exc, las.LaError) else "officer-name"
        fields = {"code": "la-code", "name": named, "email": "officer-email"}
        field = fields.get(exc.field or "", "")
        return _las(db, viewer, 422, error=fmt.sentence(str(exc)), error_field=field, form=form)
    return _las(db, viewer, link=(la.name, user.name, _link_url(secret)))
