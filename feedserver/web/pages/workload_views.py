"""The SENCO workload page: the year as weeks by hours, over-cap weeks, and suggestions to accept.

Every cell of the heatmap says its hours in words and marks an over-cap week with a symbol and
the word "over"; colour only repeats what the text says.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import redirect, render_template, request, url_for
from sqlalchemy.orm import Session

from feedserver.clock import today
from feedserver.storage.models import School
from feedserver.web import workload as school_load
from feedserver.web.context import services
from feedserver.web.pages import access
from feedserver.web.pages.blueprint import bp
from rules.csvlines import parse_date
from rules.workload import WeekLoad


def level(week: WeekLoad, cap: float | None) -> int:
    """A shade from 0 (nothing) to 4 (over the cap) that repeats what the cell's text says."""
    if week.over:
        return 4
    if week.hours <= 0:
        return 0
    scale = cap if cap else 20.0
    return 1 if week.hours < scale / 3 else 2 if week.hours < 2 * scale / 3 else 3


def _year(value: str | None, shown: tuple[int, int]) -> int:
    try:
        year = int(value or shown[0])
    except ValueError:
        return shown[0]
    return year if year in shown else shown[0]


@bp.get("/schools/<school_id>/workload")
@access.required()
def workload_page(db: Session, viewer: access.Viewer, school: School) -> Any:
    """The year's workload for the SENCO."""
    shown = school_load.years_shown(today(services().clock))
    year = _year(request.args.get("year"), shown)
    load = school_load.school_workload(db, school, year, today(services().clock))
    return render_template(
        "workload.html", viewer=viewer, school=school, load=load, year=year, years=shown,
        level=level, show_pupils=viewer.role == "school", title=school_load.entry_title,
        accepted=request.args.get("accepted", ""), error=None,
    )  # fmt: skip


@bp.post("/schools/<school_id>/workload/accept")
@access.required()
def workload_accept(db: Session, viewer: access.Viewer, school: School) -> Any:
    """Accept one suggestion: its rule gets the school's own date, and the calendar updates."""
    shown = school_load.years_shown(today(services().clock))
    year = _year(request.form.get("year"), shown)
    to_date = parse_date(request.form.get("to_date", "")) or dt.date.min
    try:
        found = school_load.accept(db, school, request.form.get("ref", ""), year, to_date,
                                   viewer.actor, services().clock.now(),
                                   today(services().clock))  # fmt: skip
    except school_load.SuggestionGone as exc:
        load = school_load.school_workload(db, school, year, today(services().clock))
        return render_template(
            "workload.html", viewer=viewer, school=school, load=load, year=year, years=shown,
            level=level, show_pupils=viewer.role == "school", title=school_load.entry_title,
            accepted="", error=str(exc),
        ), 409  # fmt: skip
    return redirect(url_for("pages.workload_page", school_id=school.id, year=year,
                            accepted=found.title))  # fmt: skip
