"""The instance admin's pages: every school, its feeds, when its events changed, its warnings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from feedserver import audit, refresh
from feedserver.clock import today
from feedserver.models import School, User
from feedserver.pages import access, bp
from feedserver.services import services
from rules.vocabulary import academic_year_label


@dataclass
class SchoolLine:
    """One row of the admin's schools table."""

    school: School
    feeds: list[str]
    missing_term_dates: list[str]
    unconfirmed: int
    other_warnings: int
    admins: list[User]


def school_lines(db: Session) -> list[SchoolLine]:
    """Every school with what an admin needs to know at a glance."""
    next_year = academic_year_label(refresh.window(today(services().clock))[1])
    lines = []
    users = db.scalars(select(User).where(User.disabled_at.is_(None))).all()
    for school in db.scalars(select(School).order_by(School.name)):
        items = [str(w) for w in school.warnings.get("items", [])]
        missing = sorted(
            {
                w.split("needs term dates for ")[1].split()[0]
                for w in items
                if "needs term dates for " in w
            }
        )
        unconfirmed = sum("has no published date" in w for w in items)
        other = len(items) - unconfirmed - sum("needs term dates for " in w for w in items)
        lines.append(
            SchoolLine(
                school=school,
                feeds=[
                    f.audience
                    for f in sorted(school.feeds, key=lambda f: refresh.AUDIENCES.index(f.audience))
                ],
                missing_term_dates=missing or ([] if next_year else []),
                unconfirmed=unconfirmed,
                other_warnings=other,
                admins=[u for u in users if u.school_id == school.id],
            )
        )
    return lines


@bp.get("/admin")
@access.required("admin")
def admin_home(db: Session, viewer: access.Viewer) -> Any:
    """All schools."""
    return render_template(
        "admin.html", viewer=viewer, lines=school_lines(db), link=None, error=None
    )


@bp.post("/admin/school-admins")
@access.required("admin")
def add_school_admin(db: Session, viewer: access.Viewer) -> Any:
    """Add a school admin and show their personal sign-in link once."""
    school_id = request.form.get("school_id", "")
    name = request.form.get("name", "").strip()
    email = request.form.get("email", "").strip()
    school = db.get(School, school_id)
    error = None
    if school is None:
        error = "Choose a school."
    elif not name or len(name) > 100:
        error = "Give the person's name (up to 100 characters)."
    elif len(email) > 200:
        error = "That email address is too long."
    if error:
        return render_template(
            "admin.html", viewer=viewer, lines=school_lines(db), link=None, error=error
        ), 422
    now = services().clock.now()
    user = User(name=name, email=email, role="school", school_id=school_id, created_at=now)
    db.add(user)
    db.flush()
    audit.record(db, now, viewer.actor, "user.create", school_id, user=name)
    secret = access.new_link(db, user, viewer.actor, now)
    link = services().config.public_base_url + url_for("pages.sign_in_link", token=secret)
    return render_template(
        "admin.html", viewer=viewer, lines=school_lines(db), link=(user, school, link), error=None
    )
