"""pack versions remember when each rule last changed, the publisher's note, and rollbacks

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


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("pack_versions", schema=None) as batch_op:
        batch_op.drop_column("rolled_back_from")
        batch_op.drop_column("note")
        batch_op.drop_column("rule_changes")
