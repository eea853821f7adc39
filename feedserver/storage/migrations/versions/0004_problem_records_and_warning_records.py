"""problem records; warnings stored as records

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:00:00

Warnings used to be stored as sentences. They are records now, so the old sentences are
dropped and every school is marked for re-evaluation (the next refresh stores the records).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import feedserver.storage.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "problems",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=60), nullable=False),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("school_id", sa.String(length=60), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_at", feedserver.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", feedserver.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "subject"),
    )
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_problems_school_id"), ["school_id"], unique=False)
    schools = sa.table(
        "schools",
        sa.column("warnings", sa.JSON()),
        sa.column("evaluated_fingerprint", sa.String()),
    )
    op.execute(schools.update().values(warnings={"items": []}, evaluated_fingerprint=None))


def downgrade() -> None:
    """Undo this migration (the next refresh stores warnings again)."""
    schools = sa.table(
        "schools",
        sa.column("warnings", sa.JSON()),
        sa.column("evaluated_fingerprint", sa.String()),
    )
    op.execute(schools.update().values(warnings={"items": []}, evaluated_fingerprint=None))
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_problems_school_id"))
    op.drop_table("problems")
