"""a pro's emergency access is told once per episode; the authenticator-app second factor

Revision ID: 0015
Revises: 0013
Create Date: 2026-11-30 09:00:00

Issue 15 finding 9: each reload of an emergency reader's page notified the patient again.
``care_relations.emergency_notified_at`` keeps when the patient was last told of this pro's
emergency access; within ``EMERGENCY_NOTICE_EPISODE`` no new notification is queued (every
read is still traced and shown in the history). ``login_guards`` gains the authenticator
app's secret (pending while set up, then confirmed), the last time step used and the recovery
codes' hashes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import carnet.db.base

revision: str = "0015"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("care_relations") as batch:
        batch.add_column(
            sa.Column(
                "emergency_notified_at", carnet.db.base.UtcDateTime(timezone=True), nullable=True
            )
        )

    with op.batch_alter_table("login_guards") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(64), nullable=True))
        batch.add_column(sa.Column("totp_pending", sa.String(64), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("recovery_hashes", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("login_guards") as batch:
        for column in ("recovery_hashes", "totp_last_step", "totp_pending", "totp_secret"):
            batch.drop_column(column)
    with op.batch_alter_table("care_relations") as batch:
        batch.drop_column("emergency_notified_at")
