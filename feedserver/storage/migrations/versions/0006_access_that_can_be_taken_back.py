"""access that can be taken back

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-09 09:00:00

One working feed token per name and feed, held by a partial unique index (two requests at once
both made one). Existing duplicates keep working under a new name ("office 2").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import feedserver.storage.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    _rename_duplicate_live_tokens()
    with op.batch_alter_table("feed_tokens", schema=None) as batch_op:
        batch_op.create_index(
            "uq_feed_tokens_live_name",
            ["feed_id", "name"],
            unique=True,
            postgresql_where=sa.text("revoked_at IS NULL"),
            sqlite_where=sa.text("revoked_at IS NULL"),
        )


def _rename_duplicate_live_tokens() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, feed_id, name FROM feed_tokens WHERE revoked_at IS NULL ORDER BY id")
    ).all()
    taken: dict[int, set[str]] = {}
    for row in rows:
        taken.setdefault(row.feed_id, set()).add(row.name)
    kept: set[tuple[int, str]] = set()
    for row in rows:
        names = taken[row.feed_id]
        if (row.feed_id, row.name) not in kept:
            kept.add((row.feed_id, row.name))
            continue
        n = 2
        while f"{row.name[:55]} {n}" in names:
            n += 1
        new = f"{row.name[:55]} {n}"
        names.add(new)
        bind.execute(
            sa.text("UPDATE feed_tokens SET name = :n WHERE id = :i"), {"n": new, "i": row.id}
        )


def downgrade() -> None:
    """Undo this migration."""
    with op.batch_alter_table("feed_tokens", schema=None) as batch_op:
        batch_op.drop_index("uq_feed_tokens_live_name")
