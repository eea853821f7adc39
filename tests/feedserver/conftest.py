"""Feed-server fixtures: an app on SQLite or PostgreSQL, with jobs in-process or on Redis.

PostgreSQL: each test run creates ``sencocal_test_<random>`` on the local server (trust auth) and
drops it at the end; tests empty the tables after themselves. Set ``TEST_POSTGRES_ADMIN_URL`` to
use another server. Redis: each run claims a database index of its own on the local server (set
``TEST_REDIS_URL`` for another), flushes it around every test and at the end. Without PostgreSQL
or Redis their tests skip, which fails the run under CI.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from feedserver import catalog, create_app
from feedserver.clock import FixedClock
from feedserver.config import Config
from feedserver.storage import apikeys
from feedserver.storage.models import Base

ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(ADMIN_URL)
    name = f"sencocal_test_{uuid.uuid4().hex[:12]}"
    conninfo = (
        f"host={admin.host} port={admin.port or 5432} user={admin.username} dbname={admin.database}"
    )
    try:
        conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {admin.host}:{admin.port}: {exc}")
    with conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
CLAIM = "sencocal-test-run"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis database index this run has to itself, flushed at the end."""
    import redis

    run = uuid.uuid4().hex
    for index in range(1, 16):
        client = redis.Redis.from_url(f"{REDIS_URL}/{index}", socket_connect_timeout=3)
        try:
            claimed = client.set(CLAIM, run, nx=True, ex=6 * 3600)
        except redis.ConnectionError as exc:
            pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
        if claimed:
            break
        client.close()
    else:
        pytest.fail("every Redis database index 1-15 is claimed by another test run")
    try:
        yield f"{REDIS_URL}/{index}"
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def redis_db(redis_url: str) -> Iterator[Any]:
    """A Redis client on this run's database, flushed before and after the test."""
    import redis

    client = redis.Redis.from_url(redis_url)
    run = client.get(CLAIM)
    client.flushdb()
    client.set(CLAIM, run or b"", ex=6 * 3600)
    try:
        yield client
    finally:
        client.flushdb()
        client.set(CLAIM, run or b"", ex=6 * 3600)
        client.close()


@pytest.fixture
def empty_postgres_url(postgres_url: str) -> Iterator[str]:
    """Another empty PostgreSQL database, for migrations from an older schema."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(ADMIN_URL)
    name = f"{make_url(postgres_url).database}_m{uuid.uuid4().hex[:6]}"
    conninfo = (
        f"host={admin.host} port={admin.port or 5432} user={admin.username} dbname={admin.database}"
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Server:
    """An app with a fixed clock and an admin key, ready for requests."""

    app: Flask
    client: FlaskClient
    clock: FixedClock
    admin_key: str

    @property
    def services(self) -> Any:
        return self.app.extensions["sencocal"]

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.admin_key}"}

    def publish(self, text_: str, filename: str = "pack.yaml") -> Any:
        return self.client.post(
            f"/api/packs?filename={filename}",
            data=text_,
            headers={**self.headers(), "Content-Type": "application/yaml"},
        )

    def add_demo_school(self, name: str = "demo-primary") -> Any:
        profile = catalog.demo_school(name).model_dump(mode="json")
        return self.client.post("/api/schools", json=profile, headers=self.headers())

    def new_feed(
        self, school: str, audience: str, token_name: str = "default", key: str | None = None
    ) -> str:
        answer = self.client.post(
            f"/api/schools/{school}/feeds",
            json={"audience": audience, "token_name": token_name},
            headers=self.headers(key),
        )
        assert answer.status_code == 201, answer.json
        return "/" + str(answer.json["url"]).split("/", 3)[3]

    def school_key(self, school: str) -> str:
        answer = self.client.post(
            f"/api/schools/{school}/keys", json={"label": "test"}, headers=self.headers()
        )
        assert answer.status_code == 201, answer.json
        return str(answer.json["key"])


def _server(
    url: str, tmp_path: Any, redis_url: str | None = None, extra: dict[str, str] | None = None
) -> Iterator[Server]:
    settings = {"DATABASE_URL": url, "SENCOCAL_FEED_CACHE_SECONDS": "0", **(extra or {})}
    if redis_url:
        settings["REDIS_URL"] = redis_url
    config = Config.from_mapping(settings, tmp_path)
    clock = FixedClock(NOW)
    app = create_app(config, clock=clock)
    svc = app.extensions["sencocal"]
    svc.db.upgrade()
    with svc.db.session() as session:
        key = apikeys.create_key(session, "admin", clock.now(), label="test admin")
    try:
        yield Server(app, app.test_client(), clock, key)
    finally:
        with svc.db.engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(text(f'DELETE FROM "{table.name}"'))
        svc.close()


@pytest.fixture
def server(tmp_path: Any) -> Iterator[Server]:
    """The app on a fresh SQLite file."""
    yield from _server(f"sqlite:///{tmp_path / 'test.db'}", tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_server(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Server]:
    """The app on SQLite, then on PostgreSQL (storage tests run on both)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    yield from _server(url, tmp_path)


@pytest.fixture
def demo_server(server: Server) -> Server:
    """The SQLite app with the example LA pack and both demo schools."""
    la = catalog.demo_file("la-example").decode("utf-8")
    assert server.publish(la, "la-example.yaml").status_code == 201
    for name in ("demo-primary", "demo-secondary"):
        assert server.add_demo_school(name).status_code == 201
    return server
