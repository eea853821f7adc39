"""Words for records: evaluation warnings and job problems, each written for its reader.

Records (``rules.EvalWarning``, ``storage.models.Problem``) hold kinds and data; only this
module turns them into sentences, so rewording one never breaks a page, and a SENCO reads what
to do while the instance admin reads what went wrong. Rule references are shown by their titles
(never ``pack:rule`` ids), academic years as "2026/27".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import rules
from feedserver import catalog
from feedserver.storage.models import Problem
from feedserver.storage.problems import ProblemKind
from rules.dates import key_words
from rules.vocabulary import academic_year_label, duration_words

Kind = rules.WarningKind


@lru_cache(maxsize=1)
def _builtin_titles() -> dict[str, str]:
    packs = [*catalog.builtin_packs(), *(catalog.demo_pack(n) for n in catalog.demo_pack_names())]
    return {f"{p.pack}:{r.id}": r.title for p in packs for r in p.rules}


def rule_title(ref: str) -> str:
    """A rule's title for people (its id, in words, when the rule is not a bundled one)."""
    found = _builtin_titles().get(ref)
    if found:
        return found
    rule = ref.rpartition(":")[2]
    return rule.replace("-", " ").replace("_", " ").capitalize()


def _titles(refs: Iterable[str], limit: int = 3) -> str:
    names = sorted({rule_title(r) for r in refs})
    shown = ", ".join(f"“{n}”" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def time_to_allow(hours: float) -> str:
    """``About 1 hour``, ``About 15 minutes``: an effort estimate for a SENCO."""
    return f"About {duration_words(hours)}"


def _entries(count: int) -> str:
    return "1 entry" if count == 1 else f"{count} entries"


def warning_for_school(warning: rules.EvalWarning) -> str:
    """What a SENCO should know, and do, about one warning."""
    year = academic_year_label(warning.year)
    kind = warning.kind
    if kind == Kind.TERM_DATES:
        missing = academic_year_label(int(warning.subject))
        return (
            f"Add your term dates for {missing} in your settings (or import the CSV template): "
            f"until then {_entries(len(warning.refs))} that depend on them cannot be placed."
        )
    if kind == Kind.DATE_KEY:
        return (
            f"Add your {key_words(warning.subject)} dates for {year} in your settings: "
            f"{_titles(warning.refs)} {'is' if len(warning.refs) == 1 else 'are'} dated from them."
        )
    if kind == Kind.UNPUBLISHED:
        return (
            f"{_titles(warning.refs)}: the date for {year} is not published yet; your calendar "
            "has a task to check for it instead."
        )
    if kind == Kind.REFERENCE_UNRESOLVED and warning.detail("cause") in {
        Kind.TERM_DATES.value,
        Kind.DATE_KEY.value,
    }:  # the missing dates have a warning of their own; this says what else waits on them
        return (
            f"{_titles(warning.refs)} will be dated for {year} once the dates asked for above "
            "are in your settings."
        )
    if kind == Kind.OVERRIDE_SEVERAL_DATES:
        return (
            f"Your own date for {_titles(warning.refs)} in {year} cannot be used, because that "
            "entry happens several times a year. Remove it in your settings."
        )
    if kind in _REVIEWS_FOR_SCHOOL:
        return _REVIEWS_FOR_SCHOOL[kind].format(
            titles=_titles(warning.refs), year=year, **dict(warning.details)
        )
    return (
        f"{_titles(warning.refs)} could not be dated for {year} because of a problem in the "
        "pack it comes from. Please tell whoever publishes that pack (your LA, or sencocal)."
    )


_REFERENCE = {
    Kind.REFERENCE_MISSING: "which is not in this school's packs",
    Kind.REFERENCE_NOT_APPLICABLE: "which does not apply to this school",
    Kind.REFERENCE_SEVERAL_DATES: "which has several dates a year",
    Kind.REFERENCE_CIRCLE: "which depends on itself in a circle",
    Kind.REFERENCE_PER_PUPIL: "which is a per-pupil rule",
    Kind.REFERENCE_NO_DATE: "which has no date this year",
}


# --- per-pupil annual reviews (issue 13): warnings never name a pupil; each entry says more.
_REVIEWS_FOR_SCHOOL = {
    Kind.DEADLINE_OUT_OF_TERM: (
        "{titles}: for some pupils this step falls in {year} when the school is closed; each "
        "of those entries says so and gives the last school day before it."
    ),
    Kind.REVIEW_LATE: (
        "{titles}: some reviews in {year} cannot be held at least 4 weeks before they are due, "
        "so the LA's decision may come late; each entry says when it is due."
    ),
    Kind.REVIEWS_OVER_CAP: (
        "{titles}: some weeks in {year} have more than your limit of {cap} reviews, because "
        "they cannot all fit in the weeks before they are due. Raise the limit in your "
        "settings or book some meetings earlier."
    ),
}
_REVIEWS_FOR_AUTHOR = {
    Kind.DEADLINE_OUT_OF_TERM: "has pupils' steps due on closed days (moved to a school day)",
    Kind.REVIEW_LATE: "has pupils' meetings after the latest recommended date",
    Kind.REVIEWS_OVER_CAP: "has weeks over the school's limit of reviews (not all could fit)",
}


def warning_for_author(warning: rules.EvalWarning) -> str:
    """The warning for a pack author or LA officer: the rules it concerns, by id, and why."""
    year = academic_year_label(warning.year)
    refs = ", ".join(warning.refs)
    return f"{year}: {refs}: {_author_reason(warning, year)}"


def _author_reason(warning: rules.EvalWarning, year: str) -> str:
    kind, subject = warning.kind, warning.subject
    if kind == Kind.TERM_DATES:
        return f"needs term dates for {academic_year_label(int(subject))}"
    if kind == Kind.DATE_KEY:
        return f"needs the school's {key_words(subject)} dates (date key '{subject}')"
    if kind == Kind.UNPUBLISHED:
        return f"has no published date for {year} yet"
    if kind == Kind.OVERRIDE_SEVERAL_DATES:
        return "has several dates a year, so a school's own single date cannot replace it"
    if kind in _REFERENCE:
        return f"depends on '{subject}', {_REFERENCE[kind]}"
    if kind in _REVIEWS_FOR_AUTHOR:
        return _REVIEWS_FOR_AUTHOR[kind]
    if kind == Kind.REFERENCE_UNRESOLVED:
        cause = warning.detail("cause") or ""
        inner = rules.EvalWarning(
            Kind(cause), warning.year, warning.detail("cause_subject") or "", ()
        )
        return f"depends on '{subject}', which {_author_reason(inner, year)}"
    if kind == Kind.DATE_OUTSIDE_YEAR:
        day = fmt_day(warning.detail("date"))
        return f"works out as {day}, outside {year}; the pack needs correcting"
    if kind == Kind.END_BEFORE_START:
        start, end = fmt_day(warning.detail("start")), fmt_day(warning.detail("end"))
        return f"ends ({end}) before it starts ({start}); the pack needs correcting"
    return "has a published value that is not a date; the pack needs correcting"


def fmt_day(iso: str | None) -> str:
    """``Fri 18 Dec 2026`` from an ISO date (or the text as given when it is not one)."""
    try:
        day = dt.date.fromisoformat(iso or "")
    except ValueError:
        return iso or "?"
    return f"{day:%a} {day.day} {day:%b %Y}"


def warning_json(warning: rules.EvalWarning) -> dict[str, Any]:
    """A warning for the API: the record, and the sentence a school reads."""
    return {**warning.to_json(), "message": warning_for_school(warning)}


def problem_for_school(problem: Problem) -> str:
    """What a SENCO reads when a job could not update their calendar."""
    kind = ProblemKind(problem.kind)
    if kind == ProblemKind.PROFILE_INVALID:
        return (
            "Some of your saved settings no longer pass sencocal's checks, so your calendar "
            "is not being updated. Open your settings, check them and save them again."
        )
    if kind == ProblemKind.PACK_CONFLICT:
        return (
            "Two of the packs your calendar uses have the same name, so it is not being "
            "updated. Your sencocal admin has been told."
        )
    return (
        "sencocal could not update your calendar just now. It will try again tonight; "
        "your sencocal admin can see the details."
    )


def problem_for_admin(problem: Problem) -> str:
    """What the instance admin reads about a problem record."""
    kind = ProblemKind(problem.kind)
    details = problem.details
    times = "once" if problem.attempts == 1 else f"{problem.attempts} times"
    since = f" (first on {problem.first_at:%d %b %Y at %H:%M} UTC; {times} so far)"
    if kind == ProblemKind.NEXT_YEAR_NOT_READY:
        year = academic_year_label(int(details.get("year", 0)))
        parts = []
        schools = [str(s.get("name", s.get("id"))) for s in details.get("schools", [])]
        if schools:
            more = f" and {len(schools) - 5} more" if len(schools) > 5 else ""
            names = ", ".join(schools[:5]) + more
            count = "1 school has" if len(schools) == 1 else f"{len(schools)} schools have"
            parts.append(f"{count} no term dates for {year} yet ({names})")
        unpublished = list(details.get("unpublished", []))
        if unpublished:
            count = (
                "1 national date is"
                if len(unpublished) == 1
                else f"{len(unpublished)} national dates are"
            )
            parts.append(f"{count} not published for {year} yet: {_titles(unpublished, limit=5)}")
        return "Next year is not ready: " + "; ".join(parts) + "."
    if kind == ProblemKind.PACK_CONFLICT:
        return (
            f"Two packs for this school are both called “{details.get('slug', '?')}”: rename "
            f"one; this school's calendar is not being updated{since}."
        )
    if kind == ProblemKind.PROFILE_INVALID:
        fields = ", ".join(p.get("field", "?") for p in details.get("problems", [])[:5])
        return (
            f"This school's stored settings fail validation ({fields}); its calendar is not "
            f"being updated until they are saved again{since}."
        )
    if kind == ProblemKind.GAVE_UP:
        return (
            f"Updating this school's calendar kept failing for a temporary reason (database "
            f"or a calendar service unavailable); the nightly refresh will try again{since}."
        )
    return (
        f"Updating this school's calendar failed with an unexpected error "
        f"({details.get('error', 'unknown')}); see the worker log{since}."
    )


def problem_json(problem: Problem) -> dict[str, Any]:
    """A problem record for the API."""
    return {
        "kind": problem.kind,
        "details": problem.details,
        "attempts": problem.attempts,
        "first_at": problem.first_at.isoformat(),
        "last_at": problem.last_at.isoformat(),
        "message": problem_for_admin(problem),
    }


# -- pushed calendars ----------------------------------------------------------------------

PROVIDER_NAMES = {"google": "Google Calendar", "microsoft": "Microsoft 365"}
LONDON = ZoneInfo("Europe/London")

_STOPPED = {
    "grant_revoked": (
        "{provider} no longer accepts this connection: the access was withdrawn, or the key "
        "was deleted. Connect the calendar again to start updating it."
    ),
    "no_access": (
        "The account cannot change this calendar. Give it permission to make changes to "
        "events, or connect another calendar."
    ),
    "calendar_gone": (
        "The calendar was deleted in {provider}. Disconnect it here, then connect again to "
        "make a new one."
    ),
    "rejected": (
        "{provider} refused what sencocal sent. This is a fault in sencocal, not in your "
        "settings: please tell whoever runs sencocal."
    ),
    "not_configured": (
        "This sencocal server is not set up for this kind of connection any more. Ask whoever "
        "runs it."
    ),
}


def connection_status(
    provider: str,
    state: str,
    stop_reason: str | None,
    last_sync_at: dt.datetime | None,
    last_result: dict[str, Any],
    waiting: dict[str, Any],
) -> str:
    """One sentence on where a pushed calendar stands, for the school admin."""
    name = PROVIDER_NAMES.get(provider, provider)
    if state == "stopped":
        return _STOPPED.get(stop_reason or "", _STOPPED["rejected"]).format(provider=name)
    if state == "disconnecting":
        return "Being disconnected: sencocal has stopped updating it."
    if state == "disconnected":
        return "Disconnected."
    if waiting.get("retry_at"):
        retry = dt.datetime.fromisoformat(waiting["retry_at"]).astimezone(LONDON)
        return (
            f"{name} asked sencocal to wait, or could not be reached; it will try again at "
            f"{retry:%H:%M} on {retry.day} {retry:%b}. Nothing is lost meanwhile."
        )
    if last_sync_at is None:
        return "Waiting for its first update: this usually takes under a minute."
    return f"Up to date: {sync_counts(last_result)}."


def sync_counts(result: dict[str, Any]) -> str:
    """What the last sync did, in words (``3 added, 1 changed, nothing removed``)."""
    added = int(result.get("created", 0)) + int(result.get("revived", 0))
    changed = int(result.get("updated", 0))
    removed = int(result.get("deleted", 0)) + int(result.get("duplicates_removed", 0))
    if not (added or changed or removed):
        return f"nothing needed changing ({_entries(int(result.get('events', 0)))} in all)"
    parts = [f"{added} added" if added else "", f"{changed} changed" if changed else ""]
    parts.append(f"{removed} removed" if removed else "")
    return ", ".join(p for p in parts if p) + f" ({_entries(int(result.get('events', 0)))} in all)"


def consent_refused(error: str) -> str:
    """Why signing in with Google gave no access (its ``error`` parameter), in words."""
    if error == "access_denied":
        return "Access was not granted, so nothing was connected. You can try again at any time."
    return "Google did not grant access, so nothing was connected. Please try again."
