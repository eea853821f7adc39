"""The calendars page: push an audience's calendar into Google Calendar or Microsoft 365.

A school connects a calendar either with a Google Workspace service account (its IT admin
uploads the key and names the account to act as) or, where this server has an OAuth client, by
signing in with Google. Either way the credentials are sealed at once and the first sync is
queued; the page then shows each connection's state in words, with "update now" and
"disconnect" (optionally removing every event sencocal put there). Microsoft 365's forms and
sign-in are in ``microsoft_views.py``.
"""

from __future__ import annotations

import re
from typing import Any

from flask import abort, redirect, render_template, request, session, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from connectors.errors import PermanentRemoteError, TransientRemoteError
from connectors.google import OAuthClient, read_key_file
from connectors.google.auth import KeyFileInvalid
from feedserver import wording
from feedserver.pipeline import push
from feedserver.pipeline.dispatch import enqueue
from feedserver.pipeline.remotes import DEDICATED_NAMES
from feedserver.pipeline.remotes_microsoft import DEFAULT_CALENDAR
from feedserver.pipeline.render import FEED_NAMES
from feedserver.storage import audit, connections
from feedserver.storage.models import Connection, School
from feedserver.web.context import services
from feedserver.web.pages import access
from feedserver.web.pages.blueprint import bp

GROUP_ID = re.compile(r"^[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")
EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$")
CONSENT_SECONDS = 600
MAX_KEY_BYTES = 20_000


class FormProblem(ValueError):
    """A connect form that cannot be used as sent; ``field`` names the input to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _page(db: Session, school: School, viewer: access.Viewer, **extra: Any) -> Any:
    rows = connections.for_school(db, school.id)
    shown = [
        {
            "row": row,
            "provider": wording.PROVIDER_NAMES.get(row.provider, row.provider),
            "audience": FEED_NAMES.get(row.audience, row.audience),
            "calendar": row.calendar_name or DEDICATED_NAMES.get(row.audience, "")
            if row.dedicated
            else _microsoft_calendar(row)
            if row.provider == "microsoft"
            else row.calendar_id,
            "status": wording.connection_status(
                row.provider,
                row.state,
                row.stop_reason,
                row.last_sync_at,
                row.last_result,
                row.waiting,
            ),
        }  # fmt: skip
        for row in rows
    ]
    return render_template(
        "calendars.html",
        viewer=viewer,
        school=school,
        connections=shown,
        audiences=FEED_NAMES,
        consent=services().config.google.consent_enabled,
        microsoft=services().config.microsoft.enabled,
        microsoft_tenant=services().config.microsoft.tenant or "",
        form=extra.pop("form", {}),
        **extra,
    )


def _microsoft_calendar(row: Connection) -> str:
    """Which calendar a Microsoft connection writes, in words."""
    if row.calendar_id == DEFAULT_CALENDAR:
        if row.account and GROUP_ID.match(row.account):
            return "The group's calendar"
        return f"The main calendar of {row.account}"
    return row.calendar_name or row.calendar_id or ""


@bp.get("/schools/<school_id>/calendars")
@access.required()
def calendars_page(db: Session, viewer: access.Viewer, school: School) -> Any:
    """The school's pushed calendars and the forms to connect one."""
    return _page(db, school, viewer)


def _choices(form: Any) -> dict[str, Any]:
    """The audience and target a connect form asks for (raises FormProblem)."""
    audience = form.get("audience", "")
    if audience not in FEED_NAMES:
        raise FormProblem("audience", "Choose whose calendar to send.")
    target = form.get("target", "dedicated")
    calendar_id = (form.get("calendar_id") or "").strip()
    share = (form.get("share_with") or "").strip()
    if target == "chosen":
        if not calendar_id or len(calendar_id) > 1000 or any(c.isspace() for c in calendar_id):
            raise FormProblem(
                "calendar_id",
                "Enter the calendar's ID (in Google Calendar: the calendar's settings, "
                "“Integrate calendar”, Calendar ID).",
            )
        return {"audience": audience, "calendar_id": calendar_id, "share_with": []}
    if share and not EMAIL.match(share):
        raise FormProblem("share_with", "Enter the group's email address, like slt@school.org.")
    return {
        "audience": audience,
        "calendar_id": None,
        "share_with": [f"group:{share}"] if share else [],
    }


@bp.post("/schools/<school_id>/calendars/google")
@access.required()
def connect_google(db: Session, viewer: access.Viewer, school: School) -> Any:
    """Connect with a Workspace service account: its key, and the account it acts as."""
    try:
        choices = _choices(request.form)
        account = (request.form.get("account") or "").strip()
        if not EMAIL.match(account) or len(account) > 200:
            raise FormProblem(
                "account", "Enter the Google Workspace address to act as, like senco@school.org."
            )
        upload = request.files.get("key_file")
        raw = upload.read(MAX_KEY_BYTES + 1) if upload is not None else b""
        if not raw:
            raise FormProblem("key_file", "Choose the service account's key file (.json).")
        if len(raw) > MAX_KEY_BYTES:
            raise FormProblem("key_file", "That file is too big to be a key file.")
        try:
            key = read_key_file(raw.decode("utf-8", errors="replace"))
        except KeyFileInvalid as exc:
            raise FormProblem("key_file", str(exc)) from None
    except FormProblem as problem:
        return _page(
            db, school, viewer, error=problem, error_id=f"sa-{problem.field}", form=request.form
        ), 422
    row = _create(db, school, viewer, "service_account", account, {"key": key}, choices)
    return redirect(url_for("pages.calendars_page", school_id=school.id, added=row.id))


def _create(
    db: Session,
    school: School,
    viewer: access.Viewer,
    auth_kind: str,
    account: str,
    secret: dict[str, Any],
    choices: dict[str, Any],
) -> Connection:
    now = services().clock.now()
    row = connections.create(
        db,
        services().secretbox,
        school_id=school.id,
        provider="google",
        audience=choices["audience"],
        auth_kind=auth_kind,
        account=account,
        secret=secret,
        now=now,
        calendar_id=choices["calendar_id"],
        share_with=choices["share_with"],
        created_by=viewer.actor,
    )
    audit.record(
        db, now, viewer.actor, "calendar.connect", school.id,
        provider="google", audience=row.audience, how=auth_kind,
    )  # fmt: skip
    enqueue(push.sync_connection, row.id, reason="connect")
    return row


def _consent_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(services().config.secret_key, salt="sencocal.google-consent")


def _client() -> OAuthClient:
    settings = services().config.google
    if not settings.consent_enabled:
        abort(404)
    return OAuthClient(
        settings.client_id or "", settings.client_secret or "",
        settings.auth_uri, settings.token_uri,
    )  # fmt: skip


def _callback_url() -> str:
    return services().config.public_base_url + url_for("pages.google_consent_done")


@bp.post("/schools/<school_id>/calendars/google/consent")
@access.required()
def google_consent(db: Session, viewer: access.Viewer, school: School) -> Any:
    """Send the person to Google to grant access (the choices travel in the signed state)."""
    client = _client()
    try:
        choices = _choices(request.form)
    except FormProblem as problem:
        return _page(
            db, school, viewer, error=problem, error_id=f"oa-{problem.field}", form=request.form
        ), 422
    state = _consent_signer().dumps({"school": school.id, "csrf": access.csrf_token(), **choices})
    return redirect(
        client.consent_url(_callback_url(), state, dedicated=choices["calendar_id"] is None)
    )


@bp.get("/calendars/google/done")
@access.required()
def google_consent_done(db: Session, viewer: access.Viewer) -> Any:
    """Google sends the person back here with a code: keep the refresh token, sealed."""
    client = _client()
    try:
        state = _consent_signer().loads(request.args.get("state", ""), max_age=CONSENT_SECONDS)
    except BadSignature:
        abort(400, "This sign-in with Google has expired or was altered. Please start again.")
    if state.get("csrf") != session.get("csrf"):
        abort(400, "This sign-in with Google was started in another session. Please start again.")
    school = (
        db.get(School, state.get("school")) if viewer.may_see(state.get("school", "")) else None
    )
    if school is None:
        abort(404)
    code = request.args.get("code")
    if not code:
        denied = wording.consent_refused(request.args.get("error", ""))
        return _page(db, school, viewer, notice=denied), 400
    try:
        refresh_token = client.exchange(code, _callback_url())
    except (PermanentRemoteError, TransientRemoteError):
        notice = "Google did not confirm the access. Please try connecting again."
        return _page(db, school, viewer, notice=notice), 502
    choices = {k: state[k] for k in ("audience", "calendar_id", "share_with")}
    row = _create(
        db, school, viewer, "oauth", "signed in with Google", {"refresh_token": refresh_token},
        choices,
    )  # fmt: skip
    return redirect(url_for("pages.calendars_page", school_id=school.id, added=row.id))


def _connection(db: Session, school: School, connection_id: int) -> Connection:
    row = db.get(Connection, connection_id)
    if row is None or row.school_id != school.id or row.state == connections.State.DISCONNECTED:
        abort(404)
    return row


@bp.post("/schools/<school_id>/calendars/<int:connection_id>/sync")
@access.required()
def sync_calendar_now(
    db: Session, viewer: access.Viewer, school: School, connection_id: int
) -> Any:
    """Queue an update of one pushed calendar now (a stopped one is started again)."""
    row = _connection(db, school, connection_id)
    if row.state == connections.State.DISCONNECTING.value:
        return redirect(url_for("pages.calendars_page", school_id=school.id))
    if row.state == connections.State.STOPPED.value:
        row.state, row.stop_reason = connections.State.ACTIVE.value, None
    audit.record(db, services().clock.now(), viewer.actor, "calendar.sync", school.id, id=row.id)
    enqueue(push.sync_connection, row.id, reason="now")
    return redirect(url_for("pages.calendars_page", school_id=school.id, queued=row.id))


@bp.post("/schools/<school_id>/calendars/<int:connection_id>/disconnect")
@access.required()
def disconnect_calendar(
    db: Session, viewer: access.Viewer, school: School, connection_id: int
) -> Any:
    """Stop updating a calendar; with "remove" ticked, delete every event sencocal put there."""
    row = _connection(db, school, connection_id)
    remove = request.form.get("remove") == "yes"
    row.state = connections.State.DISCONNECTING.value
    audit.record(
        db, services().clock.now(), viewer.actor, "calendar.disconnect", school.id,
        id=row.id, remove_events=remove,
    )  # fmt: skip
    enqueue(push.disconnect_connection, row.id, reason="remove" if remove else "keep")
    return redirect(url_for("pages.calendars_page", school_id=school.id, disconnected=row.id))
