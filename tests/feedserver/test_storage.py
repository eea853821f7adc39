"""Storage on SQLite and on a real PostgreSQL: migrations, round trips, secrets never in clear."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text

from feedserver import catalog
from feedserver.storage.models import ApiKey, Base, EventRow, Feed, FeedToken, School
from tests.feedserver.conftest import NOW, Server


def test_migrations_create_exactly_the_models_tables(any_server: Server):
    engine = any_server.services.db.engine
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    tables = set(inspect(engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables


def test_upgrading_twice_is_harmless(any_server: Server):
    any_server.services.db.upgrade()
    any_server.services.db.upgrade()


def test_a_school_round_trips_with_its_events_and_feeds(any_server: Server):
    assert (
        any_server.publish(catalog.demo_file("la-example").decode(), "la-example.yaml").status_code
        == 201
    )
    assert any_server.add_demo_school().status_code == 201
    path = any_server.new_feed("demo-primary", "senco")
    body = any_server.client.get(path)
    assert body.status_code == 200
    with any_server.services.db.session() as s:
        school = s.get(School, "demo-primary")
        assert school is not None and school.profile["la_code"] == "999"
        assert school.evaluated_at == NOW and school.evaluated_at.tzinfo is not None
        count = s.scalar(select(text("count(*)")).select_from(EventRow))
        assert count > 300
        feed = s.scalars(select(Feed)).one()
        assert gzip.decompress(feed.ics_gzip) == body.data and feed.etag == body.headers["ETag"]


def test_the_same_inputs_give_the_same_bytes_on_every_database(any_server: Server):
    any_server.publish(catalog.demo_file("la-example").decode(), "la-example.yaml")
    any_server.add_demo_school()
    data = any_server.client.get(any_server.new_feed("demo-primary", "senco")).data
    golden = (Path(__file__).parent / "golden" / "demo-primary-senco-2026-11-23.ics").read_bytes()
    assert data == golden


def test_secrets_are_stored_only_as_hashes(any_server: Server):
    any_server.publish(catalog.demo_file("la-example").decode(), "la-example.yaml")
    any_server.add_demo_school()
    token = (
        any_server.new_feed("demo-primary", "senco").removeprefix("/feeds/").removesuffix(".ics")
    )
    school_key = any_server.school_key("demo-primary")
    assert len(token) >= 32  # 192 bits, url-safe
    engine = any_server.services.db.engine
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                flat = " ".join(str(v) for v in row)
                assert (
                    token not in flat
                    and school_key not in flat
                    and any_server.admin_key not in flat
                ), table.name
    with any_server.services.db.session() as s:
        assert len(s.scalars(select(FeedToken.token_hash)).one()) == 64
        assert {k.role for k in s.scalars(select(ApiKey))} == {"admin", "school"}


def test_removing_a_school_removes_its_feeds_tokens_and_events(any_server: Server):
    any_server.publish(catalog.demo_file("la-example").decode(), "la-example.yaml")
    any_server.add_demo_school()
    any_server.new_feed("demo-primary", "slt")
    with any_server.services.db.session() as s:
        s.delete(s.get(School, "demo-primary"))
    with any_server.services.db.session() as s:
        for model in (Feed, FeedToken, EventRow):
            assert s.scalars(select(model)).first() is None, model.__name__


def test_times_come_back_as_utc_whatever_the_database(any_server: Server):
    later = dt.datetime(2027, 3, 28, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    any_server.clock.at = later
    any_server.publish(catalog.demo_file("la-example").decode(), "la-example.yaml")
    with any_server.services.db.session() as s:
        from feedserver.storage.models import PackVersion

        version = s.scalars(select(PackVersion)).one()
        assert version.created_at == later and version.created_at.utcoffset() == dt.timedelta(0)


def _migrated_from_0004(url: str) -> dict[str, object]:
    """Rows written by revision 0004 (before events kept their last day), upgraded to head."""
    import json

    from feedserver.storage.db import Database

    db = Database(url)
    db.upgrade("0004")
    bodies = {
        "all-day": {"all_day": True, "start": "2027-02-05", "end": "2027-02-06"},
        "window": {"all_day": True, "start": "2027-05-10", "end": "2027-05-15"},
        "timed": {
            "all_day": False,
            "start": "2026-10-05T15:45:00+01:00",
            "end": "2026-10-05T17:00:00+01:00",
        },
    }
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO schools (id, name, la_code, profile, profile_hash, created_at,"
                " updated_at, warnings) VALUES ('s', 'S', '999', '{}', 'x', :t, :t, '{}')"
            ),
            {"t": NOW},
        )
        for uid, body in bodies.items():
            conn.execute(
                text(
                    "INSERT INTO events (school_id, uid, academic_year, content_hash, sequence,"
                    " body, active, first_seen, last_modified)"
                    " VALUES ('s', :uid, 2026, 'h', 0, :body, true, :t, :t)"
                ),
                {"uid": uid, "body": json.dumps(body), "t": NOW},
            )
    db.upgrade()
    with db.engine.connect() as conn:
        found = dict(conn.execute(text("SELECT uid, last_day FROM events")).all())
    db.dispose()
    return {uid: str(day)[:10] for uid, day in found.items()}


EXPECTED_LAST_DAYS = {"all-day": "2027-02-05", "window": "2027-05-14", "timed": "2026-10-05"}


def test_upgrading_stored_events_backfills_their_last_day_on_sqlite(tmp_path):
    assert _migrated_from_0004(f"sqlite:///{tmp_path / 'old.db'}") == EXPECTED_LAST_DAYS


def test_upgrading_stored_events_backfills_their_last_day_on_postgresql(empty_postgres_url):
    assert _migrated_from_0004(empty_postgres_url) == EXPECTED_LAST_DAYS


def test_upgrading_to_la_scopes_keeps_peoples_sign_in_links_on_sqlite(tmp_path):
    """0010 copies the users table on SQLite: the links that cascade from it must survive."""
    from feedserver.storage.db import Database

    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    db.upgrade("0009")
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, name, email, role, created_at)"
                " VALUES (1, 'Ann', '', 'admin', :t)"
            ),
            {"t": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO sign_in_links (token_hash, user_id, created_at, expires_at)"
                " VALUES ('h', 1, :t, :t)"
            ),
            {"t": NOW},
        )
    db.upgrade()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sign_in_links")).scalar() == 1
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1  # back on for the app
    db.dispose()
