"""Bringing one school's stored events and feeds up to date: evaluate, plan, apply, render.

A school is re-evaluated when anything it depends on changed (its profile, a pack's content, the
window moving on 1 September). The diff is :func:`rules.diff.plan`'s: a changed event raises its
own SEQUENCE and nothing else's, and events whose date has passed stay as they were. The
caller owns the transaction: one school per transaction, started with the school's lock
(:func:`refresh_school` takes it), so two refreshes of one school run one after the other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

import pydantic
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import rules
from feedserver.pipeline.pupils import NONE, PupilInputs, pupil_inputs
from feedserver.pipeline.render import render_feeds, untouched_audiences
from feedserver.storage import changes, packstore, schools
from feedserver.storage import events as event_store
from feedserver.storage import roster as roster_store
from feedserver.storage.models import School
from feedserver.storage.secretbox import SecretBox
from rules.calendar import academic_year_of
from rules.diff import Diff, plan


class SchoolGone(LookupError):
    """The school was deleted before its refresh ran (nothing to do)."""


@dataclass(frozen=True)
class RefreshResult:
    """What one refresh did to one school.

    Attributes:
        school_id: the school.
        evaluated: False when nothing it depends on had changed (no evaluation was needed).
        diff: the events created, updated and deleted (empty when not evaluated).
        feeds_rendered: audiences whose feed bytes changed.
        warnings: what the evaluation lacked (records; words come from the presenters).
    """

    school_id: str
    evaluated: bool
    diff: Diff
    feeds_rendered: tuple[str, ...]
    warnings: tuple[rules.EvalWarning, ...]


def window(today: dt.date) -> tuple[int, int]:
    """The academic years a feed holds: the current one and the next."""
    current = academic_year_of(today)
    return current, current + 1


def desired(
    session: Session,
    profile: rules.SchoolProfile,
    years: Iterable[int],
    memo: rules.Memo | None,
    pupils: PupilInputs = NONE,
) -> tuple[list[rules.Event], list[rules.EvalWarning]]:
    """The events and warnings ``profile`` gives over ``years`` with the live packs."""
    packs = [p for p, _ in schools.packs_for(session, profile)]
    return evaluate_packs(packs, profile, years, memo, pupils)


def evaluate_packs(
    packs: list[rules.Pack],
    profile: rules.SchoolProfile,
    years: Iterable[int],
    memo: rules.Memo | None,
    pupils: PupilInputs = NONE,
) -> tuple[list[rules.Event], list[rules.EvalWarning]]:
    """The events and warnings ``packs`` give ``profile`` (and its roster) over ``years``."""
    events: list[rules.Event] = []
    warnings: list[rules.EvalWarning] = []
    for year in years:
        evaluation = rules.evaluate_full(
            packs, profile, year, memo=memo, roster=pupils.roster, placed=pupils.placed
        )
        events.extend(evaluation.events)
        warnings.extend(evaluation.warnings)
    return events, warnings


def preview(
    session: Session,
    school: School,
    profile: rules.SchoolProfile,
    today: dt.date,
    memo: rules.Memo | None,
    box: SecretBox | None = None,
) -> tuple[Diff, list[rules.EvalWarning]]:
    """What saving ``profile`` for ``school`` would do to its calendar (nothing is written)."""
    years = window(today)
    pupils = pupil_inputs(session, school.id, years, box)
    events, warnings = desired(session, profile, years, memo, pupils)
    return plan(events, event_store.stored(session, school.id, years), today), warnings


def _fingerprint(
    profile_hash: str,
    years: tuple[int, int],
    packs: Iterable[str],
    roster: str = roster_store.EMPTY_FINGERPRINT,
) -> str:
    parts: list[object] = [profile_hash, list(years), sorted(packs)]
    if roster != roster_store.EMPTY_FINGERPRINT:  # a school without a roster keeps its digest
        parts.append(roster)
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def current_fingerprint(session: Session, school: School, today: dt.date) -> str | None:
    """The fingerprint the school's evaluation would have if it were run now.

    Equal to ``school.evaluated_fingerprint`` exactly when its stored events are up to date;
    None when its stored profile cannot be read (its job has recorded why).
    """
    try:
        profile = schools.profile_of(school)
    except pydantic.ValidationError:
        return None
    packs = schools.packs_for(session, profile)
    return _fingerprint(
        school.profile_hash,
        window(today),
        [fp for _, fp in packs],
        roster_store.fingerprint(session, school.id),
    )


def render_new_feeds(session: Session, school: School, today: dt.date, now: dt.datetime) -> None:
    """Render the school's feeds that have no bytes yet, from its stored events.

    A feed made in a request is served at once (with what the school's calendar holds now)
    instead of answering 404 until its school's job has run.
    """
    if all(f.ics_gzip is not None for f in school.feeds):
        return
    years = window(today)
    live, revisions = event_store.window(session, school.id, years)
    render_feeds(session, school, years, now, live, revisions)


def refresh_school(
    session: Session,
    school_id: str,
    today: dt.date,
    now: dt.datetime,
    *,
    memo: rules.Memo | None = None,
    force: bool = False,
    box: SecretBox | None = None,
) -> RefreshResult:
    """Bring one school's stored events and feeds up to date (the caller commits).

    Takes the school's lock first, so call it at the start of a transaction of its own.

    Args:
        session: a fresh transaction for this school.
        school_id: the school.
        today: decides the window (current and next academic year) and what is past.
        now: the time stamped on changed events and feeds.
        memo: shared evaluation work (workers keep one for their lifetime).
        force: evaluate and render even if nothing seems to have changed.
        box: the key set that opens the school's roster (else the process's own).

    Raises:
        SchoolGone: the school no longer exists.
        rules.PackConflict: two of the school's packs share a name.
    """
    school = event_store.lock_school(session, school_id)
    if school is None:
        raise SchoolGone(school_id)
    profile = schools.profile_of(school)
    years = window(today)
    packs = schools.packs_for(session, profile)
    roster = roster_store.fingerprint(session, school.id)
    digest = _fingerprint(school.profile_hash, years, [fp for _, fp in packs], roster)
    feeds_stale = any(f.ics_gzip is None or f.window_start != years[0] for f in school.feeds)
    if digest == school.evaluated_fingerprint and not force:
        rendered: list[str] = []
        if feeds_stale:
            live, revisions = event_store.window(session, school.id, years)
            rendered = render_feeds(session, school, years, now, live, revisions)
        return RefreshResult(school.id, False, Diff(), tuple(rendered), ())
    pupils = pupil_inputs(session, school.id, years, box)
    events, warnings = evaluate_packs([p for p, _ in packs], profile, years, memo, pupils)
    before = event_store.stored(session, school.id, years)
    diff = plan(events, before, today)
    # Only packs changed (same profile, so the same school name; same roster and window) when the
    # last evaluation's fingerprint is the old packs' with today's profile and years: the feeds
    # none of the changed entries reaches come out as stored, so they are not rendered again.
    only_packs = (
        bool(school.evaluated_packs)
        and not force
        and not feeds_stale
        and (
            _fingerprint(school.profile_hash, years, school.evaluated_packs.values(), roster)
            == school.evaluated_fingerprint
        )
    )
    fingerprints = {p.pack: fp for p, fp in packs}
    if school.evaluated_packs:  # a first evaluation is not news: everything is new
        changed = {s for s, fp in fingerprints.items() if school.evaluated_packs.get(s) != fp}
        # before applying: the diff reads the stored bodies it replaces when asked
        changes.record(session, school.id, diff, changed, fingerprints, now)
    event_store.apply(session, school.id, diff, now)
    school.evaluated_packs = fingerprints
    if not school.feeds or feeds_stale:  # the window moved (or nothing shows it): prune
        event_store.prune(session, school.id, years[0] - 1)
    school.evaluated_fingerprint = digest
    school.evaluated_at = now
    school.warnings = {"items": [w.to_json() for w in warnings]}
    if not diff.empty:
        school.events_changed_at = now
    live = diff.result(events)
    revisions = event_store.revisions_after(before, diff, live, now)
    unchanged = untouched_audiences(diff, live) if only_packs else frozenset()
    rendered = render_feeds(session, school, years, now, live, revisions, unchanged)
    return RefreshResult(school.id, True, diff, tuple(rendered), tuple(warnings))


def stale_school_ids(session: Session, today: dt.date) -> list[str]:
    """Schools whose stored evaluation or feeds are out of date for ``today``, by id.

    One query for the schools and one for the live packs: cheap enough to run for every school
    every night, so the nightly job only enqueues the ones with work to do.
    """
    years = window(today)
    live = packstore.live_versions(session)
    rosters = roster_store.fingerprints(session)
    out = []
    query = select(School).options(selectinload(School.feeds)).order_by(School.id)
    for school in session.scalars(query):
        try:
            profile = schools.profile_of(school)
        except pydantic.ValidationError:
            out.append(school.id)  # its job records why it cannot be evaluated
            continue
        packs = schools.packs_for(session, profile, live=live)
        digest = _fingerprint(
            school.profile_hash,
            years,
            [fp for _, fp in packs],
            rosters.get(school.id, roster_store.EMPTY_FINGERPRINT),
        )
        if school.evaluated_fingerprint != digest or any(
            f.ics_gzip is None or f.window_start != years[0] for f in school.feeds
        ):
            out.append(school.id)
    return out
