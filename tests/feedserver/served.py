"""The app served for real: gunicorn (deploy/gunicorn.conf.py) with several worker processes.

Race tests need more than one process answering at once against one PostgreSQL database, as
in production; the Flask test client runs one request at a time in the test's own process.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

SECRET_KEY = "served-test-secret-key-" + "k" * 16


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on just now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    """A running gunicorn: its base URL and its log file."""

    base_url: str
    log: Path

    def url(self, path: str) -> str:
        return self.base_url + path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def gunicorn(
    database_url: str,
    tmp_path: Path,
    workers: int = 2,
    env: dict[str, str] | None = None,
    port: int | None = None,
    migrate: bool = False,
) -> Iterator[Served]:
    """Serve ``feedserver.wsgi:app`` with ``workers`` processes on ``database_url``.

    ``migrate`` creates the tables first (a fresh database).
    """
    if migrate:
        from feedserver.storage.db import Database

        db = Database(database_url)
        db.upgrade()
        db.dispose()
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PUBLIC_BASE_URL": base_url,
        "SECRET_KEY": SECRET_KEY,
        "SENCOCAL_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "SENCOCAL_FEED_CACHE_SECONDS": "0",
        **(env or {}),
    }
    log = tmp_path / f"gunicorn-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy/gunicorn.conf.py"),
             "feedserver.wsgi:app"],
            env=settings, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            _wait_until_up(base_url, proc, log)
            yield Served(base_url, log)
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _wait_until_up(base_url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (OSError, urllib.error.HTTPError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)


def all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call on its own thread, released together by a barrier; their results in order.

    Prepare each call first (sign in, read a form's CSRF token), so that what the calls do
    reaches the server as close together as threads allow.
    """
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(10)
            results[i] = calls[i]()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if errors:
        raise errors[0]
    return results
