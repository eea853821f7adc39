"""The EHCP roster in the API: read, replace (JSON or CSV) and remove one pupil who left.

Only the school's own admins reach it: a key or session of that school. Another school, an LA
and a missing school answer 404 like every school route (``apiroutes._authorise``); the
instance admin, who may run the school's other routes, gets a 403 here, since the roster is
the school's alone. A change is stored and its refresh queued; nothing is evaluated here.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from sqlalchemy.orm import Session

from feedserver.pipeline import jobs
from feedserver.pipeline.dispatch import enqueue
from feedserver.storage import roster as roster_store
from feedserver.storage.principals import Principal
from feedserver.web.apiroutes import ApiError, json_body, read_body, route
from feedserver.web.context import services
from rules.errors import PackError, PackRejected
from rules.roster_csv import TEMPLATE, parse_csv, parse_records, to_record

CSV_TYPES = {"text/csv", "text/plain", "application/csv"}


def own_school_only(principal: Principal) -> None:
    """Refuse anyone but the school's own admins (the route already checked the school).

    Raises:
        ApiError: 403 for the instance admin.
    """
    if principal.role != "school":
        raise ApiError(403, "Only the school's own admins can see or change its EHCP roster.")


def _changed(session: Session, school_id: str, change: roster_store.RosterChange) -> Any:
    if change.changed:
        enqueue(jobs.evaluate_school, school_id, reason="roster")
    return {
        "pupils": roster_store.size(session, school_id),
        "added": change.added,
        "removed": change.removed,
        "kept": change.kept,
        "events_removed": change.events_removed,
        "calendar_update_queued": change.changed,
    }


@route("GET", "/ehcp-roster-template.csv", "The CSV template for the EHCP roster.", "public")
def roster_template(session: Session, principal: None) -> Response:
    """The template, with an example row per kind of pupil."""
    return Response(
        TEMPLATE,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="ehcp-roster.csv"'},
    )


@route("GET", "/schools/<school_id>/roster", "The school's EHCP roster (its own admins).", "school")
def get_roster(session: Session, principal: Principal, school_id: str) -> Any:
    """Every pupil on the roster, in reference order."""
    own_school_only(principal)
    pupils = roster_store.read(session, services().secretbox, school_id)
    return {"pupils": [to_record(p) for p in pupils]}


@route(
    "PUT",
    "/schools/<school_id>/roster",
    "Replace the school's EHCP roster (its own admins); pupils left out have left.",
    "school",
    body="json",
)
def put_roster(session: Session, principal: Principal, school_id: str) -> Any:
    """Replace the roster with the body's pupils (every problem at once, nothing saved)."""
    own_school_only(principal)
    data = json_body()
    records = data.get("pupils")
    if not isinstance(records, list):
        raise PackRejected(
            [PackError("request body", "give the pupils as a list: {\"pupils\": [...]}.",
                       field="pupils")]
        )  # fmt: skip
    found = parse_records(records)
    svc = services()
    change = roster_store.replace(
        session, svc.secretbox, school_id, found, principal.actor, svc.clock.now()
    )
    return _changed(session, school_id, change)


@route(
    "POST",
    "/schools/<school_id>/roster.csv",
    "Replace the school's EHCP roster from CSV (its own admins).",
    "school",
    body="csv",
)
def import_roster(session: Session, principal: Principal, school_id: str) -> Any:
    """Replace the roster with the CSV's pupils (line-numbered problems, nothing saved)."""
    own_school_only(principal)
    if request.mimetype not in CSV_TYPES:
        raise ApiError(415, "Send the CSV with 'Content-Type: text/csv'.")
    found = parse_csv(read_body())
    svc = services()
    change = roster_store.replace(
        session, svc.secretbox, school_id, found, principal.actor, svc.clock.now()
    )
    return _changed(session, school_id, change)


@route(
    "DELETE",
    "/schools/<school_id>/roster/<ref>",
    "Remove a pupil who left, with their events (its own admins).",
    "school",
)
def remove_pupil(session: Session, principal: Principal, school_id: str, ref: str) -> Any:
    """Remove one pupil and their events (404 when no such pupil is on the roster)."""
    own_school_only(principal)
    svc = services()
    change = roster_store.remove_pupil(
        session, svc.secretbox, school_id, ref, principal.actor, svc.clock.now()
    )
    if change is None:
        raise ApiError(404, "No pupil with that reference is on the roster.")
    _changed(session, school_id, change)
    return Response(status=204)
