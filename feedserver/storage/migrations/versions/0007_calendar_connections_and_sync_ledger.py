"""calendar connections and the sync ledger

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:00:00

A school's Google or Microsoft 365 calendars that an audience is pushed into, and per event
what we last wrote there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from feedserver.storage.models import UTCDateTime


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "connections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(length=60), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("tag", sa.String(length=40), nullable=False),
        sa.Column("auth_kind", sa.String(length=20), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("calendar_id", sa.String(length=1100), nullable=True),
        sa.Column("calendar_name", sa.String(length=200), nullable=False),
        sa.Column("dedicated", sa.Boolean(), nullable=False),
        sa.Column("share_with", sa.JSON(), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("stop_reason", sa.String(length=40), nullable=True),
        sa.Column("waiting", sa.JSON(), nullable=False),
        sa.Column("last_sync_at", UTCDateTime(), nullable=True),
        sa.Column("last_result", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tag"),
    )
    op.create_index("ix_connections_school_id", "connections", ["school_id"])
    op.create_table(
        "sync_ledger",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("identity", sa.String(length=300), nullable=False),
        sa.Column("remote_id", sa.String(length=1100), nullable=False),
        sa.Column("content_hash", sa.String(length=40), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("synced_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("connection_id", "key"),
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("sync_ledger")
    op.drop_index("ix_connections_school_id", table_name="connections")
    op.drop_table("connections")
