"""TR-3: every trace becomes a leaf of the transparency log, in batches, and heads are signed
with a key outside the database; the stored tree answers proofs that verify."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from factories import add_patient, add_pro, pro_ctx, upload
from sqlalchemy import select, update

from carnet.audit import merkle, trail, tree
from carnet.audit.heads import TreeHead, key_id_of
from carnet.audit.log_models import ChainSalt, LogLeaf, LogQueue
from carnet.audit.models import Trace
from carnet.audit.publish import advance_log, latest_head, sign_head
from carnet.audit.rules import Action, trace_leaf
from carnet.audit.sequencer import forget_salt, sequence_batch
from carnet.audit.signer import FileSigner, SignerKeyError, load_or_create_signer, public_key_of
from carnet.audit.verify import verify_log
from carnet.population.models import Patient
from carnet.population.rules import ProfileState
from carnet.runtime import Runtime


@pytest.fixture
def signer(tmp_path: Path) -> FileSigner:
    return load_or_create_signer(tmp_path / "keys" / "log.key")


def _some_traces(rt: Runtime, patients: int = 3, each: int = 4) -> None:
    pro = add_pro(rt)
    for _ in range(patients):
        patient = add_patient(rt)
        for _ in range(each):
            upload(rt, pro_ctx(pro), patient)


def test_tr_3_log_key_is_made_once_outside_the_database(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "log.key"
    first = load_or_create_signer(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_or_create_signer(path).public_key == first.public_key
    assert public_key_of(path) == first.public_key
    with pytest.raises(SignerKeyError, match="no signing key"):
        public_key_of(tmp_path / "elsewhere.key")
    path.write_text("not a key")
    with pytest.raises(SignerKeyError, match="unreadable"):
        load_or_create_signer(path)


def test_tr_3_traces_are_queued_then_sequenced_in_batches(rt: Runtime, signer: FileSigner) -> None:
    _some_traces(rt)
    with rt.transaction() as session:
        assert len(session.scalars(select(LogQueue)).all()) == 12
        assert sequence_batch(session, limit=5) == 5
    with rt.transaction() as session:
        assert sequence_batch(session, limit=100) == 7
        assert session.scalars(select(LogQueue)).all() == []
        assert sequence_batch(session) == 0
        assert tree.log_size(session.connection()) == 12


def test_tr_3_leaves_commit_to_each_trace_with_its_chain_salt(
    rt: Runtime, signer: FileSigner, tmp_path: Path
) -> None:
    _some_traces(rt)
    head = advance_log(rt.uow, signer, tmp_path / "heads.jsonl")
    assert head is not None
    assert head.tree_size == 12
    with rt.transaction() as session:
        salts = {s.patient_id: s.salt or b"" for s in session.scalars(select(ChainSalt))}
        traces = {(t.patient_id, t.seq): t for t in session.scalars(select(Trace))}
        leaves = session.scalars(select(LogLeaf).order_by(LogLeaf.idx)).all()
    assert len(set(salts.values())) == 3
    expected = [
        merkle.leaf_hash(
            trace_leaf(salts[leaf.patient_id], traces[(leaf.patient_id, leaf.seq)].hash)
        )
        for leaf in leaves
    ]
    assert [leaf.hash for leaf in leaves] == expected
    frontier, _ = merkle.append(merkle.Frontier(0), expected)
    assert head.root_hash == frontier.root()
    assert head.problem(signer.public_key) is None
    assert head.key_id == key_id_of(signer.public_key)
    # Within a chain, leaves keep the chain's order.
    by_chain: dict[str, list[int]] = {}
    for leaf in leaves:
        by_chain.setdefault(leaf.patient_id, []).append(leaf.seq)
    assert all(seqs == sorted(seqs) for seqs in by_chain.values())


def test_tr_3_heads_are_signed_only_when_the_tree_grew_and_witnessed(
    rt: Runtime, signer: FileSigner, tmp_path: Path
) -> None:
    witness = tmp_path / "witness" / "heads.jsonl"
    assert advance_log(rt.uow, signer, witness) is None
    _some_traces(rt, patients=1, each=2)
    first = advance_log(rt.uow, signer, witness)
    assert advance_log(rt.uow, signer, witness) is None
    _some_traces(rt, patients=1, each=1)
    second = advance_log(rt.uow, signer, witness)
    assert first is not None
    assert second is not None
    lines = [TreeHead.from_json(json.loads(line)) for line in witness.read_text().splitlines()]
    assert lines == [first, second]
    with rt.transaction() as session:
        assert latest_head(session) == second
        assert sign_head(session, signer) is None


@pytest.mark.parametrize("size", [1, 2, 5, 16, 17, 33, 70])
def test_tr_3_stored_tree_gives_proofs_that_verify(
    rt: Runtime, signer: FileSigner, size: int
) -> None:
    """Stored subtrees only every fourth level: proofs and roots still come out whole."""
    pro, patient = add_pro(rt), add_patient(rt)
    ctx = pro_ctx(pro)
    with rt.transaction() as session:
        trail.record_many(
            session,
            [
                trail.Entry(ctx, Action.READ_DOCUMENT, patient.id, target=str(i))
                for i in range(size)
            ],
        )
        sequence_batch(session, limit=7)  # batches that do not fall on subtree boundaries
    for _ in range(size):
        with rt.transaction() as session:
            sequence_batch(session, limit=7)
    with rt.transaction() as session:
        connection = session.connection()
        hashes = list(session.scalars(select(LogLeaf.hash).order_by(LogLeaf.idx)))
        assert len(hashes) == size
        for n in range(1, size + 1):
            expected, _ = merkle.append(merkle.Frontier(0), hashes[:n])
            assert tree.root_at(connection, n) == expected.root()
        root = tree.root_at(connection, size)
        proofs = tree.inclusion_proofs(connection, range(size), size)
        for index, path in proofs.items():
            assert merkle.verify_inclusion(index, size, hashes[index], path, root)
        for first in range(1, size + 1):
            path = tree.consistency_proof(connection, first, size)
            assert merkle.verify_consistency(
                first, size, tree.root_at(connection, first), root, path
            )
        with pytest.raises(tree.LogIncomplete):
            tree.root_at(connection, size + 1)


def test_tr_3_lc_5_destroyed_data_keeps_the_tree_verifiable(
    rt: Runtime, signer: FileSigner, tmp_path: Path
) -> None:
    """LC-5: the salt is forgotten and the traces go by the one sanctioned path (a cut at the
    chain's head); the leaves stay, so every head given out before still checks, and so do the
    other patients' proofs."""
    pro, gone, kept = add_pro(rt), add_patient(rt), add_patient(rt)
    for patient in (gone, kept, gone):
        upload(rt, pro_ctx(pro), patient)
    before = advance_log(rt.uow, signer, tmp_path / "heads.jsonl")
    assert before is not None
    with rt.transaction() as session:
        session.execute(
            update(Patient).where(Patient.id == gone.id).values(state=ProfileState.CLOSED.value)
        )
        assert forget_salt(session, gone.id)
        assert not forget_salt(session, gone.id)
        cut = trail.destroy_chain(session, gone.id)
    assert cut is not None
    assert (cut.upto_seq, cut.traces) == (2, 2)
    upload(rt, pro_ctx(pro), kept)
    after = advance_log(rt.uow, signer, tmp_path / "heads.jsonl")
    assert after is not None
    with rt.transaction() as session:
        connection = session.connection()
        assert verify_log(session, public_key=signer.public_key, against=before).breach is None
        path = tree.consistency_proof(connection, before.tree_size, after.tree_size)
        assert merkle.verify_consistency(
            before.tree_size, after.tree_size, before.root_hash, after.root_hash, path
        )
        assert not session.scalars(select(Trace).where(Trace.patient_id == gone.id)).all()
        salt = session.scalars(select(ChainSalt).where(ChainSalt.patient_id == gone.id)).one()
        assert salt.salt is None
        assert salt.destroyed_at is not None
