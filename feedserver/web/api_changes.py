"""The JSON twin of a school's "What changed" page: ``GET /api/schools/<id>/changes``.

Same content as the page (``storage.whats_new``), and like the page it marks the changes seen,
here for the school key that asked (``api_keys.changes_seen_at``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from feedserver.storage import whats_new
from feedserver.storage.principals import Principal
from feedserver.web.apiroutes import route
from feedserver.web.pages.whats_new_views import day_of, summary


def _publication(pub: whats_new.Publication, tracked: bool) -> dict[str, Any]:
    return {
        "from": pub.source,
        "note": pub.note,
        "at": pub.at.isoformat(),
        "day": day_of(pub.at),
        "seen": pub.seen if tracked else None,
        "changes": [
            {
                "kind": c.kind,
                "title": c.title,
                "old_date": c.old_start.isoformat() if c.old_start else None,
                "new_date": c.new_start.isoformat() if c.new_start else None,
                "summary": summary(c),
            }
            for c in pub.changes
        ],
    }


@route(
    "GET",
    "/schools/<school_id>/changes",
    "What the LA and the national packs changed in the school's calendar, new first; "
    "marks them seen for this key.",
    "school",
)
def school_changes(session: Session, principal: Principal, school_id: str) -> Any:
    """The school's changes as JSON, split into new and seen for this key."""
    found = whats_new.for_reader(session, school_id, principal)
    unread = sum(len(p.changes) for p in found.new) if found.tracked else None
    whats_new.mark_seen(session, principal, found.newest)
    return {
        "school_id": school_id,
        "tracked": found.tracked,
        "new_count": unread,
        "new": [_publication(p, found.tracked) for p in found.new],
        "seen": [_publication(p, found.tracked) for p in found.seen],
        "more": found.more,
    }
