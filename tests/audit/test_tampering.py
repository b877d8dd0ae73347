"""TR-3: the nine tamperings that defeated the hash chains, replayed against a signed tree head
obtained before them — each one detected (issue 17).

The attacker has the database (its owner, or a superuser) but not the signing key, which lives
outside it. After each rewrite he may also rebuild the whole transparency log from the rewritten
traces, so that chains, leaves and stored subtrees agree with each other again: only a head
kept elsewhere can tell, and it does.

1–3 (SQLite and PostgreSQL): edit a trace and recompute its chain and head; cut a chain's tail
and move its head back; delete a whole chain. 4 (SQLite): ``INSERT OR REPLACE`` over a trace.
5–6 (PostgreSQL): ``ALTER TABLE … DISABLE TRIGGER`` and ``session_replication_role = replica``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from factories import add_patient, add_pro, pro_ctx, upload
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session
from support import CITUS, NOT_ON_CITUS, PG_URL

from carnet.audit.heads import TreeHead
from carnet.audit.models import Trace
from carnet.audit.publish import advance_log
from carnet.audit.rules import GENESIS, entry_hash
from carnet.audit.sequencer import sequence_batch
from carnet.audit.signer import FileSigner, load_or_create_signer
from carnet.audit.trail import hashed_fields
from carnet.audit.verify import verify_log
from carnet.runtime import Runtime

sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="SQLite's own tampering")
postgresql_only = pytest.mark.skipif(not PG_URL, reason="PostgreSQL's own tampering")
pytestmark = pytest.mark.skipif(CITUS, reason=NOT_ON_CITUS)


@pytest.fixture
def signer(tmp_path: Path) -> FileSigner:
    return load_or_create_signer(tmp_path / "keys" / "log.key")


def _logged(rt: Runtime, signer: FileSigner, tmp_path: Path) -> tuple[str, TreeHead]:
    """Two patients' histories in the log, and the head someone kept before the attack."""
    pro, victim, other = add_pro(rt), add_patient(rt), add_patient(rt)
    for _ in range(4):
        upload(rt, pro_ctx(pro), victim)
        upload(rt, pro_ctx(pro), other)
    head = advance_log(rt.uow, signer, tmp_path / "heads.jsonl")
    assert head is not None
    kept = TreeHead.from_json(head.to_json())  # as it would come back from the witness file
    with rt.transaction() as session:
        assert verify_log(session, public_key=signer.public_key, against=kept).breach is None
    return victim.id, kept


@contextmanager
def _attacker(rt: Runtime) -> Iterator[Connection]:
    """The database's owner with its defences off: on SQLite, whoever has the file drops the
    triggers; on PostgreSQL the superuser silences them for his session."""
    with rt.uow.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            triggers = connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name != 'traces_enqueue'"
            ).scalars()
            for name in list(triggers):
                connection.exec_driver_sql(f"DROP TRIGGER {name}")
        else:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        yield connection


def _rechain(connection: Connection, patient_id: str) -> None:
    """Recompute every link of the patient's chain and its head, as the attacker would."""
    with Session(bind=connection) as session:
        traces = session.scalars(
            select(Trace).where(Trace.patient_id == patient_id).order_by(Trace.seq)
        ).all()
        prev = GENESIS
        for trace in traces:
            trace.prev_hash = prev
            trace.hash = prev = entry_hash(prev, hashed_fields(trace))
        session.flush()
        last = traces[-1] if traces else None
    if last is not None:
        _sql(
            connection,
            "UPDATE trace_heads SET seq = :seq, hash = :hash WHERE patient_id = :victim",
            seq=last.seq,
            hash=last.hash,
            victim=patient_id,
        )


def _sql(connection: Connection, statement: str, **params: object) -> None:
    connection.execute(text(statement), params)


def _rebuild_log(connection: Connection) -> None:
    """Throw the log away and sequence the rewritten traces again: a self-consistent log."""
    for table in ("log_leaves", "log_nodes", "log_queue", "tree_heads"):
        connection.exec_driver_sql(f"DELETE FROM {table}")  # noqa: S608 - constants
    connection.exec_driver_sql(
        "INSERT INTO log_queue (patient_id, seq) SELECT patient_id, seq FROM traces "
        "ORDER BY at, patient_id, seq"
    )
    with Session(bind=connection) as session:
        while sequence_batch(session):
            pass
        session.flush()


def _detected(rt: Runtime, signer: FileSigner, kept: TreeHead) -> str:
    with rt.transaction() as session:
        breach = verify_log(session, public_key=signer.public_key, against=kept).breach
    assert breach is not None, "tampering not detected"
    return breach.problem


REBUILD = pytest.mark.parametrize("rebuild", [False, True], ids=["as-is", "log-rebuilt"])


@REBUILD
def test_tr_3_tampering_1_edit_and_rechain_is_detected(
    rt: Runtime, signer: FileSigner, tmp_path: Path, rebuild: bool
) -> None:
    victim, kept = _logged(rt, signer, tmp_path)
    with _attacker(rt) as connection:
        _sql(
            connection,
            "UPDATE traces SET outcome = 'denied' WHERE patient_id = :victim AND seq = 2",
            victim=victim,
        )
        _rechain(connection, victim)
        if rebuild:
            _rebuild_log(connection)
    problem = _detected(rt, signer, kept)
    assert problem == (
        "given head: the log does not extend it" if rebuild else "altered entry (leaf)"
    )


@REBUILD
def test_tr_3_tampering_2_cut_tail_and_move_head_back_is_detected(
    rt: Runtime, signer: FileSigner, tmp_path: Path, rebuild: bool
) -> None:
    victim, kept = _logged(rt, signer, tmp_path)
    with _attacker(rt) as connection:
        _sql(connection, "DELETE FROM traces WHERE patient_id = :victim AND seq > 2", victim=victim)
        _rechain(connection, victim)
        if rebuild:
            _rebuild_log(connection)
    problem = _detected(rt, signer, kept)
    assert problem.startswith("given head: the log" if rebuild else "missing entry (leaf")


@REBUILD
def test_tr_3_tampering_3_delete_a_whole_chain_is_detected(
    rt: Runtime, signer: FileSigner, tmp_path: Path, rebuild: bool
) -> None:
    victim, kept = _logged(rt, signer, tmp_path)
    with _attacker(rt) as connection:
        _sql(connection, "DELETE FROM traces WHERE patient_id = :victim", victim=victim)
        if rebuild:
            _sql(connection, "DELETE FROM trace_heads WHERE patient_id = :victim", victim=victim)
            _rebuild_log(connection)
    problem = _detected(rt, signer, kept)
    assert problem.startswith("given head: the log" if rebuild else "missing chain")


def test_tr_3_a_head_without_its_chain_is_reported(rt: Runtime, signer: FileSigner) -> None:
    """The chains alone, no log: ``verify-log`` now looks at heads that have no traces."""
    patient, pro = add_patient(rt), add_pro(rt)
    upload(rt, pro_ctx(pro), patient)
    with _attacker(rt) as connection:
        _sql(connection, "DELETE FROM traces WHERE patient_id = :victim", victim=patient.id)
        _sql(connection, "DELETE FROM log_queue WHERE patient_id = :victim", victim=patient.id)
    with rt.transaction() as session:
        breach = verify_log(session).breach
    assert breach is not None
    assert (breach.patient_id, breach.problem) == (patient.id, "missing chain")


@sqlite_only
def test_tr_3_tampering_4_sqlite_insert_or_replace_is_refused_then_detected(
    rt: Runtime, signer: FileSigner, tmp_path: Path
) -> None:
    victim, kept = _logged(rt, signer, tmp_path)
    copy = (
        "INSERT OR REPLACE INTO traces SELECT patient_id, seq, id, at, actor_kind, actor_id, "
        "actor_profession, on_behalf_of, action, 'denied', mode, reason, door, request_id, "
        "document_id, document_version, document_sha256, target, detail, prev_hash, hash, why "
        "FROM traces WHERE patient_id = :victim AND seq = 2"
    )
    for statement in (copy, copy.replace("INSERT OR REPLACE", "REPLACE")):
        with pytest.raises(DatabaseError, match="append-only"), rt.uow.engine.begin() as c:
            _sql(c, statement, victim=victim)
    with pytest.raises(DatabaseError, match="only move forward"), rt.uow.engine.begin() as c:
        _sql(
            c,
            "INSERT OR REPLACE INTO trace_heads VALUES (:victim, 1, :genesis)",
            victim=victim,
            genesis=GENESIS,
        )
    with pytest.raises(DatabaseError, match="append-only"), rt.uow.engine.begin() as c:
        c.exec_driver_sql("REPLACE INTO tree_heads SELECT * FROM tree_heads")
    with _attacker(rt) as connection:  # the file's holder drops the triggers, then replaces
        _sql(connection, copy, victim=victim)
        _rechain(connection, victim)
    assert _detected(rt, signer, kept) == "altered entry (leaf)"


@postgresql_only
def test_tr_3_tampering_5_postgresql_disable_trigger_as_owner_is_detected(
    rt: Runtime, signer: FileSigner, tmp_path: Path
) -> None:
    victim, kept = _logged(rt, signer, tmp_path)
    with rt.uow.engine.begin() as connection:
        owner = connection.exec_driver_sql("SELECT current_database() || '_owner'").scalar_one()
        connection.exec_driver_sql(f'SET LOCAL ROLE "{owner}"')
        for table in ("traces", "trace_heads", "log_leaves", "log_nodes", "tree_heads"):
            connection.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
        _sql(
            connection,
            "UPDATE traces SET outcome = 'denied' WHERE patient_id = :victim AND seq = 2",
            victim=victim,
        )
        _rechain(connection, victim)
        _rebuild_log(connection)
        for table in ("traces", "trace_heads", "log_leaves", "log_nodes", "tree_heads"):
            connection.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER ALL")
    assert _detected(rt, signer, kept) == "given head: the log does not extend it"


@postgresql_only
def test_tr_3_tampering_6_postgresql_replication_role_is_detected(
    rt: Runtime, signer: FileSigner, tmp_path: Path
) -> None:
    victim, kept = _logged(rt, signer, tmp_path)
    with _attacker(rt) as connection:  # SET session_replication_role = replica, as superuser
        _sql(
            connection,
            "UPDATE traces SET reason = 'rewritten' WHERE patient_id = :victim AND seq = 1",
            victim=victim,
        )
        _rechain(connection, victim)
        _rebuild_log(connection)
    assert _detected(rt, signer, kept) == "given head: the log does not extend it"
