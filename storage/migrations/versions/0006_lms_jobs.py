"""lms jobs

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lms_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_lms_jobs_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_lms_jobs_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["people.id"], name=op.f("fk_lms_jobs_staff_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lms_jobs")),
    )
    op.create_index("ix_lms_jobs_pending", "lms_jobs", ["status", "id"])
    op.create_index(op.f("ix_lms_jobs_ticket_id"), "lms_jobs", ["ticket_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_lms_jobs_ticket_id"), table_name="lms_jobs")
    op.drop_index("ix_lms_jobs_pending", table_name="lms_jobs")
    op.drop_table("lms_jobs")
