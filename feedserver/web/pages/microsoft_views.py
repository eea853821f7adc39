"""The calendars page's Microsoft 365 part: connect app-only, or by signing in with Microsoft.

* **App-only** (for the IT admin): this server's app, with the ``Calendars.ReadWrite``
  application permission admin-consented in the school's tenant, writes a person's main
  calendar, a new calendar sencocal makes in their mailbox, or a shared mailbox's calendar
  (such as the SLT's). Nothing secret is typed here: the app's secret is the server's.
* **Signing in** (delegated): a person signs in with Microsoft and consents; we keep their
  refresh token, sealed. A Microsoft 365 group's calendar can only be connected this way, since
  Graph does not let an app write group calendars on its own.

The sign-in answer comes back as a form Microsoft's page posts to us (``form_post``); that
cross-site post carries no session cookie, so the flow (with its PKCE verifier) travels in the
``state``, encrypted with the server's keys and good for ten minutes.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

from flask import abort, redirect, request, url_for
from sqlalchemy.orm import Session

from connectors.errors import PermanentRemoteError, TransientRemoteError
from feedserver.pipeline import push
from feedserver.pipeline.dispatch import enqueue
from feedserver.pipeline.remotes_microsoft import DEFAULT_CALENDAR, app_of, delegated_scopes
from feedserver.pipeline.render import FEED_NAMES
from feedserver.storage import audit, connections
from feedserver.storage.models import Connection, School
from feedserver.storage.secretbox import SecretUnreadable
from feedserver.web.context import services
from feedserver.web.pages import access
from feedserver.web.pages.blueprint import bp
from feedserver.web.pages.calendar_views import EMAIL, GROUP_ID, FormProblem, _page

CONSENT_SECONDS = 600
TENANT = re.compile(r"^(?:[0-9a-fA-F-]{36}|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)$")
APP_ONLY_WHERE = ("user-main", "user-new", "shared")
SIGN_IN_WHERE = ("own-main", "own-new", "shared", "group")


def _settings() -> Any:
    settings = services().config.microsoft
    if not settings.enabled:
        abort(404)
    return settings


def _choices(form: Any, prefix: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    """Audience, tenant and which calendar (raises FormProblem naming the field)."""
    audience = form.get("audience", "")
    if audience not in FEED_NAMES:
        raise FormProblem(f"{prefix}-audience", "Choose whose calendar to send.")
    tenant = (form.get("tenant") or "").strip()
    if not TENANT.match(tenant) or len(tenant) > 200:
        raise FormProblem(
            f"{prefix}-tenant",
            "Enter your Microsoft 365 domain, like yourschool.onmicrosoft.com, or the "
            "directory (tenant) ID from the Microsoft Entra admin center.",
        )
    where = form.get("where", "")
    if where not in allowed:
        raise FormProblem(f"{prefix}-where-{allowed[0]}", "Choose which calendar to use.")
    mailbox = (form.get("mailbox") or "").strip()
    group = (form.get("group") or "").strip()
    if where in {"user-main", "user-new", "shared"} and (
        not EMAIL.match(mailbox) or len(mailbox) > 200
    ):
        raise FormProblem(
            f"{prefix}-mailbox", "Enter the mailbox's address, like slt@yourschool.org."
        )
    if where == "group" and not GROUP_ID.match(group):
        raise FormProblem(
            f"{prefix}-group",
            "Enter the group's object ID (Microsoft Entra admin center, Groups, the group, "
            "Object ID), like 3f2a...-....",
        )
    return {"audience": audience, "tenant": tenant, "where": where, "mailbox": mailbox,
            "group": group}  # fmt: skip


def _create(
    db: Session, school: School, actor: str, auth_kind: str, account: str,
    secret: dict[str, Any], choices: dict[str, Any],
) -> Connection:  # fmt: skip
    where = choices["where"]
    calendar_id = None if where.endswith("-new") else DEFAULT_CALENDAR
    now = services().clock.now()
    row = connections.create(
        db, services().secretbox, school_id=school.id, provider="microsoft",
        audience=choices["audience"], auth_kind=auth_kind, account=account, secret=secret,
        now=now, calendar_id=calendar_id, created_by=actor,
    )  # fmt: skip
    audit.record(db, now, actor, "calendar.connect", school.id, provider="microsoft",
                 audience=row.audience, how=auth_kind)  # fmt: skip
    enqueue(push.sync_connection, row.id, reason="connect")
    return row


@bp.post("/schools/<school_id>/calendars/microsoft")
@access.required()
def connect_microsoft(db: Session, viewer: access.Viewer, school: School) -> Any:
    """Connect app-only: the server's app writes a mailbox's calendar in the school's tenant."""
    _settings()
    try:
        choices = _choices(request.form, "ms", APP_ONLY_WHERE)
    except FormProblem as problem:
        return _page(db, school, viewer, error=problem, error_id=problem.field,
                     form=request.form), 422  # fmt: skip
    target = "shared_mailbox" if choices["where"] == "shared" else "user"
    secret = {"tenant": choices["tenant"], "target": target}
    row = _create(db, school, viewer.actor, "app_only", choices["mailbox"], secret, choices)
    return redirect(url_for("pages.calendars_page", school_id=school.id, added=row.id))


def _redirect_uri() -> str:
    return services().config.public_base_url + url_for("pages.microsoft_consent_done")


@bp.post("/schools/<school_id>/calendars/microsoft/consent")
@access.required()
def microsoft_consent(db: Session, viewer: access.Viewer, school: School) -> Any:
    """Send the person to Microsoft to sign in and consent (the flow travels sealed)."""
    app = app_of(services().config) if _settings() else None
    if app is None:  # Microsoft 365 is not set up on this server: there is no such page
        abort(404)
    try:
        choices = _choices(request.form, "mso", SIGN_IN_WHERE)
    except FormProblem as problem:
        return _page(db, school, viewer, error=problem, error_id=problem.field,
                     form=request.form), 422  # fmt: skip
    target = {"group": "group", "shared": "shared_mailbox"}.get(choices["where"], "user")
    scopes = delegated_scopes(target, own=target == "user")
    try:
        flow = app.consent_flow(choices["tenant"], scopes, _redirect_uri())
    except (PermanentRemoteError, TransientRemoteError):
        notice = (
            "Microsoft 365 did not recognise that tenant, or could not be reached. Check the "
            "domain or directory ID and try again."
        )
        return _page(db, school, viewer, notice=notice, form=request.form), 502
    auth_uri = flow.pop("auth_uri")
    sealed = services().secretbox.seal(json.dumps(
        {"flow": flow, "school": school.id, "actor": viewer.actor, "target": target, **choices}
    )).decode("ascii")  # fmt: skip
    parts = urllib.parse.urlsplit(auth_uri)
    query = dict(urllib.parse.parse_qsl(parts.query)) | {"state": sealed}
    return redirect(parts._replace(query=urllib.parse.urlencode(query)).geturl())


@bp.post("/calendars/microsoft/done")
def microsoft_consent_done() -> Any:
    """Microsoft's sign-in page posts the answer here: keep the refresh token, sealed.

    A cross-site post: no session and no CSRF token; the encrypted, ten-minute ``state`` is the
    proof that a signed-in admin of that school started it, and the code can be used once.
    """
    app = app_of(services().config) if _settings() else None
    if app is None:  # Microsoft 365 is not set up on this server: there is no such page
        abort(404)
    try:
        state = json.loads(
            services().secretbox.open_fresh(request.form.get("state", "").encode(), CONSENT_SECONDS)
        )
    except (SecretUnreadable, ValueError):
        abort(400, "This sign-in with Microsoft has expired or was altered. Please start again.")
    back = url_for("pages.calendars_page", school_id=state["school"])
    if request.form.get("error") or not request.form.get("code"):
        return redirect(f"{back}?refused=microsoft", code=303)
    flow = state["flow"]
    answer = {k: v for k, v in request.form.items()} | {"state": flow["state"]}
    try:
        refresh_token, who = app.finish_consent(state["tenant"], flow, answer)
    except (PermanentRemoteError, TransientRemoteError):
        return redirect(f"{back}?refused=microsoft", code=303)
    account = {"group": state["group"], "shared_mailbox": state["mailbox"]}.get(
        state["target"], who
    )
    secret = {"tenant": state["tenant"], "target": state["target"],
              "refresh_token": refresh_token, "own": state["target"] == "user"}  # fmt: skip
    with services().db.session() as db:
        school = db.get(School, state["school"])
        if school is None:
            abort(404)
        row = _create(db, school, state["actor"], "delegated", account, secret, state)
        added = row.id
    return redirect(f"{back}?added={added}", code=303)
