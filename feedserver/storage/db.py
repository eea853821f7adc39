"""Engines, sessions and migrations: the one place that knows how to reach the database.

A session opened with :meth:`Database.session` is one transaction. Work that must only happen
once that transaction has committed (handing jobs to a queue, so no job ever reads data that
was rolled back or is not visible yet) is registered with :func:`after_commit`: it runs right
after the innermost open transaction commits, and is dropped if it rolls back. With no
transaction open it runs at once.
"""

from __future__ import annotations

import contextvars
import os
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from rules.errors import SencocalInputError

_OPEN: weakref.WeakSet[Any] = weakref.WeakSet()  # DBAPI connections with a socket (PostgreSQL)
_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def _forget_connections_in_child() -> None:
    """After a fork, the child lets go of the parent's database connections.

    rq's worker forks its scheduler (and ``--fork`` workers fork for every job). A child that
    kept the parent's sockets open would keep the parent's session alive on the server after
    the parent died, with its transaction and row locks held until the child exits. Closing
    the descriptors (not the connections: that would end the parent's sessions) prevents it.
    """
    for connection in list(_OPEN):
        try:
            if not connection.closed:
                os.close(connection.fileno())
        except Exception:  # noqa: BLE001, S110 - best effort: the child never uses them
            pass
    _OPEN.clear()
    for engine in list(_ENGINES):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_connections_in_child)


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (SQLite gets foreign keys, WAL and a busy timeout)."""
    if url.startswith("sqlite"):
        memory = url in {"sqlite://", "sqlite:///:memory:"}
        if not memory:  # the default lives in an instance folder that may not exist yet
            path = make_url(url).database
            if path:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=StaticPool if memory else None,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)

    @event.listens_for(engine, "connect")
    def _remember(dbapi_connection: Any, _record: Any) -> None:
        if callable(getattr(dbapi_connection, "fileno", None)):
            _OPEN.add(dbapi_connection)

    _ENGINES.add(engine)
    return engine


_after_commit: contextvars.ContextVar[list[Callable[[], None]] | None] = contextvars.ContextVar(
    "sencocal_after_commit", default=None
)


def after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the innermost open transaction commits (now if none is open)."""
    pending = _after_commit.get()
    if pending is None:
        callback()
    else:
        pending.append(callback)


class Conflict(SencocalInputError):
    """What was asked clashes with what is stored: an id or name already taken (HTTP 409).

    Raised in place of the database's unique violation when two requests race for one id or
    name: the loser hears what to do instead of a 500.
    """


def insert_new(
    session: Session,
    model: type[Any],
    values: dict[str, Any],
    key: list[str],
    where: Any = None,
) -> bool:
    """Insert one row unless its unique ``key`` is taken; True when this call inserted it.

    ``INSERT ... ON CONFLICT (key) [WHERE ...] DO NOTHING``: on PostgreSQL a competing insert
    of the same key waits for the other transaction and then does nothing, so of two requests
    racing for one id or name exactly one inserts, and the other can say so (no unique
    violation, no 500, and the rest of its transaction stays usable). ``where`` names a
    partial unique index's condition.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(model)
        .values(values)
        .on_conflict_do_nothing(index_elements=key, index_where=where)
        .returning(getattr(model, key[0]))  # psycopg's rowcount here is -1: count rows back
    )
    return session.execute(statement).first() is not None


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on any error.

        Callbacks registered with :func:`after_commit` inside it run after the commit.
        """
        pending: list[Callable[[], None]] = []
        token = _after_commit.set(pending)
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
            _after_commit.reset(token)
        for callback in pending:
            callback()

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema up to ``revision`` with Alembic.

        On SQLite, foreign keys are off while migrations run (as Alembic advises for its
        copy-and-move "batch" changes): dropping the old copy of a table that others reference
        with ON DELETE CASCADE would otherwise delete their rows. They are checked afterwards.
        """
        sqlite = self.engine.dialect.name == "sqlite"
        with self.engine.connect() as connection:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()  # a pragma outside any transaction, or it does nothing
            try:
                with connection.begin():
                    cfg = alembic_config(self.url)
                    cfg.attributes["connection"] = connection
                    command.upgrade(cfg, revision)
                    if sqlite:
                        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                        if broken:
                            raise RuntimeError(f"migration left broken references: {broken[:5]}")
            finally:
                if sqlite:
                    connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                    connection.commit()

    def check_ready(self) -> None:
        """Make sure the tables are there and current.

        Raises:
            DatabaseUnavailable: the database cannot be reached.
            DatabaseNotReady: ``sencocal db upgrade`` has not been run for this version.
        """
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        from feedserver import errors

        heads = set(ScriptDirectory.from_config(alembic_config(self.url)).get_heads())
        try:
            with self.engine.connect() as connection:
                current = set(MigrationContext.configure(connection).get_current_heads())
        except Exception as exc:
            raise errors.from_database(exc) or errors.DatabaseUnavailable() from None
        if current != heads:
            raise errors.DatabaseNotReady()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def alembic_config(url: str) -> AlembicConfig:
    """Alembic's config pointed at the migrations inside this package."""
    cfg = AlembicConfig()
    cfg.set_main_option(
        "script_location", str(resources.files("feedserver.storage") / "migrations")
    )
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg
