"""Secrets at rest (remote-calendar credentials): encrypted with a rotatable set of Fernet keys.

The newest key encrypts; every key in the set decrypts, so a key is rotated by putting a new one
first, re-encrypting with :meth:`SecretBox.rotate`, then dropping the old one.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from rules.errors import SencocalInputError


class SecretUnreadable(SencocalInputError):
    """A stored secret was encrypted with a key that is no longer configured (or is corrupt)."""


class SecretBox:
    """Encrypts and decrypts small secrets with the configured key set."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def seal(self, secret: str) -> bytes:
        """Encrypt ``secret`` with the newest key."""
        return self._fernet.encrypt(secret.encode("utf-8"))

    def open(self, sealed: bytes) -> str:
        """Decrypt with whichever configured key sealed it.

        Raises:
            SecretUnreadable: no configured key opens it.
        """
        try:
            return self._fernet.decrypt(sealed).decode("utf-8")
        except InvalidToken:
            raise SecretUnreadable(
                "a stored secret cannot be decrypted with the configured keys; was an old key "
                "removed from SENCOCAL_ENCRYPTION_KEYS before re-encrypting?"
            ) from None

    def open_fresh(self, sealed: bytes, max_age: int) -> str:
        """Decrypt a secret sealed at most ``max_age`` seconds ago (a consent flow's state).

        Raises:
            SecretUnreadable: too old, altered, or sealed with a key we do not have.
        """
        try:
            return self._fernet.decrypt(sealed, ttl=max_age).decode("utf-8")
        except InvalidToken:
            raise SecretUnreadable("expired or altered") from None

    def rotate(self, sealed: bytes) -> bytes:
        """Re-encrypt ``sealed`` with the newest key."""
        try:
            return self._fernet.rotate(sealed)
        except InvalidToken:
            raise SecretUnreadable("a stored secret cannot be decrypted for rotation") from None
