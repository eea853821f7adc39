"""A school's "What changed" page, and its unread count in the school navigation.

The page lists the entries the LA (or the national packs) moved, added, reworded or removed
(``storage.whats_new``), new ones first; visiting it marks them seen for the person (or school
key) signed in. The JSON twin, ``GET /api/schools/<id>/changes``, is in ``web/api_changes.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import g, render_template
from sqlalchemy.orm import Session

from feedserver.storage import whats_new
from feedserver.storage.models import School
from feedserver.storage.principals import Principal
from feedserver.web.context import services
from feedserver.web.pages import access, fmt
from feedserver.web.pages.blueprint import bp

LONDON = ZoneInfo("Europe/London")


def summary(change: whats_new.Change) -> str:
    """What happened to one entry, with its dates written out."""
    old = fmt.long_day(change.old_start) if change.old_start else None
    new = fmt.long_day(change.new_start) if change.new_start else None
    if change.kind == "moved":
        return f"Moved from {old} to {new}."
    if change.kind == "added":
        return f"New entry on {new}."
    if change.kind == "removed":
        return f"Removed: it was on {old}."
    return f"Its wording changed; still on {new or old}."


def day_of(at: dt.datetime) -> str:
    """The day (in England) a publication reached the school's calendar, written out."""
    return fmt.long_day(at.astimezone(LONDON).date())


@bp.get("/schools/<school_id>/changes")
@access.required()
def what_changed(db: Session, viewer: access.Viewer, school: School) -> Any:
    """What the LA and the national packs changed in the school's calendar; marks it seen."""
    found = whats_new.for_reader(db, school.id, viewer)
    whats_new.mark_seen(db, viewer, found.newest)
    g.changes_unread = 0 if found.tracked else None  # the navigation shows this visit's effect
    return render_template(
        "whats_new.html", viewer=viewer, school=school, found=found, summary=summary,
        day_of=day_of,
    )  # fmt: skip


@bp.app_context_processor
def _unread_helper() -> dict[str, Any]:
    return {"changes_unread": changes_unread}


def changes_unread(viewer: Principal | None, school: School | None) -> int | None:
    """How many of ``school``'s changes are new to ``viewer`` (None: not counted for them)."""
    if viewer is None or school is None:
        return None
    if "changes_unread" in g:
        value: int | None = g.changes_unread
        return value
    with services().db.session() as db:
        count = whats_new.unread(db, school.id, viewer)
    g.changes_unread = count
    return count
