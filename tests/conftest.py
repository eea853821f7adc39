"""Shared fixtures: bundled packs and schools as named fixtures, and guards on every test."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

import rules
from feedserver import catalog

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "rules" / "data"


@pytest.fixture(autouse=True)
def _no_outbound_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may talk to loopback only; anything else is a bug."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if (
            isinstance(host, str)
            and host not in {"127.0.0.1", "::1", "localhost"}
            and not host.startswith("/")
        ):
            raise RuntimeError(f"test tried to reach {host!r}; only loopback is allowed")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test depends on the developer's own settings."""
    for name in list(os.environ):
        if name.startswith("SENCOCAL_") or name in {"DATABASE_URL", "REDIS_URL", "PUBLIC_BASE_URL"}:
            monkeypatch.delenv(name, raising=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With CI=true a skipped test is a failure: real-service tests must run there."""
    if os.environ.get("CI") != "true":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(
            f"CI=true: {len(skipped)} test(s) were skipped; failing the run.", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def statutory() -> rules.Pack:
    return next(p for p in catalog.builtin_packs() if p.pack == "england-statutory")


@pytest.fixture(scope="session")
def builtin_packs() -> tuple[rules.Pack, ...]:
    return catalog.builtin_packs()


@pytest.fixture(scope="session")
def la_example() -> rules.Pack:
    return catalog.demo_pack("la-example")


@pytest.fixture(scope="session")
def demo_primary() -> rules.SchoolProfile:
    return catalog.demo_school("demo-primary")


@pytest.fixture(scope="session")
def demo_secondary() -> rules.SchoolProfile:
    return catalog.demo_school("demo-secondary")


def load_calendar(name: str) -> rules.SchoolProfile:
    """A school profile from tests/rules/data/calendars/<name>.yaml."""
    path = DATA / "calendars" / f"{name}.yaml"
    return rules.load_profile(path.read_bytes(), path.name)
