"""A school's own pages: the coming weeks, and its feeds with their named tokens."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from sqlalchemy.orm import Session

import rules
from feedserver import wording
from feedserver.clock import today
from feedserver.pipeline import jobs, refresh
from feedserver.pipeline.dispatch import enqueue
from feedserver.storage import events as event_store
from feedserver.storage import problems as problem_store
from feedserver.storage import schools, subscriptions
from feedserver.storage.models import School
from feedserver.storage.subscriptions import AUDIENCES
from feedserver.web.context import feed_cache, services
from feedserver.web.pages import access
from feedserver.web.pages.blueprint import bp
from rules.audiences import for_audience

AUDIENCE_WORDS = {
    "senco": "SENCO (everything)",
    "slt": "Senior leaders",
    "governors": "Governors",
    "ta": "Teaching assistants",
    "staff": "All staff",
}


@dataclass
class Week:
    """One week of the preview."""

    monday: dt.date
    events: list[rules.Event]

    @property
    def hours(self) -> float:
        """The time the week's entries take, by their effort estimates."""
        return round(sum(e.body.effort_hours or 0.0 for e in self.events), 2)


def weeks_ahead(events: list[rules.Event], start: dt.date, count: int) -> list[Week]:
    """``events`` from the week containing ``start``, grouped by week, ``count`` weeks."""
    monday = start - dt.timedelta(days=start.weekday())
    weeks = [Week(monday + dt.timedelta(weeks=i), []) for i in range(count)]
    end = monday + dt.timedelta(weeks=count)
    for event in events:
        first = (
            event.body.start.date()
            if isinstance(event.body.start, dt.datetime)
            else event.body.start
        )
        last = (
            event.body.end.date()
            if isinstance(event.body.end, dt.datetime)
            else event.body.end - dt.timedelta(days=1)
        )
        if last < monday or first >= end:
            continue
        index = max(0, (first - monday).days // 7)
        weeks[index].events.append(event)
    return weeks


@bp.get("/schools/<school_id>")
@access.required()
def school_home(db: Session, viewer: access.Viewer, school: School) -> Any:
    """The coming weeks, with a filter by audience."""
    school_id = school.id
    audience = request.args.get("audience", "senco")
    if audience not in AUDIENCES:
        audience = "senco"
    try:
        count = max(1, min(26, int(request.args.get("weeks", "6"))))
    except ValueError:
        count = 6
    day = today(services().clock)
    events, _ = event_store.window(db, school_id, refresh.window(day))
    shown = for_audience(events, audience)
    hidden = 0
    if viewer.role != "school":  # entries naming pupils are for the school's own admins only
        hidden = sum(e.body.pupil_level for e in shown)
        shown = [e for e in shown if not e.body.pupil_level]
    weeks = weeks_ahead(shown, day, count)
    warnings = [
        wording.warning_for_school(w)
        for w in map(rules.EvalWarning.from_json, school.warnings.get("items", []))
        if w.kind != rules.WarningKind.UNPUBLISHED  # expected dates say so on the entries
    ]
    problems = [wording.problem_for_school(p) for p in problem_store.open_problems(db, school_id)]
    updating = school.evaluated_fingerprint != refresh.current_fingerprint(db, school, day)
    return render_template(
        "school.html", viewer=viewer, school=school, weeks=weeks, audience=audience, count=count,
        audiences=AUDIENCE_WORDS, warnings=sorted(set(warnings)), problems=problems,
        updating=updating, today=day, hidden_pupil_entries=hidden,
        cap=schools.profile_of(school).senco_hours_per_week,
    )  # fmt: skip


@bp.get("/schools/<school_id>/feeds")
@access.required()
def feeds_page(db: Session, viewer: access.Viewer, school: School) -> Any:
    """The school's feeds and named tokens."""
    return render_template(
        "feeds.html", viewer=viewer, school=school, made=None, error=None, **_feed_context(school)
    )


def _feed_context(school: School) -> dict[str, Any]:
    feeds = sorted(school.feeds, key=lambda f: AUDIENCES.index(f.audience))
    return {
        "feeds": [(f, subscriptions.active_tokens(f)) for f in feeds],
        "audiences": AUDIENCE_WORDS,
    }


@bp.post("/schools/<school_id>/feeds")
@access.required()
def add_feed_token(db: Session, viewer: access.Viewer, school: School) -> Any:
    """Create a feed (if needed) with a named token; show its subscribe page link once."""
    school_id = school.id
    audience = request.form.get("audience", "")
    name = request.form.get("name", "")
    svc = services()
    now = svc.clock.now()
    if audience not in AUDIENCES:
        error = "Choose who the feed is for."
        return render_template(
            "feeds.html",
            viewer=viewer,
            school=school,
            made=None,
            error=error,
            **_feed_context(school),
        ), 422
    try:
        feed = subscriptions.ensure_feed(db, school, audience, viewer.actor, now)
        secret = subscriptions.add_token(db, feed, name, viewer.actor, now)
    except subscriptions.SubscriptionError as exc:
        db.rollback()
        reloaded = db.get(School, school_id)
        assert reloaded is not None
        return render_template(
            "feeds.html",
            viewer=viewer,
            school=reloaded,
            made=None,
            error=str(exc),
            **_feed_context(reloaded),
        ), 422
    refresh.render_new_feeds(db, school, today(svc.clock), now)
    enqueue(jobs.evaluate_school, school_id, reason="feed")  # catches up if it was stale
    made = {
        "audience": AUDIENCE_WORDS[audience],
        "name": subscriptions.normal_name(name),
        "subscribe": svc.config.public_base_url + url_for("pages.subscribe", token=secret),
    }
    return render_template(
        "feeds.html", viewer=viewer, school=school, made=made, error=None, **_feed_context(school)
    )


@bp.post("/schools/<school_id>/feeds/<audience>/tokens/<name>/revoke")
@access.required()
def revoke_feed_token(
    db: Session, viewer: access.Viewer, school: School, audience: str, name: str
) -> Any:
    """Revoke one named token: that address stops working."""
    school_id = school.id
    feed = next((f for f in school.feeds if f.audience == audience), None)
    if feed is None:
        abort(404)
    try:
        subscriptions.revoke_token(db, feed, name, viewer.actor, services().clock.now())
    except subscriptions.SubscriptionError:
        abort(404)
    feed_cache().clear()
    return redirect(url_for("pages.feeds_page", school_id=school_id, revoked=name))
