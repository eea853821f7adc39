"""Secret tokens and keys: made with ``secrets``, stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 24  # 192 bits; the issue asks for at least 128


def new_secret() -> str:
    """A fresh URL-safe secret (feed token or API key)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(secret: str) -> str:
    """The stored form of a secret: its SHA-256, hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
