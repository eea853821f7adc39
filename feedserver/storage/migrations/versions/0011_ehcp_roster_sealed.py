"""a school's EHCP roster, sealed with the server's key set

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 16:30:00

One row per school holding its pupils' pseudonymous references and review dates encrypted
(Fernet, ``SENCOCAL_ENCRYPTION_KEYS``), with the roster's fingerprint and pupil count in clear.
Deleted with its school.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from feedserver.storage.models import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "ehcp_rosters",
        sa.Column("school_id", sa.String(length=60), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("pupils", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name="fk_ehcp_rosters_school_id", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("school_id"),
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("ehcp_rosters")
