"""What can go wrong talking to a remote calendar, as a small tree callers branch on by type.

::

    Exception
     └── RemoteError                     a remote calendar could not do what we asked
          ├── TransientRemoteError        try again later; ``retry_after`` seconds (a remote's
          │                               Retry-After wins over our own backoff)
          └── PermanentRemoteError        retrying will not help until a person acts;
                                          ``kind`` says what (a :class:`StopReason`)

The sync job stores a permanent error on the connection (the admin page words it) and stops that
connection; a transient one is retried with ``enqueue_in(retry_after)``.
"""

from __future__ import annotations

from enum import StrEnum


class StopReason(StrEnum):
    """Why a connection stopped; the admin page has a sentence for each."""

    GRANT_REVOKED = "grant_revoked"  # the school withdrew consent, or the key was deleted
    NO_ACCESS = "no_access"  # the account cannot reach or write the calendar
    CALENDAR_GONE = "calendar_gone"  # someone deleted the calendar
    REJECTED = "rejected"  # the remote refused our request as malformed (a bug on our side)
    NOT_CONFIGURED = "not_configured"  # this server has no credentials for the provider


class RemoteError(Exception):
    """A remote calendar could not do what we asked."""


class TransientRemoteError(RemoteError):
    """Worth trying again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float = 30.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentRemoteError(RemoteError):
    """Retrying will not help until a person changes something; ``kind`` says what."""

    def __init__(self, kind: StopReason, message: str) -> None:
        super().__init__(message)
        self.kind = kind
