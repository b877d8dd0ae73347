"""what became of a notification's e-mail

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-26 09:00:00

A notification e-mail refused for good (5xx) or not taken by the relay in time is given up: the
event is done (the notification centre has it) and ``email_state`` says ``failed``, so that
``carnet mail queue --failed`` can list it for the operator. Events delivered before keep NULL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_state", sa.String(length=10), nullable=True))
        batch_op.create_index(
            "ix_outbox_email_state", ["email_state", "delivered_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_email_state")
        batch_op.drop_column("email_state")
