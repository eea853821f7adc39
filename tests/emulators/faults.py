"""Fault injection shared by the emulators: what goes wrong, and on which request or write."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal[
    "status", "timeout", "drop_after_commit", "drop_before_commit", "commit_then_hang"
]
KINDS: tuple[str, ...] = (
    "status",
    "timeout",
    "drop_after_commit",
    "drop_before_commit",
    "commit_then_hang",
)


@dataclass(frozen=True)
class Fault:
    """One thing that goes wrong with one request or one write.

    Attributes:
        kind: ``status`` answers an error and commits nothing; ``timeout`` stalls ``delay`` seconds
            and closes without answering (nothing committed); ``drop_before_commit`` closes at once
            without answering (nothing committed); ``drop_after_commit`` commits, then closes
            without answering; ``commit_then_hang`` commits, then holds the connection open
            without answering until ``Faults.release()``.
        status: The HTTP status for ``status`` faults.
        retry_after: Seconds, sent as a ``Retry-After`` header when set.
        reason: Google's ``errors[].reason`` or Graph's error ``code``; a fitting default if unset.
        delay: How long a ``timeout`` stalls before closing.
    """

    kind: FaultKind
    status: int = 503
    retry_after: int | None = None
    reason: str | None = None
    delay: float = 5.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(KINDS)}")
        if self.kind == "status" and not 400 <= self.status <= 599:
            raise ValueError(f"a status fault needs an error status (400-599), not {self.status}")


class Faults:
    """The faults planned for one emulator (``emu.faults``); thread-safe.

    Requests and writes are counted from the moment a fault is planned: ``on_request(1, f)``
    hits the very next HTTP request, ``on_write(3, f)`` the third write operation received from
    now (a batch of ten inserts holds ten writes). Each planned fault fires once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests_seen = 0
        self._writes_seen = 0
        self._on_request: dict[int, Fault] = {}
        self._on_write: dict[int, Fault] = {}
        self._random: tuple[float, random.Random, tuple[Fault, ...], bool] | None = None
        self._hung = 0
        self._hung_changed = threading.Condition(self._lock)
        self._release = threading.Event()
        self._stopping = threading.Event()
        self.fired: list[tuple[str, int, Fault]] = []
        """Every fault that fired, as ("request" | "write", its 1-based number, the fault)."""

    def on_request(self, n: int, fault: Fault) -> None:
        """Make the n-th HTTP request from now (1-based) fail with ``fault``."""
        if n < 1:
            raise ValueError("n counts from 1 (the next request)")
        with self._lock:
            self._on_request[self._requests_seen + n] = fault

    def on_write(self, n: int, fault: Fault) -> None:
        """Make the n-th write operation from now (1-based, parts of a batch each count) fail."""
        if n < 1:
            raise ValueError("n counts from 1 (the next write)")
        with self._lock:
            self._on_write[self._writes_seen + n] = fault

    def at_random(
        self, rate: float, seed: int, choices: Sequence[Fault], writes_only: bool = True
    ) -> None:
        """Fail each write (or, with ``writes_only=False``, each request) with probability ``rate``.

        The fault is drawn from ``choices``; the same seed and the same order of requests give
        the same faults.
        """
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate is a probability, between 0 and 1")
        if not choices:
            raise ValueError("at_random needs at least one fault to choose from")
        with self._lock:
            self._random = (rate, random.Random(seed), tuple(choices), writes_only)

    def clear(self) -> None:
        """Forget every planned and random fault (hung requests stay hung until ``release``)."""
        with self._lock:
            self._on_request.clear()
            self._on_write.clear()
            self._random = None

    def wait_hung(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a ``commit_then_hang`` request to be hanging."""
        with self._hung_changed:
            return self._hung_changed.wait_for(lambda: self._hung > 0, timeout)

    def release(self) -> None:
        """Let every hung request close (without an answer); later hangs hang again."""
        with self._lock:
            released, self._release = self._release, threading.Event()
        released.set()

    # --- used by the servers -------------------------------------------------------------

    def next_request(self) -> Fault | None:
        """Count one HTTP request; the fault it must suffer, if any."""
        with self._lock:
            self._requests_seen += 1
            fault = self._on_request.pop(self._requests_seen, None)
            if fault is None:
                fault = self._draw(for_writes=False)
            if fault is not None:
                self.fired.append(("request", self._requests_seen, fault))
            return fault

    def next_write(self) -> Fault | None:
        """Count one write operation; the fault it must suffer, if any."""
        with self._lock:
            self._writes_seen += 1
            fault = self._on_write.pop(self._writes_seen, None)
            if fault is None:
                fault = self._draw(for_writes=True)
            if fault is not None:
                self.fired.append(("write", self._writes_seen, fault))
            return fault

    def _draw(self, for_writes: bool) -> Fault | None:
        if self._random is None:
            return None
        rate, rng, choices, writes_only = self._random
        if writes_only != for_writes:
            return None
        if rng.random() < rate:
            return rng.choice(choices)
        return None

    def hang(self) -> None:
        """Block the calling request until ``release()`` (or the emulator stops)."""
        with self._lock:
            released = self._release
            self._hung += 1
            self._hung_changed.notify_all()
        try:
            while not released.wait(0.05):
                if self._stopping.is_set():
                    break
        finally:
            with self._lock:
                self._hung -= 1

    def stall(self, seconds: float) -> None:
        """Sleep ``seconds`` (a ``timeout`` fault), cut short if the emulator stops."""
        self._stopping.wait(seconds)

    def stop(self) -> None:
        """Wake every stalled and hung request: the emulator is stopping."""
        self._stopping.set()
