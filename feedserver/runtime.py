"""The long-lived objects one process runs with, built from the config, without Flask.

The web app keeps its :class:`Services` in ``app.extensions["sencocal"]``; an rq worker builds
its own with :meth:`Services.from_config` and installs it for the jobs it runs. Jobs find theirs
with :func:`current`: the one a caller set for the moment with :func:`using` (the in-process
runner, tests), else the process's own (:func:`install`), else one built from the environment
(a worker started with plain ``rq worker``).
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import rules
from feedserver.clock import Clock, SystemClock
from feedserver.config import Config
from feedserver.pipeline import dispatch
from feedserver.pipeline.dispatch import Dispatcher, dispatcher_for
from feedserver.storage.db import Database
from feedserver.storage.secretbox import SecretBox


@dataclass
class Services:
    """Config, database, clock, evaluation memo, secret box and job dispatcher of one process."""

    config: Config
    db: Database
    clock: Clock
    secretbox: SecretBox
    jobs: Dispatcher
    memo: rules.Memo = field(default_factory=rules.Memo)

    @classmethod
    def from_config(
        cls, config: Config, *, clock: Clock | None = None, background_jobs: bool = False
    ) -> Services:
        """Everything a process needs, from a validated config (no Flask app involved).

        Jobs go to rq on ``config.redis_url``; without one they run in this process right
        after the transaction that asked for them commits: in that thread, or on a background
        thread of this process with ``background_jobs`` (a served app).
        """
        services = cls(
            config=config,
            db=Database(config.database_url),
            clock=clock or SystemClock(),
            secretbox=SecretBox(config.encryption_keys),
            jobs=dispatcher_for(config.redis_url, background=background_jobs),
        )
        services.jobs.bind(lambda: using(services))
        return services

    def close(self) -> None:
        """Release connections (database pool, Redis)."""
        self.db.dispose()
        self.jobs.close()


_current: contextvars.ContextVar[Services | None] = contextvars.ContextVar(
    "sencocal_services", default=None
)
_process: list[Services] = []


def current() -> Services:
    """The services jobs run with here (see the module docstring)."""
    found = _current.get()
    if found is not None:
        return found
    if not _process:
        install(Services.from_config(Config.from_mapping(os.environ)))
    return _process[0]


@contextmanager
def using(services: Services) -> Iterator[Services]:
    """Run the enclosed code (jobs, requests) with ``services``."""
    token = _current.set(services)
    try:
        with dispatch.active(services.jobs):
            yield services
    finally:
        _current.reset(token)


def install(services: Services) -> None:
    """Make ``services`` this process's own (a worker does this once at start)."""
    _process[:] = [services]
    dispatch.set_default(services.jobs)
