"""LA publishing: per-rule change dates, notes and rollbacks on pack versions; dry runs; what changed

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-03 14:00:00

Events say when their publisher last changed their rule; the date is worked out once per rule at
publish time, so a republication leaves unchanged rules' events byte for byte as they were.
Versions published before this migration count as changed on the day they were published.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from feedserver.storage.models import UTCDateTime


revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    # Plain ADD COLUMN with a default (no table copy): on SQLite a batch copy of a table that
    # others reference with ON DELETE CASCADE would delete their rows when the old one is dropped.
    op.add_column(
        "pack_versions", sa.Column("rule_changes", sa.JSON(), nullable=False, server_default="{}")
    )
    op.add_column("pack_versions", sa.Column("note", sa.Text(), nullable=False, server_default=""))
    op.add_column("pack_versions", sa.Column("rolled_back_from", sa.Integer(), nullable=True))
    op.create_table(
        "dry_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("la_code", sa.String(length=3), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dry_runs_la_code", "dry_runs", ["la_code"])
    op.add_column(
        "schools", sa.Column("evaluated_packs", sa.JSON(), nullable=False, server_default="{}")
    )
    op.create_table(
        "event_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(length=60), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("uid", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("pack", sa.String(length=60), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("old_start", sa.Date(), nullable=True),
        sa.Column("new_start", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_event_changes_school_at", "event_changes", ["school_id", "at"])


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_event_changes_school_at", table_name="event_changes")
    op.drop_table("event_changes")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+, PostgreSQL): no table copy, see upgrade()
    op.execute("ALTER TABLE schools DROP COLUMN evaluated_packs")
    op.drop_index("ix_dry_runs_la_code", table_name="dry_runs")
    op.drop_table("dry_runs")
    for column in ("rolled_back_from", "note", "rule_changes"):
        op.execute(f"ALTER TABLE pack_versions DROP COLUMN {column}")
