"""look-ups by INS and by activation code; on Citus, every table distributed or replicated

Revision ID: 0017
Revises: 0011
Create Date: 2026-11-30 08:30:00

A distributed table's unique constraints must include its distribution column. ``patients`` is
distributed by its ``id``, so ``UNIQUE (ins)`` and the unique activation code hash cannot stay on
it: two look-up tables, each keyed (and distributed) by what is looked up, keep the guarantees —
``patient_ins`` and ``pending_codes`` (``population.models``). They are made on every database;
on SQLite and plain PostgreSQL the old unique constraints stay too.

When the database has the ``citus`` extension (``scripts/citus.sh``), the schema is then laid
out for a country (issue 18):

- every table keyed by patient is distributed by ``patient_id`` (``patients`` by ``id``),
  colocated with ``patients``: one patient's rows live on one shard, a request inside a record
  reads and writes one shard, and the foreign keys to ``patients`` hold;
- what is looked up by another key is distributed by that key (``patient_ins`` by ``ins``,
  ``pending_codes`` by hash, the web sessions and log-in challenges by their id — the cookie —,
  the pros' portal sessions by id, the deletion certificates by id); their keys to
  ``patients`` cannot be foreign keys across shards and are dropped;
- the directory (pros, establishments, mailboxes), the transparency log's global tables
  (queue, leaves, nodes, signed heads) and the jobs' bookkeeping are reference tables, on every
  node, so any shard joins them and the triggers of TR-3 can read them;
- ``traces.id`` is unique per patient (``UNIQUE (patient_id, id)``): a trace is always read
  within its patient's chain.

The TR-3 triggers are kept on the shards (``citus.enable_unsafe_triggers``: they only read rows
of the same patient, colocated, or reference tables). Citus opens its connections to the workers
as the current role, so on Citus the owner role may log in (its password, or the cluster's
certificates, are the operator's): the migrations and ``carnet_destroy_chain`` (``SECURITY
DEFINER``) run as it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Connection

from carnet.db.roles import apply_roles, has_citus, role_names

revision: str = "0017"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: On every node: the directory, the transparency log's global tables, the jobs' bookkeeping.
REFERENCE = (
    "establishments",
    "pros",
    "mailboxes",
    "pro_establishments",
    "log_queue",
    "log_leaves",
    "log_nodes",
    "tree_heads",
    "job_runs",
    "doomed_blobs",
)
#: Distributed by what they are looked up by, not colocated with the patients.
BY_OWN_KEY = {
    "patient_ins": "ins",
    "pending_codes": "code_hash",
    "web_sessions": "id",
    "login_challenges": "id",
    "pro_sessions": "id",
    "deletion_certificates": "id",
}
#: Local to the coordinator: Alembic's own bookkeeping.
LOCAL = ("alembic_version",)
#: Unique constraints that cannot hold on a distributed table, replaced by the look-ups above or
#: by a key that includes the patient.
DROPPED_UNIQUE = (
    "ALTER TABLE patients DROP CONSTRAINT IF EXISTS uq_patients_ins",
    "DROP INDEX IF EXISTS ix_patients_activation_code_hash",
    "CREATE INDEX ix_patients_activation_code_hash ON patients (activation_code_hash)",
    "ALTER TABLE traces DROP CONSTRAINT IF EXISTS uq_traces_id",
    "ALTER TABLE traces ADD CONSTRAINT uq_traces_patient_id_id UNIQUE (patient_id, id)",
)


def has_extension(bind: Connection) -> bool:
    return bind.dialect.name == "postgresql" and has_citus(bind)


def upgrade() -> None:
    op.create_table(
        "patient_ins",
        sa.Column("ins", sa.String(length=15), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("ins", name=op.f("pk_patient_ins")),
    )
    op.create_table(
        "pending_codes",
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_pending_codes")),
    )
    op.execute("INSERT INTO patient_ins (ins, patient_id) SELECT ins, id FROM patients")
    op.execute(
        "INSERT INTO pending_codes (code_hash, patient_id) "
        "SELECT activation_code_hash, id FROM patients WHERE activation_code_hash IS NOT NULL"
    )
    bind = op.get_bind()
    if has_extension(bind):
        distribute(bind)
    apply_roles(bind)


def distribute(bind: Connection) -> None:
    """Lay the schema out on the Citus cluster (see the module's docstring). Foreign keys are
    dropped first and made again once both ends are distributed (Citus checks them then)."""
    run = bind.exec_driver_sql
    run("SET LOCAL citus.enable_unsafe_triggers TO on")
    run("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
    owner, _ = role_names(bind)
    run(f'ALTER ROLE "{owner}" LOGIN')
    for statement in DROPPED_UNIQUE:
        run(statement)
    keys = run(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), "
        "c.confrelid::regclass::text FROM pg_constraint c "
        "JOIN pg_namespace n ON n.oid = c.connamespace "
        "WHERE c.contype = 'f' AND n.nspname = current_schema()"
    ).all()
    for table, name, _definition, _target in keys:
        run(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    tables = set(
        run("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").scalars()
    )
    for table in REFERENCE:
        run(f"SELECT create_reference_table('{table}')")
    run("SELECT create_distributed_table('patients', 'id', colocate_with => 'none')")
    for table, column in BY_OWN_KEY.items():
        run(f"SELECT create_distributed_table('{table}', '{column}', colocate_with => 'none')")
    by_patient = sorted(tables - set(REFERENCE) - set(BY_OWN_KEY) - set(LOCAL) - {"patients"})
    for table in by_patient:
        run(
            f"SELECT create_distributed_table('{table}', 'patient_id', colocate_with => 'patients')"
        )
    for table, name, definition, _target in keys:
        if table in BY_OWN_KEY:
            continue  # a key to patients from a table distributed by another column
        run(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')


def downgrade() -> None:
    if has_extension(op.get_bind()):
        raise NotImplementedError("a distributed schema is not undistributed by a migration")
    op.drop_table("pending_codes")
    op.drop_table("patient_ins")
