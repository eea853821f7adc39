"""The admin's Feed links page: every working calendar link of every school, with its last use.

A feed link reaches a school's calendar (the SENCO's carries pupils' review dates), so the
admin can see all of them and revoke any one.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from sqlalchemy.orm import Session

from feedserver.storage import subscriptions
from feedserver.web.context import feed_cache, services
from feedserver.web.pages import access, admin_nav
from feedserver.web.pages.blueprint import bp
from feedserver.web.pages.school_views import AUDIENCE_WORDS

admin_nav.add(admin_nav.Section("pages.admin_feeds", "Feed links", 40))


@bp.get("/admin/feeds")
@access.required("admin")
def admin_feeds(db: Session, viewer: access.Viewer) -> Any:
    """Every working feed link."""
    return render_template(
        "admin_feeds.html", viewer=viewer, links=subscriptions.live_links(db),
        audiences=AUDIENCE_WORDS, notice=None, error=None,
    )  # fmt: skip


@bp.post("/admin/feeds/<int:token_id>/revoke")
@access.required("admin")
def admin_revoke_feed_link(db: Session, viewer: access.Viewer, token_id: int) -> Any:
    """Revoke one feed link: calendars using it stop updating."""
    try:
        feed, name = subscriptions.revoke_token_by_id(
            db, token_id, viewer.actor, services().clock.now()
        )
    except subscriptions.SubscriptionError:
        flash("That link was already revoked.")
        return redirect(url_for("pages.admin_feeds"))
    feed_cache().clear()
    flash(f"The link “{name}” of {feed.school.name} ({AUDIENCE_WORDS[feed.audience]}) is revoked.")
    return redirect(url_for("pages.admin_feeds"))
