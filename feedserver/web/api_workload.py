"""The SENCO workload in the API: the same weeks, hours and suggestions as the workload page."""

from __future__ import annotations

from typing import Any

from flask import request
from sqlalchemy.orm import Session

from feedserver.clock import today
from feedserver.storage.models import School
from feedserver.storage.principals import Principal
from feedserver.web import workload as school_load
from feedserver.web.apiroutes import ApiError, json_body, route
from feedserver.web.context import services
from rules.csvlines import parse_date


def _year(value: Any) -> int:
    shown = school_load.years_shown(today(services().clock))
    if value is None:
        return shown[0]
    try:
        year = int(value)
    except (TypeError, ValueError):
        year = 0
    if year not in shown:
        words = " or ".join(str(y) for y in shown)
        raise ApiError(422, "year is not one the calendar holds.",
                       [{"field": "year", "message": f"use {words}"}])  # fmt: skip
    return year


@route(
    "GET",
    "/schools/<school_id>/workload",
    "The SENCO's workload for a year: weeks by hours, over-cap weeks, suggested moves.",
    "school",
)
def get_workload(session: Session, principal: Principal, school_id: str) -> Any:
    """The workload page's content as JSON."""
    school = session.get(School, school_id)
    assert school is not None
    year = _year(request.args.get("year"))
    load = school_load.school_workload(session, school, year, today(services().clock))
    return school_load.workload_json(load, year, show_pupils=principal.role == "school")


@route(
    "POST",
    "/schools/<school_id>/workload/accept",
    "Accept a suggested move: the rule gets the school's own date; the calendar is updated.",
    "school",
    body="json",
)
def accept_suggestion(session: Session, principal: Principal, school_id: str) -> Any:
    """Accept one of the current suggestions (409 when it no longer applies)."""
    school = session.get(School, school_id)
    assert school is not None
    data = json_body()
    year = _year(data.get("year"))
    to_date = parse_date(str(data.get("to_date", "")))
    if to_date is None:
        raise ApiError(422, "to_date must be a date such as 2026-10-05.",
                       [{"field": "to_date", "message": "not a date"}])  # fmt: skip
    try:
        found = school_load.accept(session, school, str(data.get("ref", "")), year, to_date,
                                   principal.actor, services().clock.now(),
                                   today(services().clock))  # fmt: skip
    except school_load.SuggestionGone as exc:
        raise ApiError(409, str(exc)) from None
    return {"accepted": school_load.suggestion_json(found), "calendar_update_queued": True}
