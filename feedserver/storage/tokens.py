"""Secret tokens and keys: made with ``secrets``, stored only as hashes."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

TOKEN_BYTES = 24  # 192 bits; the issue asks for at least 128


def new_secret() -> str:
    """A fresh URL-safe secret (feed token or API key)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(secret: str) -> str:
    """The stored form of a secret: its SHA-256, hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


# When a key or feed token was last used is written at most this often: a feed is fetched
# many times an hour, and a write per request would cost more than the answer it records.
USE_RECORDED_EVERY = dt.timedelta(minutes=10)


def stale_use(last_used_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether a use at ``now`` should be written (none yet, or the last one is old enough)."""
    return last_used_at is None or now - last_used_at >= USE_RECORDED_EVERY
