"""The admin's Audit log page: who changed what and when, newest first, in words.

Every grant and every taking away of access (keys, people, sign-in links, feed links) is in
the log, beside changes to schools and packs. Entries hold ids and names, never secrets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from feedserver.storage import audit
from feedserver.storage.models import AuditEntry, School
from feedserver.web.pages import access, admin_nav
from feedserver.web.pages.blueprint import bp
from feedserver.web.pages.school_views import AUDIENCE_WORDS

admin_nav.add(admin_nav.Section("pages.admin_audit", "Audit log", 90))


def _name(d: dict[str, Any]) -> str:
    value = d.get("name", d.get("user", "someone"))
    return str(value)


def _key(d: dict[str, Any]) -> str:
    label = f" “{d['label']}”" if d.get("label") else ""
    return f"key {d['key']}{label}" if "key" in d else f"a key{label}"


def _ended(d: dict[str, Any]) -> str:
    n = int(d.get("sessions_ended") or 0)
    return f"; {n} signed-in session{'s' if n != 1 else ''} ended" if n else ""


def _link(d: dict[str, Any]) -> str:
    audience = AUDIENCE_WORDS.get(str(d.get("audience")), str(d.get("audience", "")))
    return f"the feed link “{d.get('name', '')}” ({audience})"


ACTIONS: dict[str, Callable[[dict[str, Any]], str]] = {
    "school.create": lambda d: "Added the school",
    "school.update": lambda d: "Changed the school's settings",
    "pack.publish": lambda d: (
        f"Published the pack “{d.get('slug')}” (revision {d.get('revision')})"
    ),
    "key.create.admin": lambda d: f"Made the instance-admin {_key(d)}",
    "key.create.school": lambda d: f"Made the school {_key(d)}",
    "key.revoke.admin": lambda d: f"Revoked the instance-admin {_key(d)}{_ended(d)}",
    "key.revoke.school": lambda d: f"Revoked the school {_key(d)}{_ended(d)}",
    "key.sign_in": lambda d: f"Signed in to the pages with {_key(d)}",
    "feed.create": lambda d: (
        f"Started the calendar for {AUDIENCE_WORDS.get(d.get('audience', ''), '')}"
    ),
    "token.add": lambda d: f"Made {_link(d)}",
    "token.revoke": lambda d: f"Revoked {_link(d)}",
    "token.rotate": lambda d: f"Gave {_link(d)} a new address (the old one stopped working)",
    "user.create": lambda d: f"Added {_name(d)}",
    "user.link": lambda d: f"Made a sign-in link for {_name(d)}",
    "user.sign_in": lambda d: "Signed in with a personal link",
    "user.disable": lambda d: f"Disabled {_name(d)}{_ended(d)}",
    "user.enable": lambda d: f"Let {_name(d)} sign in again",
    "link.cancel": lambda d: f"Cancelled a sign-in link for {_name(d)}",
    "roster.replace": lambda d: (
        f"Changed the EHCP roster ({d['pupils']} pupils: {d['added']} joined, {d['removed']} left)"
    ),
}


def what(entry: AuditEntry) -> str:
    """An entry's action in words."""
    words = ACTIONS.get(entry.action)
    try:
        return words(entry.details or {}) if words else entry.action
    except (KeyError, TypeError, ValueError):
        return entry.action


def who(actor: str, schools: dict[str, School]) -> str:
    """An entry's actor in words: the person or key, and whom they act for."""
    scope, _, rest = actor.partition(":")
    if scope == "admin":
        return f"{rest or 'The instance admin'} (instance admin)"
    if scope == "school":
        school_id, _, name = rest.partition(":")
        school = schools.get(school_id)
        return f"{name or 'A school key'} ({school.name if school else school_id})"
    return {"cli": "The command line", "demo": "The demo set-up"}.get(actor, actor)


@bp.get("/admin/audit")
@access.required("admin")
def admin_audit(db: Session, viewer: access.Viewer) -> Any:
    """The newest entries, of one school when chosen, with a link to older ones."""
    schools = {s.id: s for s in db.scalars(select(School).order_by(School.name))}
    school_id = request.args.get("school") or None
    if school_id not in schools:
        school_id = None
    before = request.args.get("before", "")
    found = audit.entries(
        db, school_id=school_id, before=int(before) if before.isdigit() else None,
        limit=audit.PAGE + 1,
    )  # fmt: skip
    older = found[audit.PAGE - 1].id if len(found) > audit.PAGE else None
    rows = [(e, who(e.actor, schools), what(e)) for e in found[: audit.PAGE]]
    return render_template(
        "admin_audit.html", viewer=viewer, rows=rows, schools=schools, school_id=school_id,
        older=older, notice=None, error=None,
    )  # fmt: skip
