"""The admin's API keys page: every key with its scope and last use; making and revoking keys.

A new key is shown once. Revoking one refuses it at once, in the API and in every page
session it opened (``sencocal admin revoke-key`` does the same from the command line).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from feedserver.storage import apikeys, sessions
from feedserver.storage.models import School
from feedserver.storage.plaintext import PlainTextError
from feedserver.web.context import services
from feedserver.web.pages import access, admin_nav, fmt
from feedserver.web.pages.blueprint import bp

admin_nav.add(admin_nav.Section("pages.admin_keys", "API keys", 30, also=("pages.make_key",)))


def _page(db: Session, viewer: access.Viewer, status: int = 200, **extra: Any) -> Any:
    _, by_key = sessions.live_counts(db, services().clock.now())
    found = db.scalars(select(School).order_by(School.name)).all()
    context = {"notice": None, "error": None, "error_field": None, "made": None, **extra}
    return render_template(
        "admin_keys.html", viewer=viewer, keys=apikeys.all_keys(db), signed_in=by_key,
        schools={s.id: s for s in found}, **context,
    ), status  # fmt: skip


@bp.get("/admin/keys")
@access.required("admin")
def admin_keys(db: Session, viewer: access.Viewer) -> Any:
    """Every API key."""
    return _page(db, viewer)


@bp.post("/admin/keys")
@access.required("admin")
def make_key(db: Session, viewer: access.Viewer) -> Any:
    """Make a key for one school and show it once."""
    school = db.get(School, request.form.get("school_id", ""))
    label = request.form.get("label", "")
    if school is None:
        return _page(db, viewer, 422, error="Choose a school.", error_field="key-school")
    try:
        secret = apikeys.create_key(
            db, "school", services().clock.now(), school.id, label, actor=viewer.actor
        )
    except PlainTextError as exc:
        return _page(db, viewer, 422, error=fmt.sentence(str(exc)), error_field="key-label")
    label = " ".join(label.split())
    return _page(db, viewer, made=(school.name, label, secret))


@bp.post("/admin/keys/<int:key_id>/revoke")
@access.required("admin")
def revoke_key(db: Session, viewer: access.Viewer, key_id: int) -> Any:
    """Revoke a key: it stops working at once, everywhere."""
    try:
        key = apikeys.revoke(db, key_id, viewer.actor, services().clock.now())
    except apikeys.KeyNotFound as exc:
        return _page(db, viewer, 404, error=fmt.sentence(str(exc)))
    what = f"Key {key.id}" + (f" “{key.label}”" if key.label else "")
    flash(f"{what} is revoked: it no longer works, and sessions it opened have ended.")
    return redirect(url_for("pages.admin_keys"))
