"""The one seam every change goes through: ``enqueue(job, *ids, reason=...)``.

A job is a function in :mod:`feedserver.pipeline.jobs` that takes ids and reloads its state, so
running it twice, or again after it died half-way, converges. ``enqueue`` hands it over right
after the caller's transaction commits (``storage.db.after_commit``), to one of two dispatchers:

* :class:`RqDispatcher` (``REDIS_URL`` set): the job goes onto its rq queue for ``worker.py``.
  Its id is deterministic (job, ids, reason), so a job that is already waiting is not queued a
  second time; a job that is already running gets one follow-up run queued behind it, because
  the change that asked for it may have come after it read its state.
* :class:`InlineDispatcher` (the embedded default): the job runs in this process, at once, in a
  first-in first-out order per thread, so a fan-out's jobs run one after another instead of
  nesting.
"""

from __future__ import annotations

import contextvars
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from feedserver.storage.db import after_commit

log = logging.getLogger("feedserver.jobs")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")

Id = str | int
QUEUES = ("evaluate", "fanout", "sync")
FOLLOW_UP_SLOTS = 4  # at most this many runs of one job can be running at once (one per worker)
INLINE_ATTEMPTS = 3  # in-process, a transient failure is retried this often, then recorded
INLINE_MAX_WAIT = 2.0  # seconds an in-process retry waits at most (a request is waiting)


@dataclass(frozen=True)
class JobCall:
    """One job to run: the job function, its ids and why it was asked for.

    ``reason`` is a short word (``profile``, ``pack``, ``nightly``, ...) that goes into the job's
    id, so keep it stable: calls that differ only in wording would not be merged.
    """

    func: Callable[..., Any]
    ids: tuple[Id, ...]
    reason: str
    attempt: int = 0

    @property
    def name(self) -> str:
        """The job's function name."""
        return self.func.__name__

    @property
    def queue(self) -> str:
        """The rq queue the job runs on (declared by the ``@job`` decorator)."""
        return str(getattr(self.func, "queue", "evaluate"))

    @property
    def key(self) -> str:
        """The deterministic id: job, ids and reason, joined by ``__`` (never a time or counter).

        rq ids allow letters, digits, ``_`` and ``-``; school ids and reasons are slugs.
        """
        parts = [self.name, *(str(i) for i in self.ids), self.reason]
        return "__".join(_ID_UNSAFE.sub("_", part) for part in parts)

    def retried(self) -> JobCall:
        """The same call, one attempt later."""
        return JobCall(self.func, self.ids, self.reason, self.attempt + 1)


class Dispatcher(Protocol):
    """Where committed work goes: rq, or this process."""

    def bind(self, enter: Callable[[], AbstractContextManager[Any]]) -> None:
        """How to set up the context a job runs in here (``runtime.using(services)``)."""

    def submit(self, calls: Iterable[JobCall]) -> None:
        """Run or queue ``calls`` (already committed work)."""

    def later(self, call: JobCall, seconds: float) -> None:
        """Run ``call`` again after ``seconds`` (a transient failure's Retry-After)."""

    def wait(self, timeout: float | None = None) -> bool:
        """Block until this process's own queued work is done (rq: returns at once)."""

    def close(self) -> None:
        """Release connections."""


_active: contextvars.ContextVar[Dispatcher | None] = contextvars.ContextVar(
    "sencocal_dispatcher", default=None
)
_default: list[Dispatcher] = []


@contextmanager
def active(dispatcher: Dispatcher) -> Iterator[None]:
    """Send what the enclosed code enqueues to ``dispatcher`` (``runtime.using`` does this)."""
    token = _active.set(dispatcher)
    try:
        yield
    finally:
        _active.reset(token)


def set_default(dispatcher: Dispatcher) -> None:
    """Make ``dispatcher`` the one used when none is active (``runtime.install`` does this)."""
    _default[:] = [dispatcher]


def current_dispatcher() -> Dispatcher:
    """Where :func:`enqueue` sends work from here."""
    found = _active.get() or (_default[0] if _default else None)
    if found is None:
        raise RuntimeError("no job dispatcher: run inside runtime.using(services)")
    return found


def enqueue(job: Callable[..., Any], *ids: Id, reason: str) -> None:
    """Ask for ``job(*ids)`` to run once the current transaction has committed.

    Args:
        job: a job function from :mod:`feedserver.pipeline.jobs`.
        *ids: what it works on (a school id, a pack version id, ...).
        reason: a short stable word saying why (goes into the job's id).
    """
    dispatcher = current_dispatcher()
    call = JobCall(job, tuple(ids), reason)
    after_commit(lambda: dispatcher.submit([call]))


def enqueue_many(job: Callable[..., Any], ids: Iterable[Id], reason: str) -> None:
    """:func:`enqueue` for many single ids at once (one round of queue writes for a fan-out)."""
    dispatcher = current_dispatcher()
    calls = [JobCall(job, (i,), reason) for i in ids]
    if calls:
        after_commit(lambda: dispatcher.submit(calls))


def dispatcher_for(redis_url: str | None, *, background: bool = False) -> Dispatcher:
    """The rq dispatcher when there is a Redis URL, else in-process (in the background if asked)."""
    return RqDispatcher(redis_url) if redis_url else InlineDispatcher(background)


class InlineDispatcher:
    """Runs jobs in this process, first in first out.

    ``background=False`` (the command line, tests): in the thread that committed, at once.
    ``background=True`` (a served app without Redis): on one daemon thread of this process, so
    a request that publishes a pack answers at once and never runs into the web server's
    timeout however many schools the pack reaches. Work still waiting when the process stops
    is lost; the next change to those schools, or ``sencocal refresh``, catches them up.
    """

    def __init__(self, background: bool = False) -> None:
        self.background = background
        self._local = threading.local()
        self._enter: Callable[[], AbstractContextManager[Any]] | None = None
        self._waiting: deque[JobCall] = deque()
        self._cond = threading.Condition()
        self._busy = False
        self._thread: threading.Thread | None = None

    def bind(self, enter: Callable[[], AbstractContextManager[Any]]) -> None:
        """How to set up a job's context (its services)."""
        self._enter = enter

    def submit(self, calls: Iterable[JobCall]) -> None:
        """Run ``calls`` (after any already waiting)."""
        if self.background:
            self._submit_background(calls)
            return
        waiting: deque[JobCall] = self._local.__dict__.setdefault("waiting", deque())
        for call in calls:
            if call not in waiting:  # the same job for the same ids and reason: once
                waiting.append(call)
        if getattr(self._local, "draining", False):
            return  # the loop below, further up this thread's stack, will get to them
        self._local.draining = True
        try:
            while waiting:
                self._run(waiting.popleft())
        finally:
            self._local.draining = False

    def _submit_background(self, calls: Iterable[JobCall]) -> None:
        with self._cond:
            for call in calls:
                if call not in self._waiting:
                    self._waiting.append(call)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="sencocal-jobs", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._waiting:
                    self._busy = False
                    self._cond.notify_all()
                    self._cond.wait()
                call = self._waiting.popleft()
                self._busy = True
            self._run(call)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no job waits or runs (the demo's set-up, tests); False on timeout."""
        if not self.background:
            return True
        with self._cond:
            return self._cond.wait_for(lambda: not self._waiting and not self._busy, timeout)

    def later(self, call: JobCall, seconds: float) -> None:
        """Run ``call`` again after ``seconds`` (briefly, when someone is waiting on it)."""
        if call.attempt >= INLINE_ATTEMPTS:
            raise GaveUp(call)
        if self.background:
            timer = threading.Timer(seconds, self.submit, args=([call],))
            timer.daemon = True
            timer.start()
            return
        time.sleep(min(seconds, INLINE_MAX_WAIT))
        self.submit([call])

    def _run(self, call: JobCall) -> None:
        assert self._enter is not None, "InlineDispatcher.bind() was not called"
        log.debug("running %s in-process", call.key)
        with self._enter():
            try:
                call.func(*call.ids, reason=call.reason, attempt=call.attempt)
            except Exception:  # a job records its own failures; never fail the caller
                log.exception("in-process job %s failed", call.key)

    def close(self) -> None:
        """Nothing to release (the daemon thread ends with the process)."""


class GaveUp(Exception):
    """A transient failure outlasted every retry (the job records it as a failure)."""

    def __init__(self, call: JobCall) -> None:
        super().__init__(f"{call.key}: gave up after {call.attempt} attempts")
        self.call = call


class RqDispatcher:
    """Puts jobs on rq queues in Redis, with deterministic ids."""

    def __init__(self, redis_url: str) -> None:
        from redis import Redis

        self.redis_url = redis_url
        self.connection = Redis.from_url(redis_url)
        self._queues: dict[str, Any] = {}

    def bind(self, enter: Callable[[], AbstractContextManager[Any]]) -> None:
        """Workers set up their own context (``worker.py``); nothing to attach."""

    def queue(self, name: str) -> Any:
        """The rq queue called ``name``."""
        from rq import Queue

        found = self._queues.get(name)
        if found is None:
            found = self._queues[name] = Queue(name, connection=self.connection)
        return found

    def submit(self, calls: Iterable[JobCall]) -> None:
        """Queue each call unless the same job is already waiting.

        The change that asked for it is already committed, so a Redis that cannot be reached
        is logged, not raised: the nightly refresh finds every school whose inputs changed.
        """
        for call in calls:
            try:
                self._put(call, None)
            except Exception:
                log.exception("could not queue %s; the nightly refresh will pick it up", call.key)

    def later(self, call: JobCall, seconds: float) -> None:
        """Schedule ``call`` in ``seconds`` (rq's scheduler, run by every worker, moves it)."""
        self._put(call, timedelta(seconds=max(seconds, 0.0)))

    def _put(self, call: JobCall, delay: timedelta | None) -> None:
        from rq.exceptions import DuplicateJobError
        from rq.job import Job, JobStatus

        queue = self.queue(call.queue)
        options: dict[str, Any] = {
            "args": call.ids,
            "kwargs": {"reason": call.reason, "attempt": call.attempt},
            "result_ttl": 0,  # keep nothing once done: the id is free for the next change
            "failure_ttl": 7 * 24 * 3600,
            "job_timeout": getattr(call.func, "timeout", 600),
            "description": call.key,
            "unique": True,
        }
        for slot in range(FOLLOW_UP_SLOTS):
            job_id = call.key if slot == 0 else f"{call.key}__{slot}"
            for _ in range(3):
                try:
                    if delay is None:
                        queue.enqueue(call.func, job_id=job_id, **options)
                    else:
                        queue.enqueue_in(delay, call.func, job_id=job_id, **options)
                    return
                except DuplicateJobError:
                    existing = Job.fetch_many([job_id], connection=self.connection)[0]
                    status = existing.get_status(refresh=False) if existing else None
                    if status in {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}:
                        return  # already waiting: it will read the latest state when it runs
                    if status == JobStatus.STARTED:
                        break  # running: queue a follow-up in the next slot
                    if existing is not None:
                        existing.delete(remove_from_queue=True)  # finished, failed, stopped
        log.warning("job %s: every follow-up slot is busy; not queued again", call.key)

    def wait(self, timeout: float | None = None) -> bool:
        """Nothing runs in this process: the workers do it."""
        return True

    def close(self) -> None:
        """Close the Redis connection pool."""
        self.connection.close()
