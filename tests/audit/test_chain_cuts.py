"""LC-5 and TR-3 together: the database allows exactly one way to delete traces — a cut at a
closed profile's chain head, once its salt is forgotten and its traces are all leaves of the
tree — and refuses every other; ``verify-log`` still passes after it, and catches a deletion
made any other way (the triggers silenced)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from factories import add_patient, add_pro, pro_ctx, upload
from sqlalchemy import Connection, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from support import CITUS, NOT_ON_CITUS

from carnet import clock
from carnet.audit import trail
from carnet.audit.log_models import ChainCut, LogLeaf
from carnet.audit.models import Trace, TraceHead
from carnet.audit.publish import advance_log
from carnet.audit.rules import Action
from carnet.audit.sequencer import forget_salt, sequence_batch
from carnet.audit.signer import FileSigner, load_or_create_signer
from carnet.audit.verify import verify_log
from carnet.context import RequestContext
from carnet.db.base import table_of
from carnet.population.models import Patient
from carnet.population.rules import ProfileState
from carnet.runtime import Runtime


@pytest.fixture
def signer(tmp_path: Path) -> FileSigner:
    return load_or_create_signer(tmp_path / "keys" / "log.key")


def _with_traces(rt: Runtime, count: int = 3) -> Patient:
    pro, patient = add_pro(rt), add_patient(rt)
    for _ in range(count):
        upload(rt, pro_ctx(pro), patient)
    return patient


def _close(rt: Runtime, patient: Patient) -> None:
    with rt.transaction() as session:
        session.execute(
            update(Patient).where(Patient.id == patient.id).values(state=ProfileState.CLOSED.value)
        )


def _sequenced(rt: Runtime) -> None:
    with rt.transaction() as session:
        while sequence_batch(session):
            pass


def _traces(rt: Runtime, patient: Patient) -> list[int]:
    with rt.transaction() as session:
        return list(
            session.scalars(
                select(Trace.seq).where(Trace.patient_id == patient.id).order_by(Trace.seq)
            )
        )


def _refused(rt: Runtime, work: object) -> None:
    with pytest.raises(DBAPIError), rt.transaction() as session:
        work(session)  # type: ignore[operator]


def test_lc_5_tr_3_a_cut_chain_is_deleted_and_the_log_still_verifies(
    rt: Runtime, signer: FileSigner, tmp_path: Path
) -> None:
    patient, other = _with_traces(rt), _with_traces(rt)
    before = advance_log(rt.uow, signer, tmp_path / "heads.jsonl")
    assert before is not None
    _close(rt, patient)
    with rt.transaction() as session:
        forget_salt(session, patient.id)
        cut = trail.destroy_chain(session, patient.id)
    assert cut is not None
    assert (cut.upto_seq, cut.traces) == (3, 3)
    assert _traces(rt, patient) == []
    assert _traces(rt, other) == [1, 2, 3]
    with rt.transaction() as session:
        leaves = session.scalars(select(LogLeaf.seq).where(LogLeaf.patient_id == patient.id))
        assert sorted(leaves) == [1, 2, 3]  # hashes, no content: the tree stays whole
        assert verify_log(session, public_key=signer.public_key, against=before).breach is None
    with rt.transaction() as session:  # again: nothing left to cut, nothing refused
        again = trail.destroy_chain(session, patient.id)
    assert again is not None
    assert again.traces == 0


def test_lc_5_tr_3_a_reopened_chain_goes_on_from_its_cut(
    rt: Runtime, signer: FileSigner, tmp_path: Path
) -> None:
    patient = _with_traces(rt, 2)
    _sequenced(rt)
    _close(rt, patient)
    with rt.transaction() as session:
        forget_salt(session, patient.id)
        trail.destroy_chain(session, patient.id)
        session.execute(
            update(Patient)
            .where(Patient.id == patient.id)
            .values(state=ProfileState.ACTIVATED.value)
        )
    upload(rt, pro_ctx(add_pro(rt)), patient)  # the reopened space gets a document
    assert _traces(rt, patient) == [3]
    head = advance_log(rt.uow, signer, tmp_path / "heads.jsonl")
    with rt.transaction() as session:
        assert verify_log(session, public_key=signer.public_key, against=head).breach is None


def test_tr_3_traces_are_never_deleted_without_a_cut(rt: Runtime) -> None:
    patient = _with_traces(rt)
    _sequenced(rt)
    _close(rt, patient)
    delete = text("DELETE FROM traces WHERE patient_id = :p")
    _refused(rt, lambda s: s.execute(delete, {"p": patient.id}))
    # Not even with the salt forgotten: no cut covers them.
    with rt.transaction() as session:
        forget_salt(session, patient.id)
    _refused(rt, lambda s: s.execute(delete, {"p": patient.id}))
    assert _traces(rt, patient) == [1, 2, 3]


def test_tr_3_a_cut_is_refused_unless_everything_holds(rt: Runtime) -> None:
    """A cut needs: the chain's head itself, the salt forgotten, the profile closed or
    opposed, every trace already a leaf. And a cut is never changed nor removed."""
    patient = _with_traces(rt)

    def head() -> tuple[int, str]:
        with rt.transaction() as session:
            found = session.get(TraceHead, patient.id)
            assert found is not None
            return found.seq, found.hash

    def cut(upto: int | None = None, hash_: str | None = None) -> object:
        seq, last = head()
        return lambda s: s.execute(
            insert(table_of(ChainCut)).values(
                patient_id=patient.id,
                upto_seq=seq if upto is None else upto,
                last_hash=last if hash_ is None else hash_,
                at=clock.now(),
            )
        )

    _sequenced(rt)
    _refused(rt, cut())  # open profile, salt kept
    _close(rt, patient)
    _refused(rt, cut())  # salt kept
    with rt.transaction() as session:
        forget_salt(session, patient.id)
        trail.record(session, RequestContext.operator(), Action.FIND_PATIENT, patient_id=patient.id)
    _refused(rt, cut())  # a trace still queued for the tree
    _sequenced(rt)
    _refused(rt, cut(upto=head()[0] - 1))  # not the head: it would leave a tail behind
    _refused(rt, cut(hash_="0" * 64))  # not the head's hash
    with rt.transaction() as session:
        cut()(session)  # type: ignore[operator]
    _refused(rt, lambda s: s.execute(text("DELETE FROM chain_cuts")))
    _refused(rt, lambda s: s.execute(text("UPDATE chain_cuts SET upto_seq = 99")))


@contextmanager
def _silenced(rt: Runtime) -> Iterator[Connection]:
    """Someone with the database itself: the triggers off (SQLite: dropped; PostgreSQL: a
    superuser's ``session_replication_role``) — what the database cannot stop."""
    with rt.uow.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER traces_no_delete")
        else:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        yield connection


@pytest.mark.skipif(CITUS, reason=NOT_ON_CITUS)
@pytest.mark.parametrize("salt", ["kept", "forgotten"])
def test_tr_3_a_deletion_without_a_cut_is_caught_by_verify_log(
    rt: Runtime, signer: FileSigner, tmp_path: Path, salt: str
) -> None:
    patient = _with_traces(rt)
    before = advance_log(rt.uow, signer, tmp_path / "heads.jsonl")
    if salt == "forgotten":
        with rt.transaction() as session:
            forget_salt(session, patient.id)
    with _silenced(rt) as connection:
        connection.execute(text("DELETE FROM traces WHERE patient_id = :p"), {"p": patient.id})
    with rt.transaction() as session:
        found = verify_log(session, public_key=signer.public_key, against=before).breach
    assert found is not None
    assert found.patient_id == patient.id


def test_lc_5_a_profile_that_never_had_a_trace_has_nothing_to_cut(rt: Runtime) -> None:
    """LC-5: destroying a profile nobody ever touched records no cut (there is no chain)."""
    patient = add_patient(rt)
    with rt.transaction() as session:
        assert trail.destroy_chain(session, patient.id) is None
        assert session.scalars(select(ChainCut)).all() == []
