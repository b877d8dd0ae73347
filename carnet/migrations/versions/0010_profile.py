"""the medical profile: entries, measures, vaccinations, reimbursed care, entourage, directives

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-30 06:00:00

PRF-1: one table per kind of row, each keyed (patient_id, id) like every patient table, with
the index its reads use (a section's entries; a measure's points in time; the care by day).
Deleted whole at closing (PRF-2, LC-5: profile.service.delete_profile).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import carnet.db.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "profile_care_lines",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("care_date", sa.Date(), nullable=False),
        sa.Column("act", sa.String(length=30), nullable=False),
        sa.Column("rpps", sa.String(length=11), nullable=True),
        sa.Column("finess", sa.String(length=9), nullable=True),
        sa.Column("pharmacy_finess", sa.String(length=9), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("vaccine", sa.String(length=20), nullable=True),
        sa.Column("secret", sa.Boolean(), nullable=False),
        sa.Column("imported_at", carnet.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_profile_care_lines_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("patient_id", "id", name=op.f("pk_profile_care_lines")),
    )
    with op.batch_alter_table("profile_care_lines", schema=None) as batch_op:
        batch_op.create_index(
            "ix_profile_care_lines_patient_day", ["patient_id", "care_date"], unique=False
        )

    op.create_table(
        "profile_contacts",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("first_names", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("relationship", sa.String(length=10), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("author_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", carnet.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", carnet.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_profile_contacts_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("patient_id", "id", name=op.f("pk_profile_contacts")),
    )
    op.create_table(
        "profile_directives",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("answers", sa.Text(), nullable=True),
        sa.Column("key_id", sa.String(length=32), nullable=True),
        sa.Column("file_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("file_size", sa.Integer(), nullable=True),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("written_on", sa.Date(), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", carnet.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", carnet.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_profile_directives_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("patient_id", "id", name=op.f("pk_profile_directives")),
    )
    op.create_table(
        "profile_entries",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("section", sa.String(length=30), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=True),
        sa.Column("criticality", sa.String(length=20), nullable=True),
        sa.Column("relation", sa.String(length=10), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("author_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", carnet.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", carnet.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_profile_entries_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("patient_id", "id", name=op.f("pk_profile_entries")),
    )
    with op.batch_alter_table("profile_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_profile_entries_patient_section", ["patient_id", "section"], unique=False
        )

    op.create_table(
        "profile_measures",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("value2", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("measured_at", carnet.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", carnet.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_profile_measures_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("patient_id", "id", name=op.f("pk_profile_measures")),
    )
    with op.batch_alter_table("profile_measures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_profile_measures_patient_code_at",
            ["patient_id", "code", "measured_at"],
            unique=False,
        )

    op.create_table(
        "profile_vaccinations",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("vaccine", sa.String(length=20), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("dose", sa.Integer(), nullable=True),
        sa.Column("lot", sa.String(length=40), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", carnet.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", carnet.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_profile_vaccinations_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("patient_id", "id", name=op.f("pk_profile_vaccinations")),
    )
    with op.batch_alter_table("profile_vaccinations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_profile_vaccinations_patient_given", ["patient_id", "given_on"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("profile_vaccinations", schema=None) as batch_op:
        batch_op.drop_index("ix_profile_vaccinations_patient_given")

    op.drop_table("profile_vaccinations")
    with op.batch_alter_table("profile_measures", schema=None) as batch_op:
        batch_op.drop_index("ix_profile_measures_patient_code_at")

    op.drop_table("profile_measures")
    with op.batch_alter_table("profile_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_profile_entries_patient_section")

    op.drop_table("profile_entries")
    op.drop_table("profile_directives")
    op.drop_table("profile_contacts")
    with op.batch_alter_table("profile_care_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_profile_care_lines_patient_day")

    op.drop_table("profile_care_lines")
