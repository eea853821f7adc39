"""The JSON API (``/api``): schools, term dates, feeds and tokens, packs, preview.

The machinery (the route table behind the OpenAPI document, authorisation, error answers, one
transaction per request) is in ``apiroutes.py``; access (keys, people, sign-in and feed links,
the audit log) in ``api_access.py``.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from sqlalchemy.orm import Session

import rules
from feedserver import termcsv, wording
from feedserver.clock import today
from feedserver.pipeline import jobs, refresh
from feedserver.pipeline.dispatch import enqueue
from feedserver.storage import apikeys, packstore, schools, subscriptions
from feedserver.storage import events as event_store
from feedserver.storage import problems as problem_store
from feedserver.storage.models import School
from feedserver.storage.principals import Principal
from feedserver.storage.subscriptions import AUDIENCES
from feedserver.web.apidoc import document
from feedserver.web.apiroutes import ENDPOINTS, ApiError, Later, json_body, read_body, route
from feedserver.web.context import feed_cache, services
from rules.audiences import for_audience
from rules.profile import profile_from_data


def _validated_profile(data: dict[str, Any]) -> rules.SchoolProfile:
    return profile_from_data(data, "request body")


def _audience(value: Any) -> str:
    if value not in AUDIENCES:
        choices = ", ".join(AUDIENCES)
        raise ApiError(
            422, "Unknown audience.", [{"field": "audience", "message": f"use one of: {choices}"}]
        )
    return str(value)


def _save(
    session: Session, profile: rules.SchoolProfile, actor: str, *, new: bool = False
) -> School:
    """Store a profile and queue its school's re-evaluation (after this request commits)."""
    row = schools.save(session, profile, actor, services().clock.now(), new=new)
    enqueue(jobs.evaluate_school, row.id, reason="profile")
    return row


def _school_answer(school_id: str, status: int = 200) -> Later:
    """The school's JSON, read after the change committed (and its in-process jobs ran)."""

    def build(session: Session) -> Any:
        row = session.get(School, school_id)
        assert row is not None
        return _school_json(session, row), status

    return Later(build)


def _school_json(session: Session, row: School) -> dict[str, Any]:
    up_to_date = row.evaluated_fingerprint == refresh.current_fingerprint(
        session, row, today(services().clock)
    )
    return {
        "id": row.id,
        "name": row.name,
        "la_code": row.la_code,
        "profile": row.profile,
        "status": {
            "up_to_date": up_to_date,
            "evaluated_at": row.evaluated_at.isoformat() if row.evaluated_at else None,
            "events_changed_at": row.events_changed_at.isoformat()
            if row.events_changed_at
            else None,
            "warnings": [
                wording.warning_json(rules.EvalWarning.from_json(item))
                for item in row.warnings.get("items", [])
            ],
            "problems": [
                wording.problem_json(p) for p in problem_store.open_problems(session, row.id)
            ],
        },
        "feeds": [
            {
                "audience": feed.audience,
                "event_count": feed.event_count,
                "content_changed_at": feed.content_changed_at.isoformat()
                if feed.content_changed_at
                else None,
                "tokens": [
                    {
                        "name": t.name,
                        "created_at": t.created_at.isoformat(),
                        "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                    }
                    for t in subscriptions.active_tokens(feed)
                ],
            }
            for feed in sorted(row.feeds, key=lambda f: AUDIENCES.index(f.audience))
        ],
    }


def _feed(row: School, audience: str) -> Any:
    for feed in row.feeds:
        if feed.audience == audience:
            return feed
    raise ApiError(404, f"This school has no {audience} feed yet; create it first.")


def _token_answer(audience: str, name: str, secret: str) -> dict[str, Any]:
    url = subscriptions.feed_url(services().config.public_base_url, secret)
    return {
        "audience": audience,
        "name": name,
        "url": url,
        "note": "Shown once: copy it now. Only a hash is stored.",
    }


# ------------------------------------------------------------------------------------ routes


@route("GET", "/openapi.json", "This API's OpenAPI document.", "public")
def openapi(session: Session, principal: None) -> Response:
    return jsonify(document(ENDPOINTS))


@route("GET", "/term-dates-template.csv", "The CSV template for term dates.", "public")
def term_dates_template(session: Session, principal: None) -> Response:
    return Response(
        termcsv.TEMPLATE,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="term-dates.csv"'},
    )


@route("GET", "/schools", "List schools (admin).", "admin")
def list_schools(session: Session, principal: Principal) -> Any:
    rows = session.query(School).order_by(School.id).all()
    return {"schools": [{"id": r.id, "name": r.name, "la_code": r.la_code} for r in rows]}


@route("POST", "/schools", "Create a school from a profile (admin).", "admin", body="json")
def create_school(session: Session, principal: Principal) -> Any:
    profile = _validated_profile(json_body())
    if session.get(School, profile.id) is not None:
        raise ApiError(
            409,
            f"A school with id '{profile.id}' already exists; "
            f"PUT /api/schools/{profile.id} to change it.",
        )
    _save(session, profile, principal.actor, new=True)
    return _school_answer(profile.id, 201)


@route(
    "DELETE",
    "/schools/<school_id>",
    "Delete a school and everything kept about it (admin).",
    "admin",
)
def delete_school(session: Session, principal: Principal, school_id: str) -> Any:
    try:
        counts = schools.delete(session, school_id, principal.actor, services().clock.now())
    except schools.SchoolNotFound:
        raise ApiError(404, "Not found.") from None
    feed_cache().clear()
    return {"deleted": school_id, "rows": counts}


@route("GET", "/schools/<school_id>", "A school's profile, status and feeds.", "school")
def get_school(session: Session, principal: Principal, school_id: str) -> Any:
    return _school_json(session, session.get(School, school_id))  # type: ignore[arg-type]


@route("PUT", "/schools/<school_id>", "Replace a school's profile.", "school", body="json")
def put_school(session: Session, principal: Principal, school_id: str) -> Any:
    data = json_body()
    if data.get("id", school_id) != school_id:
        raise ApiError(
            422,
            "The id in the body must match the address.",
            [{"field": "id", "message": f"must be '{school_id}'"}],
        )
    profile = _validated_profile({**data, "id": school_id})
    _save(session, profile, principal.actor)
    return _school_answer(school_id)


@route(
    "PATCH",
    "/schools/<school_id>",
    "Change some fields of a school's profile.",
    "school",
    body="json",
)
def patch_school(session: Session, principal: Principal, school_id: str) -> Any:
    changes = json_body()
    if "id" in changes and changes["id"] != school_id:
        raise ApiError(
            422,
            "A school's id cannot change.",
            [{"field": "id", "message": f"must be '{school_id}'"}],
        )
    row = session.get(School, school_id)
    assert row is not None
    profile = _validated_profile({**row.profile, **changes, "id": school_id})
    _save(session, profile, principal.actor)
    return _school_answer(school_id)


@route(
    "POST",
    "/schools/<school_id>/term-dates.csv",
    "Import term dates, INSET days and closures from CSV.",
    "school",
    body="csv",
)
def import_term_dates(session: Session, principal: Principal, school_id: str) -> Any:
    if request.mimetype not in {"text/csv", "text/plain", "application/csv"}:
        raise ApiError(415, "Send the CSV with 'Content-Type: text/csv'.")
    try:
        found = termcsv.parse(read_body())
    except UnicodeDecodeError:
        raise ApiError(
            400, "The CSV is not UTF-8; save it as 'CSV UTF-8' from your spreadsheet."
        ) from None
    row = session.get(School, school_id)
    assert row is not None
    profile = termcsv.merged(schools.profile_of(row), found)
    _save(session, profile, principal.actor)

    def build(session: Session) -> Any:
        school = session.get(School, school_id)
        assert school is not None
        return {"imported_years": sorted(found.years), "school": _school_json(session, school)}

    return Later(build)


@route(
    "POST",
    "/schools/<school_id>/keys",
    "Create an API key for a school (admin).",
    "admin",
    body="json",
)
def create_school_key(session: Session, principal: Principal, school_id: str) -> Any:
    if session.get(School, school_id) is None:
        raise ApiError(404, "Not found.")
    label = json_body().get("label", "")
    key = apikeys.create_key(
        session, "school", services().clock.now(), school_id, label, actor=principal.actor
    )
    return {
        "school_id": school_id,
        "key": key,
        "note": "Shown once: copy it now. Only a hash is stored.",
    }, 201


@route(
    "POST",
    "/schools/<school_id>/feeds",
    "Create a feed for an audience, with a first named token.",
    "school",
    body="json",
)
def create_feed(session: Session, principal: Principal, school_id: str) -> Any:
    data = json_body()
    audience = _audience(data.get("audience"))
    svc = services()
    now = svc.clock.now()
    row = session.get(School, school_id)
    assert row is not None
    feed = subscriptions.ensure_feed(session, row, audience, principal.actor, now)
    name = str(data.get("token_name", "default"))
    secret = subscriptions.add_token(session, feed, name, principal.actor, now)
    refresh.render_new_feeds(session, row, today(svc.clock), now)
    enqueue(jobs.evaluate_school, school_id, reason="feed")  # catches up if it was stale
    return _token_answer(audience, subscriptions.normal_name(name), secret), 201


@route(
    "POST",
    "/schools/<school_id>/feeds/<audience>/tokens",
    "Add a named token to a feed.",
    "school",
    body="json",
)
def add_token(session: Session, principal: Principal, school_id: str, audience: str) -> Any:
    row = session.get(School, school_id)
    assert row is not None
    feed = _feed(row, audience)
    name = str(json_body().get("name", ""))
    secret = subscriptions.add_token(session, feed, name, principal.actor, services().clock.now())
    return _token_answer(audience, subscriptions.normal_name(name), secret), 201


@route(
    "POST",
    "/schools/<school_id>/feeds/<audience>/tokens/<name>/rotate",
    "Replace a token with a new secret.",
    "school",
)
def rotate_token(
    session: Session, principal: Principal, school_id: str, audience: str, name: str
) -> Any:
    row = session.get(School, school_id)
    assert row is not None
    feed = _feed(row, audience)
    secret = subscriptions.rotate_token(
        session, feed, name, principal.actor, services().clock.now()
    )
    feed_cache().clear()
    return _token_answer(audience, subscriptions.normal_name(name), secret)


@route("DELETE", "/schools/<school_id>/feeds/<audience>/tokens/<name>", "Revoke a token.", "school")
def revoke_token(
    session: Session, principal: Principal, school_id: str, audience: str, name: str
) -> Any:
    row = session.get(School, school_id)
    assert row is not None
    subscriptions.revoke_token(
        session, _feed(row, audience), name, principal.actor, services().clock.now()
    )
    feed_cache().clear()
    return Response(status=204)


@route(
    "GET", "/schools/<school_id>/events", "The school's stored events in the feed window.", "school"
)
def stored_events(session: Session, principal: Principal, school_id: str) -> Any:
    audience = _audience(request.args.get("audience", "senco"))
    years = refresh.window(today(services().clock))
    events, revisions = event_store.window(session, school_id, years)
    return {
        "window": list(years),
        "events": [
            {**e.to_json(), "sequence": revisions.sequence[e.uid]}
            for e in for_audience(events, audience)
            if principal.role == "school" or not e.body.pupil_level  # pupils: the school's own
        ],
    }


@route(
    "GET",
    "/schools/<school_id>/preview",
    "Evaluate a school's events for one year without saving.",
    "school",
)
def preview(session: Session, principal: Principal, school_id: str) -> Any:
    svc = services()
    try:
        year = int(request.args.get("year", refresh.window(today(svc.clock))[0]))
    except ValueError:
        raise ApiError(
            422,
            "year must be a number such as 2026 (for 2026/27).",
            [{"field": "year", "message": "not a number"}],
        ) from None
    if not 2000 <= year <= 2100:
        raise ApiError(
            422,
            "year is out of range.",
            [{"field": "year", "message": "use e.g. 2026 for 2026/27"}],
        )
    audience = _audience(request.args.get("audience", "senco"))
    row = session.get(School, school_id)
    assert row is not None
    profile = schools.profile_of(row)
    result = rules.evaluate_full(
        [p for p, _ in schools.packs_for(session, profile)], profile, year, memo=svc.memo
    )
    return {
        "year": year,
        "events": [e.to_json() for e in for_audience(result.events, audience)],
        "warnings": [wording.warning_json(w) for w in result.warnings],
    }


@route("GET", "/packs", "The live version of every published pack (admin).", "admin")
def list_packs(session: Session, principal: Principal) -> Any:
    return {
        "packs": [
            {
                "slug": v.slug,
                "revision": v.revision,
                "version": v.version_label,
                "publisher": {"kind": v.publisher_kind, "code": v.publisher_code},
                "published_at": v.created_at.isoformat(),
            }
            for v in packstore.live_versions(session)
        ]
    }


@route(
    "POST",
    "/packs",
    "Publish a pack (YAML body); schools it reaches are re-evaluated (admin).",
    "admin",
    body="yaml",
)
def publish_pack(session: Session, principal: Principal) -> Any:
    if request.mimetype not in {
        "application/yaml",
        "application/x-yaml",
        "text/yaml",
        "text/x-yaml",
        "text/plain",
    }:
        raise ApiError(415, "Send the pack with 'Content-Type: application/yaml'.")
    svc = services()
    now = svc.clock.now()
    filename = request.args.get("filename", "pack.yaml")[:100]
    version, new = packstore.publish(session, read_body(), filename, principal.actor, now)
    reached = len(packstore.reached_school_ids(session, version))
    if new:
        enqueue(jobs.fan_out_pack, version.id, reason="publish")
    answer = {
        "slug": version.slug,
        "revision": version.revision,
        "version": version.version_label,
        "new": new,
        "schools_reached": reached,
        "schools_queued": reached if new else 0,
    }
    return answer, 201 if new else 200


@route(
    "POST",
    "/refresh",
    "Queue a re-evaluation of every school whose inputs changed (admin).",
    "admin",
)
def refresh_all(session: Session, principal: Principal) -> Any:
    enqueue(jobs.refresh_stale, reason="admin")
    return {"queued": True}, 202
