"""The jobs: importable functions that take ids, reload their state and so converge when rerun.

Each runs the same way on an rq worker and in-process (see ``dispatch.py``) and finds its
services with :func:`feedserver.runtime.current`. Each school is one transaction: a failure is
recorded for that school and every other school's work stands. How failures are retried or
recorded is declared with :func:`feedserver.pipeline.jobbase.job`; the push sync's jobs are in
``push.py``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

import rules
from feedserver import runtime
from feedserver.clock import today
from feedserver.pipeline import push, refresh
from feedserver.pipeline.dispatch import enqueue_many
from feedserver.pipeline.jobbase import BACKOFF, MAX_ATTEMPTS, job
from feedserver.storage import connections, packstore, problems
from feedserver.storage.models import PackVersion, School
from feedserver.storage.problems import ProblemKind

__all__ = ["BACKOFF", "MAX_ATTEMPTS", "evaluate_school", "fan_out_pack", "refresh_stale"]


@job("evaluate", timeout=300, per_school=True)
def evaluate_school(school_id: str, *, reason: str) -> dict[str, Any]:
    """Re-evaluate one school and re-render its feeds, in one transaction under its lock.

    Returns:
        What changed: created / updated / deleted counts and the feeds rendered.
    """
    svc = runtime.current()
    with svc.db.session() as session:
        try:
            result = refresh.refresh_school(
                session,
                school_id,
                today(svc.clock),
                svc.clock.now(),
                memo=svc.memo,
                box=svc.secretbox,
            )
        except refresh.SchoolGone:
            return {"school": school_id, "gone": True}
        problems.clear(session, "evaluate_school", school_id)
        if not result.diff.empty:  # the school's pushed calendars catch up after the commit
            enqueue_many(push.sync_connection, connections.active_ids(session, school_id), "events")
    diff = result.diff
    return {
        "school": school_id,
        "evaluated": result.evaluated,
        "created": len(diff.creates),
        "updated": len(diff.updates),
        "deleted": len(diff.deletes),
        "feeds": list(result.feeds_rendered),
    }


@job("fanout")
def fan_out_pack(version_id: int, *, reason: str) -> dict[str, Any]:
    """Queue an evaluation of every school a published pack version reaches."""
    svc = runtime.current()
    with svc.db.session() as session:
        version = session.get(PackVersion, version_id)
        if version is None:
            return {"version": version_id, "schools": 0}
        reached = packstore.reached_school_ids(session, version)
        enqueue_many(evaluate_school, reached, reason="pack")
    return {"version": version_id, "schools": len(reached)}


@job("fanout")
def refresh_stale(*, reason: str) -> dict[str, Any]:
    """Queue an evaluation of every school whose inputs or window changed (nightly; 1 Sept).

    Every active pushed calendar is synced too (after the evaluations, on its own queue), so a
    sync that gave up on a long outage catches up within a day.
    """
    svc = runtime.current()
    with svc.db.session() as session:
        stale = refresh.stale_school_ids(session, today(svc.clock))
        enqueue_many(evaluate_school, stale, reason=reason)
        pushed = connections.active_ids(session)
        enqueue_many(push.sync_connection, pushed, reason=reason)
    return {"schools": len(stale), "calendars": len(pushed)}


@job("fanout")
def readiness_check(*, reason: str) -> dict[str, Any]:
    """Record whether next year's term dates and national dates are in (weekly).

    Reads the warning records each school's last evaluation stored: the next academic year's
    missing term dates, by school, and its national dates not yet published, by rule.
    """
    svc = runtime.current()
    year = refresh.window(today(svc.clock))[1]
    missing: list[dict[str, str]] = []
    unpublished: set[str] = set()
    with svc.db.session() as session:
        for school_id, name, stored in session.execute(
            select(School.id, School.name, School.warnings).order_by(School.name)
        ):
            school = {"id": school_id, "name": name}
            for item in stored.get("items", []):
                warning = rules.EvalWarning.from_json(item)
                if warning.year != year:
                    continue
                if warning.kind == rules.WarningKind.TERM_DATES and school not in missing:
                    missing.append(school)
                elif warning.kind == rules.WarningKind.UNPUBLISHED:
                    unpublished.update(warning.refs)
        if missing or unpublished:
            problems.record(
                session,
                svc.clock.now(),
                "readiness_check",
                ProblemKind.NEXT_YEAR_NOT_READY,
                year=year,
                schools=missing,
                unpublished=sorted(unpublished),
            )
        else:
            problems.clear(session, "readiness_check")
    return {"year": year, "schools": len(missing), "unpublished": len(unpublished)}
