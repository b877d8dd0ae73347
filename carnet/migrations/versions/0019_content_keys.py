"""documents.content_key: each new document's bytes sealed under a key of their own

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 19:20:00

Issue 18: an upload sealed its bytes under the patient's data key, so it could only start
writing them once the database had answered. A document's content now has a key of its own,
made when the upload arrives; the bytes are sealed and written at once, while the gate decides,
and the row keeps that key sealed under the patient's data key (``key_id``). Destroying the data
key still makes the content unreadable (LC-5). Documents stored before keep NULL: sealed under
the data key itself, read as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("content_key", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("content_key")
