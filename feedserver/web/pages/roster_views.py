"""The school's EHCP roster page: the pupils, a CSV import with its problems, removing a leaver.

Only the school's own admins see it (the instance admin, who may open the school's other pages,
gets a 403: the roster is the school's alone). A change is stored and its calendar update
queued; the page never evaluates anything.
"""

from __future__ import annotations

import json
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from sqlalchemy.orm import Session

from feedserver.pipeline import jobs
from feedserver.pipeline.dispatch import enqueue
from feedserver.storage import roster as roster_store
from feedserver.storage.models import School
from feedserver.storage.secretbox import SecretUnreadable
from feedserver.web.context import services
from feedserver.web.pages import access
from feedserver.web.pages.blueprint import bp
from rules.errors import PackError, PackRejected
from rules.roster import Roster
from rules.roster_csv import FILENAME, parse_csv, parse_records, to_record

YEAR_WORDS = {-2: "Two-year-olds", -1: "Nursery", 0: "Reception"}
TRANSFER_WORDS = {"school": "To the next school phase", "post16": "Into post-16"}


def year_group(value: int) -> str:
    """A year group in words: ``Reception``, ``Year 4``."""
    return YEAR_WORDS.get(value, f"Year {value}")


def _own(viewer: access.Viewer) -> None:
    if viewer.role != "school":
        abort(403, "Only the school's own admins can see its EHCP roster.")


def _page(
    db: Session, school: School, problems: list[dict[str, Any]] | None = None, **extra: Any
) -> Any:
    pupils = roster_store.read(db, services().secretbox, school.id)
    return render_template(
        "roster.html", school=school, pupils=pupils, problems=problems or [],
        year_group=year_group, transfers=TRANSFER_WORDS, **extra,
    )  # fmt: skip


@bp.get("/schools/<school_id>/roster")
@access.required()
def roster_page(db: Session, viewer: access.Viewer, school: School) -> Any:
    """The roster, with the import form and a remove button for each pupil."""
    _own(viewer)
    done = {k: request.args.get(k, "") for k in ("pupils", "added", "removed", "left", "entries")}
    return _page(db, school, viewer=viewer, done=done)


@bp.post("/schools/<school_id>/roster/import")
@access.required()
def roster_import(db: Session, viewer: access.Viewer, school: School) -> Any:
    """Replace the roster from a CSV file; its problems are shown with their line numbers."""
    _own(viewer)
    upload = request.files.get("csv")
    try:
        if upload is None or not upload.filename:
            raise PackRejected([PackError(FILENAME, "choose a CSV file to upload.")])
        found = parse_csv(upload.read(), upload.filename[:100])
    except PackRejected as rejected:
        problems = [{"line": p.line, "field": p.field or "", "message": p.message}
                    for p in rejected.problems]  # fmt: skip
        return _page(db, school, problems, viewer=viewer, done={}), 422
    return _replace_or_check(db, viewer, school, found)


def _replace_or_check(
    db: Session,
    viewer: access.Viewer,
    school: School,
    found: Roster,
    agreed: frozenset[str] = frozenset(),
) -> Any:
    """Replace the roster, unless pupils would leave whom the person has not agreed to remove."""
    svc = services()
    current = roster_store.read(db, svc.secretbox, school.id)
    leaving = sorted({p.ref for p in current} - {p.ref for p in found})
    if leaving and frozenset(leaving) != agreed:
        kept = {"school": school.id, "leaving": leaving, "pupils": [to_record(p) for p in found]}
        sealed = svc.secretbox.seal(json.dumps(kept))  # encrypted: the page holds no clear roster
        return render_template("roster_import_check.html", viewer=viewer, school=school,
                               leaving=leaving, pupils=len(found),
                               sealed=sealed.decode("ascii"))  # fmt: skip
    change = roster_store.replace(db, svc.secretbox, school.id, found, viewer.actor,
                                  svc.clock.now())  # fmt: skip
    if change.changed:
        enqueue(jobs.evaluate_school, school.id, reason="roster")
    return redirect(url_for("pages.roster_page", school_id=school.id, pupils=len(found),
                            added=change.added, removed=change.removed))  # fmt: skip


@bp.post("/schools/<school_id>/roster/import/confirm")
@access.required()
def roster_import_confirm(db: Session, viewer: access.Viewer, school: School) -> Any:
    """Replace the roster with the file checked a moment ago, its leavers agreed to."""
    _own(viewer)
    try:
        data = json.loads(services().secretbox.open(request.form.get("sealed", "").encode()))
    except (SecretUnreadable, ValueError):
        abort(400, "This form has expired or did not come from sencocal. Import the file again.")
    if not isinstance(data, dict) or data.get("school") != school.id:
        abort(400, "This form is for another school's roster. Import the file again.")
    found = parse_records(data["pupils"])
    return _replace_or_check(db, viewer, school, found, frozenset(data["leaving"]))


@bp.post("/schools/<school_id>/roster/remove-check")
@access.required()
def roster_remove_check(db: Session, viewer: access.Viewer, school: School) -> Any:
    """Ask before removing a pupil who left (the reference travels in forms, never in a URL)."""
    _own(viewer)
    ref = request.form.get("ref", "")
    pupils = roster_store.read(db, services().secretbox, school.id)
    pupil = next((p for p in pupils if p.ref == ref), None)
    if pupil is None:
        abort(404)
    return render_template("roster_remove.html", viewer=viewer, school=school, pupil=pupil,
                           year_group=year_group)  # fmt: skip


@bp.post("/schools/<school_id>/roster/remove")
@access.required()
def roster_remove(db: Session, viewer: access.Viewer, school: School) -> Any:
    """Remove a pupil who left, with their calendar entries."""
    _own(viewer)
    svc = services()
    change = roster_store.remove_pupil(db, svc.secretbox, school.id, request.form.get("ref", ""),
                                       viewer.actor, svc.clock.now())  # fmt: skip
    if change is None:
        abort(404)
    enqueue(jobs.evaluate_school, school.id, reason="roster")
    return redirect(url_for("pages.roster_page", school_id=school.id, left=1,
                            entries=change.events_removed))  # fmt: skip
