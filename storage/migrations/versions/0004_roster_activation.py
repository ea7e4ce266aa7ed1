"""roster for account activation and activation codes

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roster_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("programme", sa.String(length=200), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("linked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("imported_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_roster_entries_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_entries")),
        sa.UniqueConstraint("number", name=op.f("uq_roster_entries_number")),
    )
    op.create_index(
        op.f("ix_roster_entries_person_id"), "roster_entries", ["person_id"], unique=False
    )
    op.create_table(
        "activation_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("roster_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_activation_codes_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["roster_id"],
            ["roster_entries.id"],
            name=op.f("fk_activation_codes_roster_id_roster_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activation_codes")),
    )
    op.create_index(
        op.f("ix_activation_codes_roster_id"), "activation_codes", ["roster_id"], unique=False
    )
    op.create_index(
        "ix_activation_codes_person_created",
        "activation_codes",
        ["person_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_activation_codes_person_created", table_name="activation_codes")
    op.drop_index(op.f("ix_activation_codes_roster_id"), table_name="activation_codes")
    op.drop_table("activation_codes")
    op.drop_index(op.f("ix_roster_entries_person_id"), table_name="roster_entries")
    op.drop_table("roster_entries")
