"""the profile's whole life: requests, exports, certificates, doomed blobs, statements, job
runs; the profile's archive dates; documents' delay; the one sanctioned deletion of traces

Revision ID: 0011
Revises: 0008
Create Date: 2026-11-30 06:00:00

LC-5 destroys a closed profile's archives, its traces included; TR-3 keeps the log verifiable.
The database allows exactly one way to delete traces, and refuses every other:

- a chain may be *cut* (``chain_cuts``, append-only) only at its head (``trace_heads``: the
  cut covers the whole chain as it stands), once its salt is forgotten, for a closed or opposed
  profile, and with none of its traces still waiting for the tree (``log_queue``);
- a trace may then be deleted only if a cut covers it, its chain's salt is forgotten and its
  leaf is in the tree: the leaves stay, so every signed head still checks, and ``verify-log``
  walks the rest of the chain from the cut's hash;
- on PostgreSQL the application's role still has no ``DELETE`` on ``traces``: it calls
  ``carnet_destroy_chain(patient)``, a ``SECURITY DEFINER`` function owned by the owner role,
  which deletes what the cut covers (the trigger above checks each row again). ``UPDATE`` and
  ``TRUNCATE`` stay refused to everyone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import carnet.db.base
from carnet.db.roles import apply_roles

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "traces are append-only (TR-3)"
CUT_REFUSED = (
    "a chain is cut only at its head, salt forgotten, profile closed, all in the log (LC-5)"
)
_DELETABLE = """EXISTS (SELECT 1 FROM chain_cuts c WHERE c.patient_id = OLD.patient_id
                    AND c.upto_seq >= OLD.seq)
            AND EXISTS (SELECT 1 FROM log_salts s WHERE s.patient_id = OLD.patient_id
                        AND s.salt IS NULL)
            AND EXISTS (SELECT 1 FROM log_leaves l WHERE l.patient_id = OLD.patient_id
                        AND l.seq = OLD.seq)"""
_CUTTABLE = """EXISTS (SELECT 1 FROM trace_heads h WHERE h.patient_id = NEW.patient_id
                    AND h.seq = NEW.upto_seq AND h.hash = NEW.last_hash)
            AND EXISTS (SELECT 1 FROM log_salts s WHERE s.patient_id = NEW.patient_id
                        AND s.salt IS NULL)
            AND EXISTS (SELECT 1 FROM patients p WHERE p.id = NEW.patient_id
                        AND p.state IN ('closed', 'opposed'))
            AND NOT EXISTS (SELECT 1 FROM log_queue q WHERE q.patient_id = NEW.patient_id)"""

SQLITE = [
    "DROP TRIGGER traces_no_delete",
    f"""CREATE TRIGGER traces_no_delete BEFORE DELETE ON traces
        WHEN NOT ({_DELETABLE})
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
    f"""CREATE TRIGGER chain_cuts_checked BEFORE INSERT ON chain_cuts
        WHEN NOT ({_CUTTABLE})
        BEGIN SELECT RAISE(ABORT, '{CUT_REFUSED}'); END""",
    f"""CREATE TRIGGER chain_cuts_no_update BEFORE UPDATE ON chain_cuts
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
    f"""CREATE TRIGGER chain_cuts_no_delete BEFORE DELETE ON chain_cuts
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
]
POSTGRESQL = [
    f"""CREATE OR REPLACE FUNCTION carnet_traces_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'DELETE' THEN
            IF {_DELETABLE} THEN
              RETURN OLD;
            END IF;
          END IF;
          RAISE EXCEPTION '{APPEND_ONLY}';
        END $$""",
    f"""CREATE FUNCTION carnet_chain_cut_checked() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'INSERT' THEN
            IF {_CUTTABLE} THEN
              RETURN NEW;
            END IF;
            RAISE EXCEPTION '{CUT_REFUSED}';
          END IF;
          RAISE EXCEPTION '{APPEND_ONLY}';
        END $$""",
    """CREATE TRIGGER chain_cuts_checked BEFORE INSERT OR UPDATE OR DELETE ON chain_cuts
        FOR EACH ROW EXECUTE FUNCTION carnet_chain_cut_checked()""",
    """CREATE TRIGGER chain_cuts_no_truncate BEFORE TRUNCATE ON chain_cuts
        FOR EACH STATEMENT EXECUTE FUNCTION carnet_chain_cut_checked()""",
    """CREATE FUNCTION carnet_destroy_chain(p_patient varchar) RETURNS integer
        LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
        DECLARE deleted integer;
        BEGIN
          DELETE FROM traces WHERE patient_id = p_patient AND seq <= (
            SELECT max(upto_seq) FROM chain_cuts WHERE patient_id = p_patient);
          GET DIAGNOSTICS deleted = ROW_COUNT;
          RETURN deleted;
        END $$""",
]


def upgrade() -> None:
    op.create_table(
        "chain_cuts",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("upto_seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("at", carnet.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("patient_id", "upto_seq", name=op.f("pk_chain_cuts")),
    )
    op.create_table(
        "doomed_blobs",
        sa.Column("blob_key", sa.String(length=512), nullable=False),
        sa.Column("queued_at", carnet.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("blob_key", name=op.f("pk_doomed_blobs")),
    )
    op.create_table(
        "job_runs",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("job", sa.String(length=30), nullable=False),
        sa.Column("started_at", carnet.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", carnet.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("day", "job", name=op.f("pk_job_runs")),
    )
    op.create_table(
        "deletion_certificates",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("issued_at", carnet.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.Column("key_id", sa.LargeBinary(length=32), nullable=False),
        sa.Column("written_at", carnet.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_deletion_certificates_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deletion_certificates")),
    )
    with op.batch_alter_table("deletion_certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deletion_certificates_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "exports",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("door", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", carnet.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", carnet.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", carnet.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", carnet.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("key_id", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_exports_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("patient_id", "id", name=op.f("pk_exports")),
    )
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.create_index("ix_exports_state", ["state", "lease_until"], unique=False)

    op.create_table(
        "life_requests",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("made_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", carnet.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("done_at", carnet.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_life_requests_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("patient_id", "id", name=op.f("pk_life_requests")),
    )
    with op.batch_alter_table("life_requests", schema=None) as batch_op:
        batch_op.create_index("ix_life_requests_open", ["done_at", "created_at"], unique=False)

    op.create_table(
        "yearly_statements",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("issued_at", carnet.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_yearly_statements_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("patient_id", "year", name=op.f("pk_yearly_statements")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invisible_until", sa.Date(), nullable=True))

    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("activation_failures", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("opposed_by", sa.String(length=10), nullable=True))
        batch_op.add_column(
            sa.Column("archive_until", carnet.db.base.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("deletion_due", carnet.db.base.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("destroyed_at", carnet.db.base.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("majority_at", carnet.db.base.UtcDateTime(timezone=True), nullable=True)
        )

    dialect = op.get_bind().dialect.name
    for statement in SQLITE if dialect == "sqlite" else POSTGRESQL:
        op.execute(statement)
    apply_roles(op.get_bind())  # chain_cuts is append-only; the function is the owner's


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("chain_cuts_checked", "chain_cuts_no_update", "chain_cuts_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TRIGGER traces_no_delete")
        op.execute(
            "CREATE TRIGGER traces_no_delete BEFORE DELETE ON traces "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
        )
    else:
        op.execute("DROP FUNCTION IF EXISTS carnet_destroy_chain(varchar)")
        op.execute(
            "CREATE OR REPLACE FUNCTION carnet_traces_append_only() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
        )
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_column("majority_at")
        batch_op.drop_column("destroyed_at")
        batch_op.drop_column("deletion_due")
        batch_op.drop_column("archive_until")
        batch_op.drop_column("opposed_by")
        batch_op.drop_column("activation_failures")

    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("invisible_until")

    op.drop_table("yearly_statements")
    with op.batch_alter_table("life_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_life_requests_open")

    op.drop_table("life_requests")
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.drop_index("ix_exports_state")

    op.drop_table("exports")
    with op.batch_alter_table("deletion_certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deletion_certificates_patient_id"))

    op.drop_table("deletion_certificates")
    op.drop_table("job_runs")
    op.drop_table("doomed_blobs")
    op.drop_table("chain_cuts")
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS carnet_chain_cut_checked()")
