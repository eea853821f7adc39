"""RSA keys for the emulators, made once per test process (2048-bit keys take ~0.1 s each)."""

from __future__ import annotations

import threading

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

_POOL: list[rsa.RSAPrivateKey] = []
_LOCK = threading.Lock()


def rsa_key(index: int) -> rsa.RSAPrivateKey:
    """The index-th key of this process's pool (keys are reused by later emulators)."""
    with _LOCK:
        while len(_POOL) <= index:
            _POOL.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        return _POOL[index]


def private_pem(key: rsa.RSAPrivateKey) -> str:
    """The key as an unencrypted PKCS#8 PEM, as Google's JSON key files hold it."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def public_pem(key: rsa.RSAPrivateKey) -> str:
    """The public half as a PEM ``SubjectPublicKeyInfo``."""
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
