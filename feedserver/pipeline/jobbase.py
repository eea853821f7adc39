"""Declaring a job: its rq queue and time limit, and what happens when it fails.

Failures, by type (``feedserver/errors.py``): a transient one (the database is down, a remote
said Retry-After) is tried again after its ``retry_after``, up to :data:`MAX_ATTEMPTS`; a
permanent one is stored as a problem record (``storage/problems.py``) that the pages put in
words, and cleared when the job next succeeds; anything else is a bug: recorded as
"unexpected", and raised so rq keeps the job in its failed registry with the traceback.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import pydantic

import rules
from feedserver import errors, runtime
from feedserver.pipeline.dispatch import GaveUp, JobCall
from feedserver.storage import problems
from feedserver.storage.models import School
from feedserver.storage.problems import ProblemKind

log = logging.getLogger("feedserver.jobs")

MAX_ATTEMPTS = 5
BACKOFF = (5.0, 30.0, 120.0, 600.0, 1800.0)  # seconds, when a failure gives no Retry-After

F = TypeVar("F", bound=Callable[..., Any])


def job(queue: str, *, timeout: int = 600, per_school: bool = False) -> Callable[[F], F]:
    """Declare a job: the rq queue it runs on and its time limit, with the failure handling.

    ``per_school`` jobs take a school id first; their failures are recorded for that school.

    The decorated function is called as ``func(*ids, reason=..., attempt=...)``; it raises
    :class:`errors.TransientFailure` or :class:`errors.PermanentFailure` (or lets a database
    error through) and the wrapper turns that into a retry or a stored record.
    """

    def wrap(func: F) -> F:
        @functools.wraps(func)
        def run(*ids: Any, reason: str, attempt: int = 0) -> Any:
            call = JobCall(run, tuple(ids), reason, attempt)
            school_id = str(ids[0]) if per_school and ids else None
            try:
                return func(*ids, reason=reason)
            except Exception as exc:  # noqa: BLE001 - sorted by type just below
                return _failed(call, school_id, exc)

        run.queue = queue  # type: ignore[attr-defined]
        run.timeout = timeout  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return wrap


def _failed(call: JobCall, school_id: str | None, exc: Exception) -> Any:
    """Retry, record or re-raise one failure of ``call`` (see the module docstring)."""
    svc = runtime.current()
    transient = (
        exc
        if isinstance(exc, errors.TransientFailure | errors.DatabaseUnavailable)
        else errors.from_database(exc)
    )
    if isinstance(transient, errors.DatabaseNotReady):
        transient = None  # retrying will not create the tables
    if transient is not None:
        wait = getattr(transient, "retry_after", BACKOFF[min(call.attempt, len(BACKOFF) - 1)])
        log.warning("job %s: %s; trying again in %.0f s", call.key, transient, wait)
        try:
            if call.attempt + 1 >= MAX_ATTEMPTS:
                raise GaveUp(call.retried())
            svc.jobs.later(call.retried(), wait)
            return None
        except GaveUp:
            _record(call, school_id, ProblemKind.GAVE_UP, attempts=call.attempt + 1)
            return None
    if isinstance(exc, errors.PermanentFailure):
        _record(call, school_id, exc.kind, **exc.details)
        return None
    if isinstance(exc, rules.PackConflict):
        _record(call, school_id, ProblemKind.PACK_CONFLICT, slug=exc.slug)
        return None
    if isinstance(exc, pydantic.ValidationError):
        found = [{"field": ".".join(map(str, e["loc"])), "type": e["type"]} for e in exc.errors()]
        _record(call, school_id, ProblemKind.PROFILE_INVALID, problems=found)
        return None
    _record(call, school_id, ProblemKind.UNEXPECTED, error=type(exc).__name__)
    raise exc


def _record(call: JobCall, school_id: str | None, kind: ProblemKind, **details: Any) -> None:
    svc = runtime.current()
    try:
        with svc.db.session() as session:
            if school_id is not None and session.get(School, school_id) is None:
                return  # the school is gone: nothing to report about it
            problems.record(
                session, svc.clock.now(), call.name, kind, school_id=school_id, **details
            )
    except Exception:  # the database may be what failed; the log still has it
        log.exception("job %s: could not record %s", call.key, kind.value)
