"""The feed server's errors, one small tree, and how to tell a database problem from a bug.

::

    Exception
     ├── rules.SencocalInputError (ValueError)   bad input from a person: say what and where
     │    ├── rules.PackRejected                  every problem of a pack, file:line: field
     │    ├── feedserver.config.ConfigError       a setting, naming the variable
     │    ├── storage.db.Conflict                 an id or name just taken (HTTP 409)
     │    └── ... (SubscriptionError, AccountError, PlainTextError, PackPublishError, ...)
     └── SencocalError                           the service cannot do it right now, or ever
          ├── ServiceUnavailable                  try again later (HTTP 503)
          │    ├── DatabaseUnavailable            the database cannot be reached
          │    └── DatabaseNotReady               its tables are missing: run `sencocal db upgrade`
          └── JobFailure                          a background job could not finish
               ├── TransientFailure(retry_after)  retried after ``retry_after`` seconds
               └── PermanentFailure(kind, details) stored as a record the pages put in words

Outside the tree: ``web.limits.Limited`` (a client over a rate limit: 429 with Retry-After).
Each surface has one presenter: HTML pages (``web/app.py``), JSON for the API (the same
handlers), a plain message and exit 1 for the CLI (``cli.py``), a stored record for jobs
(``pipeline/jobs.py``). No traceback reaches a user; unexpected errors are logged with theirs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exc as sa_exc

from feedserver.storage.problems import ProblemKind


class SencocalError(Exception):
    """Base of the service's own errors (input errors are ``rules.SencocalInputError``)."""


class ServiceUnavailable(SencocalError):
    """The service cannot do this now; trying again later may work."""


class DatabaseUnavailable(ServiceUnavailable):
    """The database cannot be reached."""

    def __init__(self) -> None:
        super().__init__(
            "sencocal cannot reach its database just now. Your calendar feeds are not affected "
            "if they were already served; please try again in a minute."
        )


class DatabaseNotReady(ServiceUnavailable):
    """The database has no sencocal tables (or old ones): it needs ``sencocal db upgrade``."""

    def __init__(self) -> None:
        super().__init__(
            "The database is not set up for this version of sencocal. "
            "Run `sencocal db upgrade`, then start it again."
        )


class JobFailure(SencocalError):
    """A background job could not finish."""


class TransientFailure(JobFailure):
    """Worth retrying after ``retry_after`` seconds (a remote's Retry-After wins)."""

    def __init__(self, message: str, retry_after: float = 30.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentFailure(JobFailure):
    """Retrying will not help until someone changes something; ``kind`` says what."""

    def __init__(self, kind: ProblemKind, **details: Any) -> None:
        super().__init__(f"{kind.value}: {details}")
        self.kind = kind
        self.details = details


def from_database(exc: BaseException) -> ServiceUnavailable | None:
    """The service error a database exception means, or None when it is not one of ours.

    An undefined table (PostgreSQL's SQLSTATE 42P01; SQLite has no code for it, only its
    "no such table" message) means the tables were never created; a failed or lost connection
    means the database is down.
    """
    if isinstance(exc, sa_exc.DBAPIError):
        orig = exc.orig
        if getattr(orig, "sqlstate", None) == "42P01" or (
            "sqlite" in type(orig).__module__ and "no such table" in str(orig)
        ):
            return DatabaseNotReady()
        if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError) or (
            exc.connection_invalidated
        ):
            return DatabaseUnavailable()
    if isinstance(exc, sa_exc.TimeoutError):  # no connection free in the pool
        return DatabaseUnavailable()
    return None
