"""A proposed change to a school's profile: what it does to the calendar, before it is saved.

The proposal travels in the confirmation form as a signed, time-limited token (no server-side
draft to clean up); saving re-validates it and checks it still applies to the profile it was
made from.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

import rules
from feedserver import refresh, schools
from feedserver.models import School
from feedserver.services import services

PROPOSAL_SECONDS = 3600


@dataclass
class Effect:
    """How the calendar changes: events added, removed, moved (date), or reworded."""

    added: list[rules.Event] = field(default_factory=list)
    removed: list[rules.Event] = field(default_factory=list)
    moved: list[tuple[rules.Event, rules.Event]] = field(default_factory=list)
    changed: list[rules.Event] = field(default_factory=list)
    warnings_before: list[str] = field(default_factory=list)
    warnings_after: list[str] = field(default_factory=list)

    @property
    def nothing(self) -> bool:
        """True when the calendar would not change at all."""
        return not (self.added or self.removed or self.moved or self.changed)

    @property
    def new_warnings(self) -> list[str]:
        """Warnings the change would introduce."""
        return [w for w in self.warnings_after if w not in self.warnings_before]

    @property
    def cleared_warnings(self) -> list[str]:
        """Warnings the change would resolve."""
        return [w for w in self.warnings_before if w not in self.warnings_after]


def _window(
    db: Session, profile: rules.SchoolProfile, today: dt.date
) -> tuple[dict[str, rules.Event], list[str]]:
    packs = [p for p, _ in schools.packs_for(db, profile)]
    events: dict[str, rules.Event] = {}
    warnings: list[str] = []
    for year in refresh.window(today):
        result = rules.evaluate_full(packs, profile, year, memo=services().memo)
        events.update((e.uid, e) for e in result.events)
        warnings.extend(str(w) for w in result.warnings if w.need != "unpublished")
    return events, warnings


def effect(
    db: Session, before: rules.SchoolProfile, after: rules.SchoolProfile, today: dt.date
) -> Effect:
    """What replacing ``before`` by ``after`` does to the current window's events."""
    old, old_warnings = _window(db, before, today)
    new, new_warnings = _window(db, after, today)
    out = Effect(warnings_before=old_warnings, warnings_after=new_warnings)
    for uid, event in new.items():
        was = old.get(uid)
        if was is None:
            out.added.append(event)
        elif was.body.start != event.body.start or was.body.end != event.body.end:
            out.moved.append((was, event))
        elif was.body.content_hash != event.body.content_hash:
            out.changed.append(event)
    out.removed = [e for uid, e in old.items() if uid not in new]
    for items in (out.added, out.removed, out.changed):
        items.sort(key=lambda e: e.body.sort_key)
    out.moved.sort(key=lambda pair: pair[1].body.sort_key)
    return out


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(services().config.secret_key, salt="sencocal.profile-change")


def seal(row: School, after: rules.SchoolProfile, summary: str) -> str:
    """The signed token carrying a proposal for ``row``."""
    return _serializer().dumps(
        {
            "school": row.id,
            "base": row.profile_hash,
            "profile": schools.profile_json(after),
            "summary": summary,
        }
    )


class StaleProposal(rules.SencocalInputError):
    """The proposal is too old, forged, for another school, or the profile changed since."""


def unseal(row: School, token: str) -> tuple[rules.SchoolProfile, str]:
    """The proposed profile and its summary.

    Raises:
        StaleProposal: with a message saying what to do.
    """
    try:
        data = _serializer().loads(token, max_age=PROPOSAL_SECONDS)
    except BadSignature:
        raise StaleProposal(
            "This change has expired or was altered; please make it again."
        ) from None
    if data.get("school") != row.id:
        raise StaleProposal("This change was made for another school.")
    if data.get("base") != row.profile_hash:
        raise StaleProposal("The school's settings changed since this preview; please look again.")
    return rules.SchoolProfile.model_validate(data["profile"]), str(data.get("summary", ""))


def with_changes(profile: rules.SchoolProfile, **changes: Any) -> rules.SchoolProfile:
    """``profile`` with ``changes``, validated as a whole (raises PackRejected)."""
    from rules.profile import profile_from_data

    data = json.loads(profile.model_dump_json())
    data.update(changes)
    return profile_from_data(data, "your change")
