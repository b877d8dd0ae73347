"""submission sets and PDSm metadata as submitted

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-30 08:30:00

Issue 16: a FHIR ``List`` (the IHE SubmissionSet) is resolvable, so each document keeps the id of
the submission set it came in; PDSm metadata Carnet does not decide on (author as submitted,
format, facility type, practice setting, language, entryUUID, sourcePatientInfo) is kept as
submitted and returned. Documents stored before keep NULL in both.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submission_set_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("submitted", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("submitted")
        batch_op.drop_column("submission_set_id")
