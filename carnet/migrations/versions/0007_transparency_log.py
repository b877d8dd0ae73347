"""the transparency log: leaves, stored subtrees, salts, signed tree heads; roles (TR-3)

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-25 12:00:00

Every trace becomes a leaf of one Merkle tree (``carnet/audit/log_models.py``). A trigger queues
each new trace for the sequencer, so the request that writes it takes no log-wide lock; the
traces already there are queued here. The database refuses what could rewrite the evidence:
``UPDATE``/``DELETE`` on the log's tables, heads that move backward, and on SQLite an ``INSERT OR
REPLACE`` (its conflict resolution deletes the old row without firing delete triggers, but a
``BEFORE INSERT`` trigger runs first). On PostgreSQL the owner and application roles are made
(``carnet/db/roles.py``) when the migrating user may.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import carnet.db.base
from carnet.db.roles import apply_roles

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "the transparency log is append-only (TR-3)"
LOG_TABLES = ("tree_heads", "log_leaves", "log_nodes")


def _no_replace_sqlite(table: str, keys: Sequence[Sequence[str]], message: str) -> str:
    """A ``BEFORE INSERT`` trigger refusing a row whose key is taken (so ``REPLACE`` too).

    Names are this module's constants, never input."""
    clashes = " OR ".join(
        f"EXISTS (SELECT 1 FROM {table} WHERE {' AND '.join(f'{k} = NEW.{k}' for k in key)})"  # noqa: S608
        for key in keys
    )
    return (
        f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} WHEN {clashes} "
        f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
    )


def _sqlite() -> list[str]:
    statements = [
        """CREATE TRIGGER traces_enqueue AFTER INSERT ON traces
           BEGIN INSERT INTO log_queue (patient_id, seq) VALUES (NEW.patient_id, NEW.seq); END""",
        _no_replace_sqlite(
            "traces", [("patient_id", "seq"), ("id",)], "traces are append-only (TR-3)"
        ),
        _no_replace_sqlite(
            "trace_heads", [("patient_id",)], "trace heads only move forward (TR-3)"
        ),
        """CREATE TRIGGER trace_heads_forward BEFORE UPDATE ON trace_heads
           WHEN NEW.patient_id IS NOT OLD.patient_id OR NEW.seq <= OLD.seq
           BEGIN SELECT RAISE(ABORT, 'trace heads only move forward (TR-3)'); END""",
        """CREATE TRIGGER trace_heads_no_delete BEFORE DELETE ON trace_heads
           BEGIN SELECT RAISE(ABORT, 'trace heads only move forward (TR-3)'); END""",
        _no_replace_sqlite("log_salts", [("patient_id",)], APPEND_ONLY),
        f"""CREATE TRIGGER log_salts_only_forgotten BEFORE UPDATE ON log_salts
           WHEN NEW.salt IS NOT NULL OR NEW.patient_id IS NOT OLD.patient_id
           BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
        f"""CREATE TRIGGER log_salts_no_delete BEFORE DELETE ON log_salts
           BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
        _no_replace_sqlite("tree_heads", [("tree_size",)], APPEND_ONLY),
        _no_replace_sqlite("log_leaves", [("idx",), ("patient_id", "seq")], APPEND_ONLY),
        _no_replace_sqlite("log_nodes", [("level", "idx")], APPEND_ONLY),
    ]
    for table in LOG_TABLES:
        statements += [
            f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
               BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
            f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
               BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
        ]
    return statements


def _postgresql() -> list[str]:
    statements = [
        """CREATE FUNCTION carnet_log_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             INSERT INTO log_queue (patient_id, seq) SELECT patient_id, seq FROM new_traces;
             RETURN NULL;
           END $$""",
        """CREATE TRIGGER traces_enqueue AFTER INSERT ON traces
           REFERENCING NEW TABLE AS new_traces
           FOR EACH STATEMENT EXECUTE FUNCTION carnet_log_enqueue()""",
        f"""CREATE FUNCTION carnet_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$""",
        """CREATE FUNCTION carnet_trace_heads_forward() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP <> 'UPDATE' OR NEW.patient_id <> OLD.patient_id OR NEW.seq <= OLD.seq THEN
               RAISE EXCEPTION 'trace heads only move forward (TR-3)';
             END IF;
             RETURN NEW;
           END $$""",
        """CREATE TRIGGER trace_heads_forward BEFORE UPDATE OR DELETE ON trace_heads
           FOR EACH ROW EXECUTE FUNCTION carnet_trace_heads_forward()""",
        """CREATE TRIGGER trace_heads_no_truncate BEFORE TRUNCATE ON trace_heads
           FOR EACH STATEMENT EXECUTE FUNCTION carnet_trace_heads_forward()""",
        f"""CREATE FUNCTION carnet_log_salts_forget_only() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP <> 'UPDATE' OR NEW.salt IS NOT NULL OR NEW.patient_id <> OLD.patient_id THEN
               RAISE EXCEPTION '{APPEND_ONLY}';
             END IF;
             RETURN NEW;
           END $$""",
        """CREATE TRIGGER log_salts_forget_only BEFORE UPDATE OR DELETE ON log_salts
           FOR EACH ROW EXECUTE FUNCTION carnet_log_salts_forget_only()""",
        """CREATE TRIGGER log_salts_no_truncate BEFORE TRUNCATE ON log_salts
           FOR EACH STATEMENT EXECUTE FUNCTION carnet_log_salts_forget_only()""",
    ]
    for table in LOG_TABLES:
        statements += [
            f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
               FOR EACH ROW EXECUTE FUNCTION carnet_log_append_only()""",
            f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
               FOR EACH STATEMENT EXECUTE FUNCTION carnet_log_append_only()""",
        ]
    return statements


def upgrade() -> None:
    position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "log_queue",
        sa.Column("id", position, autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_queue")),
    )
    op.create_table(
        "log_leaves",
        sa.Column("idx", position, autoincrement=False, nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_log_leaves")),
        sa.UniqueConstraint("patient_id", "seq", name=op.f("uq_log_leaves_patient_id")),
    )
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_log_nodes")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "log_salts",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("salt", sa.LargeBinary(length=32), nullable=True),
        sa.Column("created_at", carnet.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("destroyed_at", carnet.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_log_salts")),
    )
    op.create_table(
        "tree_heads",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.LargeBinary(length=32), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_tree_heads")),
    )
    op.execute(
        "INSERT INTO log_queue (patient_id, seq) "
        "SELECT patient_id, seq FROM traces ORDER BY at, patient_id, seq"
    )
    dialect = op.get_bind().dialect.name
    for statement in _sqlite() if dialect == "sqlite" else _postgresql():
        op.execute(statement)
    apply_roles(op.get_bind())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in (
            "traces_enqueue",
            "traces_no_replace",
            "trace_heads_no_replace",
            "trace_heads_forward",
            "trace_heads_no_delete",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS traces_enqueue ON traces")
        op.execute("DROP TRIGGER IF EXISTS trace_heads_forward ON trace_heads")
        op.execute("DROP TRIGGER IF EXISTS trace_heads_no_truncate ON trace_heads")
    for table in ("tree_heads", "log_salts", "log_nodes", "log_leaves", "log_queue"):
        op.drop_table(table)
    if bind.dialect.name != "sqlite":
        for function in (
            "carnet_log_enqueue",
            "carnet_log_append_only",
            "carnet_trace_heads_forward",
            "carnet_log_salts_forget_only",
        ):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
