"""a pro's portal session keeps the ID token, for the log-out at the provider

Revision ID: 0009
Revises: 0005
Create Date: 2026-11-26 10:00:00

OpenID Connect RP-Initiated Logout sends the ID token back as ``id_token_hint``: the provider
then knows whose session to end. Sessions opened before this migration (or in demo mode) have
none; their log-out stays local.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pro_sessions") as batch:
        batch.add_column(sa.Column("id_token", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pro_sessions") as batch:
        batch.drop_column("id_token")
