"""patients.activation_code_hash loses its index: codes are found through ``pending_codes``

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 06:30:00

Issue 18: since migration 0017 a pending activation code is found, and kept unique, by the
look-up keyed by its hash (``pending_codes``); nothing searches ``patients`` by the hash any
more. Its index (unique on SQLite and PostgreSQL, plain on Citus) was still written with every
new profile: a random 32-byte key per row, a third of the server's work when the population feed
creates profiles. The column stays: the profile's row says which code is pending.
"""

from collections.abc import Sequence

from alembic import op

from carnet.db.roles import has_citus

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_patients_activation_code_hash", table_name="patients")


def downgrade() -> None:
    bind = op.get_bind()
    citus = bind.dialect.name == "postgresql" and has_citus(bind)
    op.create_index(
        "ix_patients_activation_code_hash",
        "patients",
        ["activation_code_hash"],
        unique=not citus,  # a distributed table's unique index must include its id (0017)
    )
