"""log-in failures counted per source; the authenticator app's secret sealed

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 11:30:00

Issue 15: five wrong passwords locked a person's account for everyone, so whoever knew her INS
could keep her out. ``login_sources`` counts failures per source — a browser that completed a
log-in before, or a client address (a keyed hash, never the address) — and locks that source
alone; ``login_guards.failures`` now counts the unknown sources together, under a higher limit.
The authenticator app's secret is sealed with the person's data key: the columns grow to hold
the sealed form (a secret stored in clear before this migration is read as such and sealed the
next time it is set up).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import carnet.db.base
from carnet.db.citus import distribute_table
from carnet.db.roles import apply_roles

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_sources",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", carnet.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", carnet.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", carnet.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.PrimaryKeyConstraint("patient_id", "id"),
    )
    distribute_table(op.get_bind(), "login_sources")
    with op.batch_alter_table("login_guards") as batch:
        batch.alter_column("totp_secret", type_=sa.Text(), existing_type=sa.String(64))
        batch.alter_column("totp_pending", type_=sa.Text(), existing_type=sa.String(64))
    apply_roles(op.get_bind())  # a fresh database was migrated as the login: the owner's now


def downgrade() -> None:
    with op.batch_alter_table("login_guards") as batch:
        batch.alter_column("totp_pending", type_=sa.String(64), existing_type=sa.Text())
        batch.alter_column("totp_secret", type_=sa.String(64), existing_type=sa.Text())
    op.drop_table("login_sources")
