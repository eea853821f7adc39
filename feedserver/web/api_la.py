"""The JSON API for local authorities: their schools, packs, dry runs, term dates and officers.

Every route under ``/api/la/<la_code>`` takes that LA's key (or the instance admin's); another
LA's resources, and things that do not exist, answer the same 404. What an LA sees of a school is
exactly what :mod:`feedserver.storage.la_view` gives. The instance admin adds LAs (``/api/las``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from feedserver.pipeline import dryrun, lapublish
from feedserver.storage import accounts, apikeys, la_view, las, packstore
from feedserver.storage.models import ApiKey, DryRun, LocalAuthority, PackVersion, User
from feedserver.storage.principals import Principal
from feedserver.web.api_access import SHOWN_ONCE, _account_call, _number
from feedserver.web.apiroutes import ApiError, json_body, read_body, route
from feedserver.web.context import services

YAML_TYPES = {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain"}
MODES = ("check", "dry-run", "publish")


def _when(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _la(session: Session, la_code: str) -> LocalAuthority:
    la = las.get(session, la_code)
    if la is None:  # _authorise already answered 404; kept for the type
        raise ApiError(404, "Not found.")
    return la


def _uploaded(field: str, types: set[str]) -> tuple[bytes, str]:
    """The file sent as the body or as the multipart field ``field``, with its name."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get(field)
        if upload is None:
            raise ApiError(400, f"Send the file in the form field '{field}'.")
        return upload.read(), (upload.filename or f"{field}.yaml")[:100]
    if request.mimetype not in types:
        wanted = " or ".join(sorted(types)[:2])
        raise ApiError(415, f"Send the file with 'Content-Type: {wanted}', or as a form upload.")
    return read_body(), request.args.get("filename", "pack.yaml")[:100]


def version_json(la_code: str, version: PackVersion) -> dict[str, Any]:
    """A published revision as the API shows it."""
    return {
        "slug": version.slug,
        "revision": version.revision,
        "version": version.version_label,
        "published_at": _when(version.created_at),
        "published_by": version.created_by,
        "note": version.note or "",
        "rolled_back_from": version.rolled_back_from,
        "progress": url_for(
            "api.la_progress", la_code=la_code, slug=version.slug, revision=version.revision
        ),
    }


def dry_run_json(la_code: str, run: DryRun) -> dict[str, Any]:
    """A dry run with its progress and, per school, what would change."""
    effects = [dryrun.SchoolEffect.from_json(r) for r in run.results.get("schools", [])]
    return {
        "id": run.id,
        "slug": run.slug,
        "state": run.state,
        "schools": run.total,
        "checked": run.done,
        "affected": sum(1 for e in effects if e.affected),
        "totals": {
            kind: sum(getattr(e, kind) for e in effects)
            for kind in ("added", "moved", "reworded", "removed")
        },
        "results": [{k: v for k, v in e.to_json().items() if k != "school_id"} for e in effects],
        "link": url_for("api.la_dry_run", la_code=la_code, run_id=str(run.id)),
    }


@route("GET", "/la/<la_code>", "The LA, its schools (names, URNs, counts) and packs (LA).", "la")
def la_home(session: Session, principal: Principal, la_code: str) -> Any:
    la = _la(session, la_code)
    return {
        "code": la.code,
        "name": la.name,
        "schools": [
            {
                "school": s.school_id,
                "name": s.name,
                "urn": s.urn,
                "subscribed_links": s.subscribed_links,
                "connected_calendars": s.connected_calendars,
            }
            for s in la_view.schools_of(session, la_code)
        ],
        "packs": la_view.la_slugs(session, la_code),
    }


@route(
    "GET",
    "/la/<la_code>/schools/<school_id>/entries",
    "The dates the LA's own packs give one of its schools (LA).",
    "la",
)
def la_school_entries(session: Session, principal: Principal, la_code: str, school_id: str) -> Any:
    found = la_view.entries(session, la_code, school_id)
    if found is None:
        raise ApiError(404, "Not found.")
    return {
        "entries": [
            {"title": e.title, "start": e.start, "end": e.end, "all_day": e.all_day} for e in found
        ]
    }


@route(
    "POST",
    "/la/<la_code>/packs",
    "Check, dry-run or publish a pack: ?mode=check|dry-run|publish&note= (YAML or upload; LA).",
    "la",
    body="yaml",
)
def la_submit_pack(session: Session, principal: Principal, la_code: str) -> Any:
    mode = request.args.get("mode", "check")
    if mode not in MODES:
        raise ApiError(400, "mode is one of check, dry-run or publish.")
    data, filename = _uploaded("pack", YAML_TYPES)
    now = services().clock.now()
    if mode == "check":
        pack = lapublish.check(session, la_code, data, filename)
        return {"ok": True, "slug": pack.pack, "version": pack.version, "rules": len(pack.rules)}
    if mode == "dry-run":
        run = lapublish.dry_run(session, la_code, data, filename, principal.actor, now)
        return dry_run_json(la_code, run), 200 if run.state == "done" else 202
    note = request.args.get("note", "")
    version, new = lapublish.publish(session, la_code, data, filename, note, principal.actor, now)
    reached = len(packstore.reached_school_ids(session, version))
    answer = {**version_json(la_code, version), "new": new, "schools_reached": reached}
    return answer, 202 if new else 200


@route("GET", "/la/<la_code>/packs", "Every version of each of the LA's packs (LA).", "la")
def la_packs(session: Session, principal: Principal, la_code: str) -> Any:
    return {
        "packs": [
            {
                "slug": slug,
                "versions": [version_json(la_code, v) for v in packstore.history(session, slug)],
            }
            for slug in la_view.la_slugs(session, la_code)
        ]
    }


def _version(session: Session, la_code: str, slug: str, revision: str) -> PackVersion:
    if not lapublish.owns(session, la_code, slug):
        raise ApiError(404, "Not found.")
    number = _number(revision)
    found = session.scalars(
        select(PackVersion).where(PackVersion.slug == slug, PackVersion.revision == number)
    ).first()
    if found is None:
        raise ApiError(404, "Not found.")
    return found


@route(
    "GET",
    "/la/<la_code>/packs/<slug>/revisions/<revision>/progress",
    "How many of the LA's schools have a publication so far (LA).",
    "la",
)
def la_progress(
    session: Session, principal: Principal, la_code: str, slug: str, revision: str
) -> Any:
    version = _version(session, la_code, slug, revision)
    done = lapublish.progress(session, version)
    return {
        "slug": slug,
        "revision": version.revision,
        "schools": done.total,
        "done": done.done,
        "finished": done.finished,
    }


@route(
    "POST",
    "/la/<la_code>/packs/<slug>/revisions/<revision>/rollback",
    "Publish an earlier version again, as a new revision (LA).",
    "la",
)
def la_rollback(
    session: Session, principal: Principal, la_code: str, slug: str, revision: str
) -> Any:
    old = _version(session, la_code, slug, revision)
    note = request.args.get("note", "")
    now = services().clock.now()
    version, new = lapublish.rollback(
        session, la_code, slug, old.revision, note, principal.actor, now
    )
    reached = len(packstore.reached_school_ids(session, version))
    answer = {**version_json(la_code, version), "new": new, "schools_reached": reached}
    return answer, 202 if new else 200


@route("GET", "/la/<la_code>/dry-runs/<run_id>", "A dry run's progress and results (LA).", "la")
def la_dry_run(session: Session, principal: Principal, la_code: str, run_id: str) -> Any:
    run = session.get(DryRun, _number(run_id))
    if run is None or run.la_code != la_code:
        raise ApiError(404, "Not found.")
    return dry_run_json(la_code, run)


@route(
    "POST",
    "/la/<la_code>/term-dates",
    "Publish the LA's term dates from its CSV or ICS file; its schools inherit them (LA).",
    "la",
    body="csv",
)
def la_term_dates(session: Session, principal: Principal, la_code: str) -> Any:
    data, filename = _uploaded("file", {"text/csv", "text/calendar"})
    kind = "ics" if request.mimetype == "text/calendar" or filename.endswith(".ics") else "csv"
    now = services().clock.now()
    la = _la(session, la_code)
    version, new = lapublish.term_dates(
        session, la, data, kind, request.args.get("note", ""), principal.actor, now
    )
    reached = len(packstore.reached_school_ids(session, version))
    answer = {**version_json(la_code, version), "new": new, "schools_reached": reached}
    return answer, 202 if new else 200


def _officer_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "created_at": _when(user.created_at),
        "disabled_at": _when(user.disabled_at),
    }


def _new_officer(
    session: Session, principal: Principal, la_code: str, name: Any, email: Any
) -> dict[str, Any]:
    if not isinstance(name, str) or not isinstance(email, str):
        raise ApiError(422, "name and email are text.")
    now = services().clock.now()
    user = _account_call(
        lambda: accounts.create_user(
            session, name, email, "la", None, principal.actor, now, la_code=la_code
        )
    )
    secret = accounts.new_link(session, user, principal.actor, now)
    link = services().config.public_base_url + url_for("pages.sign_in_link", token=secret)
    return {"officer": _officer_json(user), "sign_in_link": link, "note": SHOWN_ONCE}


@route("GET", "/la/<la_code>/officers", "The LA's officers who may sign in (LA).", "la")
def la_officers(session: Session, principal: Principal, la_code: str) -> Any:
    users = session.scalars(select(User).where(User.la_code == la_code).order_by(User.name))
    return {"officers": [_officer_json(u) for u in users]}


@route(
    "POST",
    "/la/<la_code>/officers",
    "Add a colleague; answers their sign-in link once (LA).",
    "la",
    body="json",
)
def la_add_officer(session: Session, principal: Principal, la_code: str) -> Any:
    data = json_body()
    return _new_officer(session, principal, la_code, data.get("name"), data.get("email", "")), 201


def _la_key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "label": key.label,
        "created_at": _when(key.created_at),
        "last_used_at": _when(key.last_used_at),
        "revoked_at": _when(key.revoked_at),
    }


@route("GET", "/la/<la_code>/keys", "The LA's API keys (LA).", "la")
def la_keys(session: Session, principal: Principal, la_code: str) -> Any:
    keys = session.scalars(select(ApiKey).where(ApiKey.la_code == la_code).order_by(ApiKey.id))
    return {"keys": [_la_key_json(k) for k in keys]}


@route("POST", "/la/<la_code>/keys", "A new API key for the LA, shown once (LA).", "la", "json")
def la_new_key(session: Session, principal: Principal, la_code: str) -> Any:
    label = json_body().get("label", "")
    if not isinstance(label, str):
        raise ApiError(422, "label is text.")
    now = services().clock.now()
    secret = apikeys.create_key(
        session, "la", now, label=label, actor=principal.actor, la_code=la_code
    )
    return {"key": secret, "note": SHOWN_ONCE}, 201


@route("DELETE", "/la/<la_code>/keys/<key_id>", "Revoke one of the LA's API keys (LA).", "la")
def la_revoke_key(session: Session, principal: Principal, la_code: str, key_id: str) -> Any:
    key = session.get(ApiKey, _number(key_id))
    if key is None or key.la_code != la_code:
        raise ApiError(404, "Not found.")
    apikeys.revoke(session, key.id, principal.actor, services().clock.now())
    return Response(status=204)


@route("GET", "/las", "Every LA that publishes here (admin).", "admin")
def list_las(session: Session, principal: Principal) -> Any:
    return {"las": [{"code": la.code, "name": la.name} for la in las.all_las(session)]}


@route(
    "POST",
    "/las",
    "Add an LA with its first officer; answers their sign-in link once (admin).",
    "admin",
    body="json",
)
def create_la(session: Session, principal: Principal) -> Any:
    data = json_body()
    code, name, officer = data.get("code"), data.get("name"), data.get("officer")
    if not isinstance(code, str) or not isinstance(name, str) or not isinstance(officer, dict):
        raise ApiError(422, "Send code and name as text, and officer as {name, email}.")
    try:
        la = las.create(session, code, name, principal.actor, services().clock.now())
    except las.LaError as exc:
        raise ApiError(422, str(exc), [{"field": exc.field, "message": str(exc)}]) from None
    first = _new_officer(session, principal, la.code, officer.get("name"), officer.get("email", ""))
    return {"code": la.code, "name": la.name, **first}, 201
