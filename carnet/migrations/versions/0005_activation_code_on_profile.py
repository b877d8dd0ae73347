"""the pending activation code lives on the profile's row

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 03:30:00

A profile has at most one code that works (a new letter's code replaces the old; activation
uses it up), so it is kept on ``patients``: importing a million profiles no longer writes a
second table with two indexes in random order. The latest unused code of each created profile
is carried over; the others could no longer be used anyway.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import carnet.db.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CARRY_OVER = """
UPDATE patients SET
    activation_code_hash = (
        SELECT c.code_hash FROM activation_codes c
        WHERE c.patient_id = patients.id AND c.used_at IS NULL
        ORDER BY c.created_at DESC LIMIT 1
    ),
    activation_expires_at = (
        SELECT c.expires_at FROM activation_codes c
        WHERE c.patient_id = patients.id AND c.used_at IS NULL
        ORDER BY c.created_at DESC LIMIT 1
    )
WHERE state = 'created'
"""


def upgrade() -> None:
    op.add_column(
        "patients", sa.Column("activation_code_hash", sa.LargeBinary(length=32), nullable=True)
    )
    op.add_column(
        "patients",
        sa.Column(
            "activation_expires_at", carnet.db.base.UtcDateTime(timezone=True), nullable=True
        ),
    )
    op.execute(_CARRY_OVER)
    op.create_index(
        op.f("ix_patients_activation_code_hash"),
        "patients",
        ["activation_code_hash"],
        unique=True,
    )
    op.drop_table("activation_codes")


def downgrade() -> None:
    op.create_table(
        "activation_codes",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", carnet.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", carnet.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("used_at", carnet.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_activation_codes_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("patient_id", "id", name=op.f("pk_activation_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_activation_codes_code_hash")),
    )
    op.execute(
        "INSERT INTO activation_codes (patient_id, id, code_hash, created_at, expires_at) "
        "SELECT id, id, activation_code_hash, updated_at, activation_expires_at FROM patients "
        "WHERE activation_code_hash IS NOT NULL"
    )
    op.drop_index(op.f("ix_patients_activation_code_hash"), table_name="patients")
    with op.batch_alter_table("patients") as batch:
        batch.drop_column("activation_expires_at")
        batch.drop_column("activation_code_hash")
