"""traces say why; a document's unique id is unique per author

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 05:00:00

``traces.why`` names the rule that let an act through or refused it (``access.rules.Why``); older
traces keep NULL and hash as before. A producer's unique id is unique per author within a
record: resending it is idempotent for its author, and another pro's upload can no longer learn
from a refusal that some document of this record carries that id.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("traces", sa.Column("why", sa.String(length=40), nullable=True))
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_constraint("uq_documents_patient_unique_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_documents_patient_author_unique_id", ["patient_id", "author_id", "unique_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_constraint("uq_documents_patient_author_unique_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_documents_patient_unique_id", ["patient_id", "unique_id"]
        )
    with op.batch_alter_table("traces", schema=None) as batch_op:
        batch_op.drop_column("why")
