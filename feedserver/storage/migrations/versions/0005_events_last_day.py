"""events keep their last day

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 12:00:00

The diff decides what is past from each stored event's last day; keeping it in a column lets
a refresh read hashes and dates instead of every event's body.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_day", sa.Date(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE events SET last_day = CASE WHEN (body->>'all_day')::boolean "
            "THEN (body->>'end')::date - 1 ELSE ((body->>'end')::timestamptz "
            "AT TIME ZONE 'Europe/London')::date END"
        )
    else:  # SQLite: all-day ends are dates (exclusive); timed ends carry their London offset
        op.execute(
            "UPDATE events SET last_day = CASE WHEN json_extract(body, '$.all_day') "
            "THEN date(json_extract(body, '$.end'), '-1 day') "
            "ELSE substr(json_extract(body, '$.end'), 1, 10) END"
        )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.alter_column("last_day", existing_type=sa.Date(), nullable=False)


def downgrade() -> None:
    """Undo this migration."""
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("last_day")
