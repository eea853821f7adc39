"""pack versions remember when each rule last changed, the publisher's note, and rollbacks; dry runs

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
    with op.batch_alter_table("pack_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rule_changes", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("rolled_back_from", sa.Integer(), nullable=True))
    op.execute("UPDATE pack_versions SET rule_changes = '{}', note = ''")
    with op.batch_alter_table("pack_versions", schema=None) as batch_op:
        batch_op.alter_column("rule_changes", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("note", existing_type=sa.Text(), nullable=False)
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


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_dry_runs_la_code", table_name="dry_runs")
    op.drop_table("dry_runs")
    with op.batch_alter_table("pack_versions", schema=None) as batch_op:
        batch_op.drop_column("rolled_back_from")
        batch_op.drop_column("note")
        batch_op.drop_column("rule_changes")
