"""The instance admin's pages: every school, its feeds, when its events changed, its warnings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import rules
from feedserver import wording
from feedserver.storage import accounts, audit
from feedserver.storage import problems as problem_store
from feedserver.storage.models import School, User
from feedserver.storage.subscriptions import AUDIENCES
from feedserver.web.context import services
from feedserver.web.pages import access
from feedserver.web.pages.blueprint import bp
from rules.vocabulary import academic_year_label


@dataclass
class SchoolLine:
    """One row of the admin's schools table."""

    school: School
    feeds: list[str]
    missing_term_dates: list[str]
    unconfirmed: int
    other_warnings: int
    problems: list[str]
    admins: list[User]


def school_lines(db: Session) -> list[SchoolLine]:
    """Every school with what an admin needs to know at a glance (from the warning records)."""
    lines = []
    users = db.scalars(select(User).where(User.disabled_at.is_(None))).all()
    failures: dict[str | None, list[str]] = {}
    for problem in problem_store.open_problems(db):
        failures.setdefault(problem.school_id, []).append(wording.problem_for_admin(problem))
    query = select(School).options(selectinload(School.feeds)).order_by(School.name)
    for school in db.scalars(query):
        warnings = [rules.EvalWarning.from_json(w) for w in school.warnings.get("items", [])]
        kinds = rules.WarningKind
        missing = sorted(
            {academic_year_label(int(w.subject)) for w in warnings if w.kind == kinds.TERM_DATES}
        )
        unconfirmed = len({r for w in warnings if w.kind == kinds.UNPUBLISHED for r in w.refs})
        other = sum(w.kind not in {kinds.TERM_DATES, kinds.UNPUBLISHED} for w in warnings)
        lines.append(
            SchoolLine(
                school=school,
                feeds=[
                    f.audience
                    for f in sorted(school.feeds, key=lambda f: AUDIENCES.index(f.audience))
                ],
                missing_term_dates=missing,
                unconfirmed=unconfirmed,
                other_warnings=other,
                problems=failures.get(school.id, []),
                admins=[u for u in users if u.school_id == school.id],
            )
        )
    return lines


def instance_problems(db: Session) -> list[str]:
    """Problems that are not about one school (next year's readiness, ...), in words."""
    return [
        wording.problem_for_admin(p) for p in problem_store.open_problems(db) if p.school_id is None
    ]


@bp.get("/admin")
@access.required("admin")
def admin_home(db: Session, viewer: access.Viewer) -> Any:
    """All schools."""
    return render_template(
        "admin.html", viewer=viewer, lines=school_lines(db), notices=instance_problems(db),
        link=None, error=None,
    )  # fmt: skip


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
            "admin.html", viewer=viewer, lines=school_lines(db), notices=instance_problems(db),
            link=None, error=error,
        ), 422  # fmt: skip
    now = services().clock.now()
    user = User(name=name, email=email, role="school", school_id=school_id, created_at=now)
    db.add(user)
    db.flush()
    audit.record(db, now, viewer.actor, "user.create", school_id, user=name)
    secret = accounts.new_link(db, user, viewer.actor, now)
    link = services().config.public_base_url + url_for("pages.sign_in_link", token=secret)
    return render_template(
        "admin.html", viewer=viewer, lines=school_lines(db), notices=instance_problems(db),
        link=(user, school, link), error=None,
    )  # fmt: skip
