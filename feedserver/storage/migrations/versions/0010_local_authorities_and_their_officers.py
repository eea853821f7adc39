"""local authorities, their officers and keys; what each person has seen of "What changed"

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 16:00:00

An LA's officers and API keys have the ``la`` scope (an LA code); people and keys remember when
they last looked at a school's "What changed" page. (On SQLite the batch copy runs with foreign
keys off: see ``Database.upgrade``.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from feedserver.storage.models import UTCDateTime


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "local_authorities",
        sa.Column("code", sa.String(length=3), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    for table in ("users", "api_keys"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("la_code", sa.String(length=3), nullable=True))
            batch_op.add_column(sa.Column("changes_seen_at", UTCDateTime(), nullable=True))
            batch_op.create_foreign_key(
                f"fk_{table}_la_code", "local_authorities", ["la_code"], ["code"],
                ondelete="CASCADE",
            )  # fmt: skip
            batch_op.create_index(f"ix_{table}_la_code", ["la_code"])


def downgrade() -> None:
    """Revert this migration."""
    for table in ("users", "api_keys"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_la_code")
            batch_op.drop_constraint(f"fk_{table}_la_code", type_="foreignkey")
            batch_op.drop_column("changes_seen_at")
            batch_op.drop_column("la_code")
    op.drop_table("local_authorities")
