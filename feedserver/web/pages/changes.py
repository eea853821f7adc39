"""A proposed change to a school's profile: what it does to the calendar, before it is saved.

The proposal travels in the confirmation form as a signed, time-limited token (no server-side
draft to clean up); saving re-validates it and checks it still applies to the profile it was
made from.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

import rules
from feedserver import catalog
from feedserver.pipeline import refresh
from feedserver.storage import schools
from feedserver.storage.models import School
from feedserver.web.context import services
from feedserver.web.pages import fmt
from rules.diff import Diff
from rules.vocabulary import academic_year_label

PROPOSAL_SECONDS = 3600


@dataclass
class Effect:
    """What a proposed change does: the settings it changes, and the calendar's diff.

    The diff is the one refresh applies (``rules.diff.plan`` against the stored events), so the
    preview shows exactly what saving will do; past entries are never moved or removed.
    """

    settings: list[str]
    diff: Diff
    warnings_before: list[rules.EvalWarning] = field(default_factory=list)
    warnings_after: list[rules.EvalWarning] = field(default_factory=list)

    @property
    def nothing(self) -> bool:
        """True when the calendar would not change at all."""
        return self.diff.empty

    @property
    def added(self) -> list[rules.Event]:
        """Entries that would appear."""
        return [c.event for c in self.diff.creates]

    @property
    def removed(self) -> list[rules.Event]:
        """Entries that would go."""
        return [d.before.event for d in self.diff.deletes]

    @property
    def moved(self) -> list[tuple[rules.Event, rules.Event]]:
        """(before, after) of entries that would move to other dates."""
        return [(u.before.event, u.event) for u in self.diff.updates if u.moved]

    @property
    def changed(self) -> list[rules.Event]:
        """Entries that keep their dates but change their words or details."""
        return [u.event for u in self.diff.updates if not u.moved]

    @property
    def past_kept(self) -> int:
        """Past entries that stay as they happened although the change would alter them."""
        return len(self.diff.kept)

    @property
    def new_warnings(self) -> list[rules.EvalWarning]:
        """Warnings the change would introduce."""
        return [w for w in self.warnings_after if w not in self.warnings_before]

    @property
    def cleared_warnings(self) -> list[rules.EvalWarning]:
        """Warnings the change would resolve."""
        return [w for w in self.warnings_before if w not in self.warnings_after]


def effect(db: Session, school: School, after: rules.SchoolProfile, today: dt.date) -> Effect:
    """What replacing the school's profile by ``after`` does to its current window."""
    before = schools.profile_of(school)
    diff, warnings = refresh.preview(
        db, school, after, today, services().memo, services().secretbox
    )
    stored = [rules.EvalWarning.from_json(w) for w in school.warnings.get("items", [])]
    titles = {f"{p.pack}:{r.id}": r.title for p, _ in schools.packs_for(db, after) for r in p.rules}
    return Effect(
        settings=setting_changes(before, after, titles),
        diff=diff,
        warnings_before=[w for w in stored if w.kind in SHOWN_WARNINGS],
        warnings_after=[w for w in warnings if w.kind in SHOWN_WARNINGS],
    )


# Not-yet-published national dates are expected (the calendar says so); they are not problems a
# settings change causes or fixes.
SHOWN_WARNINGS = frozenset(k for k in rules.WarningKind if k != rules.WarningKind.UNPUBLISHED)


def setting_changes(
    before: rules.SchoolProfile, after: rules.SchoolProfile, titles: dict[str, str]
) -> list[str]:
    """The change itself, in words: days added and removed, term dates, rules, packs, events.

    ``titles`` gives the rules' titles by ``pack:rule`` (people never read rule ids).
    """
    out: list[str] = []
    out += _days("INSET day", before.inset_days, after.inset_days)
    out += _days("Closure day", before.closure_days, after.closure_days)
    for key in sorted(set(before.named_dates) | set(after.named_dates)):
        words = key.replace("_", " ")
        out += _days(
            f"Your {words} date", before.named_dates.get(key, ()), after.named_dates.get(key, ())
        )
    for year in sorted(set(before.term_dates) | set(after.term_dates)):
        old_terms, new_terms = before.term_dates.get(year), after.term_dates.get(year)
        label = academic_year_label(year)
        if old_terms == new_terms:
            continue
        if new_terms is None:
            out.append(f"Term dates for {label}: your LA's instead of your own")
        elif old_terms is None:
            out.append(f"Term dates for {label}: your own instead of your LA's")
        else:
            out.append(f"Term dates for {label} changed")
    for slug in sorted(set(before.packs_off) ^ set(after.packs_off)):
        out.append(
            f"{_pack_title(slug)} {'turned off' if slug in after.packs_off else 'turned on'}"
        )
    for ref in sorted(set(before.rules_off) ^ set(after.rules_off)):
        state = "turned off" if ref in after.rules_off else "turned on"
        out.append(f"“{titles.get(ref, ref.partition(':')[2])}” {state}")
    for ref in sorted(set(before.date_overrides) | set(after.date_overrides)):
        old, new = before.date_overrides.get(ref, {}), after.date_overrides.get(ref, {})
        for year in sorted(set(old) | set(new)):
            if old.get(year) == new.get(year):
                continue
            what = f"Your own date for “{titles.get(ref, ref.partition(':')[2])}” in "
            what += academic_year_label(year)
            chosen = new.get(year)
            out.append(f"{what}: {fmt.day(chosen)}" if chosen else f"{what} removed")
    old_events = {e.id: e for e in before.local_events}
    new_events = {e.id: e for e in after.local_events}
    for ident in sorted(set(new_events) - set(old_events)):
        event = new_events[ident]
        out.append(f"One-off event added: {event.title} on {fmt.day(event.start)}")
    for ident in sorted(set(old_events) - set(new_events)):
        event = old_events[ident]
        out.append(f"One-off event removed: {event.title} on {fmt.day(event.start)}")
    return out


def _days(what: str, before: Iterable[dt.date], after: Iterable[dt.date]) -> list[str]:
    old, new = set(before), set(after)
    out = [f"{what} added: {fmt.day(d)}" for d in sorted(new - old)]
    out += [f"{what} removed: {fmt.day(d)}" for d in sorted(old - new)]
    return out


def _pack_title(slug: str) -> str:
    found = next((p for p in catalog.builtin_packs() if p.pack == slug), None)
    return found.title if found is not None else slug


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
