"""The admin's Schools page: every school at a glance (feeds, changes, warnings); adding one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from werkzeug.datastructures import MultiDict

import rules
from feedserver import wording
from feedserver.pipeline import jobs
from feedserver.pipeline.dispatch import enqueue
from feedserver.storage import problems as problem_store
from feedserver.storage import schools
from feedserver.storage.db import Conflict
from feedserver.storage.models import School, User
from feedserver.storage.subscriptions import AUDIENCES
from feedserver.web.context import services
from feedserver.web.pages import access, admin_nav
from feedserver.web.pages.blueprint import bp
from rules.profile import profile_from_data
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


admin_nav.add(admin_nav.Section("pages.admin_home", "Schools", 10, also=("pages.add_school",)))

SCHOOL_TYPES = {
    "maintained": "Maintained school",
    "academy": "Academy",
    "free_school": "Free school",
    "special": "Maintained special school",
    "special_academy": "Special academy",
    "alternative_provision": "Alternative provision",
    "maintained_nursery": "Maintained nursery school",
    "independent": "Independent school",
}
PHASES = {
    "nursery": "Nursery",
    "primary": "Primary",
    "infant": "Infant",
    "junior": "Junior",
    "middle": "Middle",
    "secondary": "Secondary",
    "all_through": "All-through",
    "16_plus": "16 plus",
}


def _home(db: Session, viewer: access.Viewer, status: int = 200, **extra: Any) -> Any:
    context = {"notice": None, "error": None, "error_field": None, "form": MultiDict(), **extra}
    return render_template(
        "admin.html", viewer=viewer, lines=school_lines(db), notices=instance_problems(db),
        types=SCHOOL_TYPES, phases=PHASES, **context,
    ), status  # fmt: skip


@bp.get("/admin")
@access.required("admin")
def admin_home(db: Session, viewer: access.Viewer) -> Any:
    """All schools, and adding one."""
    added = request.args.get("added")
    school = db.get(School, added) if added else None
    notice = f"{school.name} was added. Add its admin on the People page." if school else None
    return _home(db, viewer, notice=notice)


@bp.post("/admin/schools")
@access.required("admin")
def add_school(db: Session, viewer: access.Viewer) -> Any:
    """Add a school from the few facts a profile needs; the rest is set on its settings page."""
    form = request.form
    data: dict[str, Any] = {
        "id": form.get("id", "").strip(),
        "name": " ".join(form.get("name", "").split()),
        "la_code": form.get("la_code", "").strip(),
        "type": form.get("type", ""),
        "phases": form.getlist("phases"),
    }
    if form.get("urn", "").strip():
        data["urn"] = form.get("urn", "").strip()
    try:
        profile = profile_from_data(data, "the new school")
        schools.save(db, profile, viewer.actor, services().clock.now(), new=True)
    except rules.PackRejected as rejected:
        problems = [{"field": FIELD_WORDS.get(p.field or "", p.field), "message": p.message}
                    for p in rejected.problems]  # fmt: skip
        return _home(db, viewer, 422, error=problems, form=form)
    except Conflict:
        db.rollback()
        return _home(db, viewer, 409, error=f"A school with the id “{data['id']}” exists already; "
                     "choose another id.", error_field="new-id", form=form)  # fmt: skip
    enqueue(jobs.evaluate_school, profile.id, reason="profile")
    return redirect(url_for("pages.admin_home", added=profile.id))


FIELD_WORDS = {"id": "Id", "name": "Name", "la_code": "LA code", "type": "Type",
               "phases": "Phases", "urn": "URN"}  # fmt: skip
