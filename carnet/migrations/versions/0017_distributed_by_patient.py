"""look-ups by INS and by activation code; on Citus, every table distributed or replicated

Revision ID: 0017
Revises: 0015
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
  (leaves, nodes, signed heads) and the jobs' bookkeeping are reference tables, on every node;
  the log's queue lives with the traces it lists (distributed by patient, keyed
  ``(patient_id, id)``);
- ``traces.id`` is unique per patient (``UNIQUE (patient_id, id)``): a trace is always read
  within its patient's chain;
- reads that join tables distributed by different keys (a representative's INS to the register,
  the operator's checks) are repartitioned (``citus.enable_repartition_joins`` on the database).

The TR-3 triggers stay on the shards (``citus.enable_unsafe_triggers``). A query of another
distributed table from a shard would be a nested distributed query, which Citus refuses: the
triggers read the colocated shard of the same patient, or the local copy of a reference table, by
its name (``carnet_shard``), in the same transaction — the same checks as migrations 0007 and
0011. Citus opens one connection per role to each worker, and a function running as the owner
cannot see what the application changed earlier in its transaction: on Citus
``carnet_destroy_chain`` runs as the invoker and the application may ``DELETE`` from ``traces``
(``db.roles``); the trigger on each shard still refuses every deletion but the sanctioned one.
The migrations run as the connected login on Citus (``db.roles.become_owner``), and the owner
role may log in there (its own connections to the workers).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Connection

from carnet.db.roles import apply_roles, has_citus, role_names

revision: str = "0017"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: On every node: the directory, the transparency log's global tables, the jobs' bookkeeping.
REFERENCE = (
    "establishments",
    "pros",
    "mailboxes",
    "pro_establishments",
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
APPEND_ONLY = "traces are append-only (TR-3)"
CUT_REFUSED = (
    "a chain is cut only at its head, salt forgotten, profile closed, all in the log (LC-5)"
)
#: TR-3's triggers on Citus. They run on the shards, where a query of another distributed table
#: would be a distributed query nested in a shard's (Citus refuses it): they read the colocated
#: shard of the same patient — or the local copy of a reference table — by its name
#: (``carnet_shard``), in the same transaction. Same checks as migrations 0007 and 0011.
ON_SHARDS = (
    """CREATE FUNCTION carnet_shard(p_table regclass, p_key text) RETURNS text
       LANGUAGE sql STABLE AS $$
         SELECT quote_ident(c.relname || '_' || get_shard_id_for_distribution_column(p_table, p_key))
         FROM pg_class c WHERE c.oid = p_table $$""",
    """CREATE OR REPLACE FUNCTION carnet_log_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE queue text;
       BEGIN
         SELECT carnet_shard('log_queue', patient_id) INTO queue FROM new_traces LIMIT 1;
         IF queue IS NOT NULL THEN
           -- A shard has no column default: the node's own range of the queue's sequence.
           EXECUTE format('INSERT INTO %s (id, patient_id, seq) '
                          'SELECT nextval(''log_queue_id_seq''), patient_id, seq FROM new_traces',
                          queue);
         END IF;
         RETURN NULL;
       END $$""",
    f"""CREATE OR REPLACE FUNCTION carnet_traces_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE deletable boolean;
        BEGIN
          IF TG_OP = 'DELETE' THEN
            EXECUTE format(
              'SELECT EXISTS (SELECT 1 FROM %s c WHERE c.patient_id = $1 AND c.upto_seq >= $2) '
              'AND EXISTS (SELECT 1 FROM %s s WHERE s.patient_id = $1 AND s.salt IS NULL) '
              'AND EXISTS (SELECT 1 FROM %s l WHERE l.patient_id = $1 AND l.seq = $2)',
              carnet_shard('chain_cuts', OLD.patient_id), carnet_shard('log_salts', OLD.patient_id),
              carnet_shard('log_leaves', NULL))
              INTO deletable USING OLD.patient_id, OLD.seq;
            IF deletable THEN
              RETURN OLD;
            END IF;
          END IF;
          RAISE EXCEPTION '{APPEND_ONLY}';
        END $$""",  # noqa: S608 - constants of this module, no input
    f"""CREATE OR REPLACE FUNCTION carnet_chain_cut_checked() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE cuttable boolean;
        BEGIN
          IF TG_OP = 'INSERT' THEN
            EXECUTE format(
              'SELECT EXISTS (SELECT 1 FROM %s h WHERE h.patient_id = $1 AND h.seq = $2 '
              '               AND h.hash = $3) '
              'AND EXISTS (SELECT 1 FROM %s s WHERE s.patient_id = $1 AND s.salt IS NULL) '
              'AND EXISTS (SELECT 1 FROM %s p WHERE p.id = $1 AND p.state IN (''closed'', ''opposed'')) '
              'AND NOT EXISTS (SELECT 1 FROM %s q WHERE q.patient_id = $1)',
              carnet_shard('trace_heads', NEW.patient_id), carnet_shard('log_salts', NEW.patient_id),
              carnet_shard('patients', NEW.patient_id), carnet_shard('log_queue', NEW.patient_id))
              INTO cuttable USING NEW.patient_id, NEW.upto_seq, NEW.last_hash;
            IF cuttable THEN
              RETURN NEW;
            END IF;
            RAISE EXCEPTION '{CUT_REFUSED}';
          END IF;
          RAISE EXCEPTION '{APPEND_ONLY}';
        END $$""",  # noqa: S608 - constants of this module, no input
)
#: The transparency log's queue lives with the traces it lists (their trigger fills it on the
#: shard): its key must include the patient.
QUEUE_BY_PATIENT = (
    "ALTER TABLE log_queue DROP CONSTRAINT pk_log_queue",
    "ALTER TABLE log_queue ADD CONSTRAINT pk_log_queue PRIMARY KEY (patient_id, id)",
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
    for statement in DROPPED_UNIQUE + QUEUE_BY_PATIENT:
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
    for statement in ON_SHARDS:
        bind.execute(sa.text(statement))  # text(): the driver leaves their % alone
    run("ALTER FUNCTION carnet_destroy_chain(varchar) SECURITY INVOKER")
    # The few reads that join tables distributed by different keys (a representative's INS to
    # the register; the operator's checks) are run by repartitioning, not refused.
    database = run("SELECT current_database()").scalar_one()
    run(f'ALTER DATABASE "{database}" SET citus.enable_repartition_joins = on')
    # ALTER DATABASE reaches sessions that start later; this one goes back to the pool of the
    # process that migrated (``carnet serve`` migrates at start), so it is told too.
    run("SET citus.enable_repartition_joins = on")


def downgrade() -> None:
    if has_extension(op.get_bind()):
        raise NotImplementedError("a distributed schema is not undistributed by a migration")
    op.drop_table("pending_codes")
    op.drop_table("patient_ins")
