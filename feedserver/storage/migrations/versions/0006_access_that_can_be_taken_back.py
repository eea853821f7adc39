"""access that can be taken back

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-09 09:00:00

- Page sessions kept on the server (``sessions``), so signing out ends them.
- When each API key and feed token was last used (to about ten minutes), and sign-in links
  that the admin cancelled.
- One working feed token per name and feed, held by a partial unique index (two requests at
  once both made one). Existing duplicates keep working under a new name ("office 2").
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
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("key_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", feedserver.storage.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "expires_at", feedserver.storage.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "last_seen_at", feedserver.storage.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("ended_at", feedserver.storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_hash"),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sessions_key_id"), ["key_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sessions_user_id"), ["user_id"], unique=False)
    when = feedserver.storage.models.UTCDateTime(timezone=True)
    for table, column in (("api_keys", "last_used_at"), ("feed_tokens", "last_used_at"),
                          ("sign_in_links", "cancelled_at")):  # fmt: skip
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, when, nullable=True))
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
    for table, column in (("api_keys", "last_used_at"), ("feed_tokens", "last_used_at"),
                          ("sign_in_links", "cancelled_at")):  # fmt: skip
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(column)
    op.drop_table("sessions")
