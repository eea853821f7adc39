"""Migration 0006 (access that can be taken back) on rows written by 0005."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from feedserver.storage.db import Database
from tests.feedserver.conftest import NOW


def _duplicate_live_tokens_upgraded(url: str) -> list[tuple[str, bool]]:
    db = Database(url)
    db.upgrade("0005")
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO schools (id, name, la_code, profile, profile_hash, created_at,"
                " updated_at, warnings) VALUES ('s', 'S', '999', '{}', 'x', :t, :t, '{}')"
            ),
            {"t": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO feeds (id, school_id, audience, event_count, created_at)"
                " VALUES (1, 's', 'slt', 0, :t)"
            ),
            {"t": NOW},
        )
        for i, (name, revoked) in enumerate(
            [
                ("office", False),
                ("office", False),
                ("office", True),
                ("office 2", False),
                ("office", False),
            ]  # fmt: skip
        ):
            conn.execute(
                text(
                    "INSERT INTO feed_tokens (feed_id, name, token_hash, created_at, revoked_at)"
                    " VALUES (1, :n, :h, :t, :r)"
                ),
                {"n": name, "h": f"h{i}", "t": NOW, "r": NOW if revoked else None},
            )
    db.upgrade()
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT name, revoked_at IS NULL FROM feed_tokens ORDER BY id")
        ).all()
    db.dispose()
    return [(name, bool(live)) for name, live in rows]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_duplicate_working_token_names_are_renamed_and_keep_working(database, tmp_path, request):
    url = (
        f"sqlite:///{tmp_path / 'old.db'}"
        if database == "sqlite"
        else request.getfixturevalue("empty_postgres_url")
    )
    assert _duplicate_live_tokens_upgraded(url) == [
        ("office", True),
        ("office 3", True),
        ("office", False),
        ("office 2", True),
        ("office 4", True),
    ]
