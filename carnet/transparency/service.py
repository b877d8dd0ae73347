"""Use cases of the transparency log (TR-3): the latest signed head, the log's public key,
consistency between two sizes, and the inclusion proof of a trace for whoever may read it.

Heads, the key and consistency proofs hold hashes only and are public. A trace's proof shows the
trace itself, so it is given to who may read that patient's history, checked as the history
checks it (``access.history``: the record opened for ``READ_HISTORY``; a pro only as the
patient's administrator, ACC-4); a refusal answers, and is traced, like an absent trace.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet.access import gate
from carnet.access.history import HistoryPage
from carnet.access.rules import Purpose
from carnet.audit import trail, tree
from carnet.audit.heads import TreeHead, b64, key_id_of
from carnet.audit.log_models import ChainSalt, LogLeaf
from carnet.audit.models import Trace
from carnet.audit.proofs import ConsistencyProof, InclusionProof, TraceContent
from carnet.audit.publish import advance_log, head_at, latest_head
from carnet.audit.rules import Action, canonical
from carnet.audit.signer import FileSigner, SignerKeyError, load_or_create_signer, public_key_of
from carnet.context import RequestContext
from carnet.errors import Invalid, NotFound
from carnet.runtime import Runtime
from carnet.settings import Settings


@dataclass(frozen=True)
class LogKey:
    key_id: bytes
    public_key: bytes

    def to_json(self) -> dict[str, str]:
        return {
            "algorithm": "Ed25519",
            "key_id": b64(self.key_id),
            "public_key": b64(self.public_key),
        }


def log_signer(settings: Settings) -> FileSigner:
    """The signing key (made on first start)."""
    return load_or_create_signer(settings.resolved_log_key_file)


def advance(rt: Runtime, signer: FileSigner | None = None) -> TreeHead | None:
    """Sequence what is queued, sign a head if the tree grew, witness it (the log's job)."""
    signer = signer or log_signer(rt.settings)
    return advance_log(rt.uow, signer, rt.settings.resolved_witness_file)


def _no_head() -> NotFound:
    return NotFound(
        "Le journal n'a pas encore de tête d'arbre signée.",
        "The log has no signed tree head yet.",
        code="no_tree_head",
    )


def current_head(rt: Runtime) -> TreeHead:
    with rt.transaction() as session:
        head = latest_head(session)
    if head is None:
        raise _no_head()
    return head


def log_key(settings: Settings) -> LogKey:
    try:
        public = public_key_of(settings.resolved_log_key_file)
    except SignerKeyError:
        raise _no_head() from None
    return LogKey(key_id_of(public), public)


def consistency(rt: Runtime, first: int, second: int) -> ConsistencyProof:
    """RFC 9162 §2.1.4 between two sizes the log has signed a head for or passed."""
    with rt.transaction() as session:
        latest = latest_head(session)
        if latest is None:
            raise _no_head()
        if not 1 <= first <= second <= latest.tree_size:
            raise Invalid(
                f"Il faut 1 ≤ first ≤ second ≤ {latest.tree_size} (la dernière tête signée).",
                f"Need 1 <= first <= second <= {latest.tree_size} (the latest signed head).",
                code="bad_tree_sizes",
            )
        path = tree.consistency_proof(session.connection(), first, second)
        return ConsistencyProof(
            first, second, path, head_at(session, first), head_at(session, second)
        )


def _pending() -> NotFound:
    return NotFound(
        "Cette trace n'est pas encore dans une tête d'arbre signée ; réessayez dans un instant.",
        "This trace is not in a signed tree head yet; try again shortly.",
        code="proof_pending",
    )


def trace_proof(rt: Runtime, ctx: RequestContext, patient_id: str, trace_id: str) -> InclusionProof:
    """The inclusion proof of one line of the patient's history, against the latest head: for
    who may read that history, and a line he would see there (``History.line``)."""
    with rt.transaction() as session:
        record = gate.open(
            session,
            rt,
            ctx,
            purpose=Purpose.HISTORY,
            action=Action.READ_HISTORY,
            patient_id=patient_id,
        )
        found = record.history.line(trace_id)
        proofs = _proofs(session, patient_id, [found])
        if trace_id not in proofs:
            raise _pending()
        record.trace(Action.READ_HISTORY, target=trace_id, detail={"proof": True})
        return proofs[trace_id]


def page_proofs(rt: Runtime, patient_id: str, page: HistoryPage) -> dict[str, InclusionProof]:
    """Proofs of the lines of a history page the record handle just gave (so already checked
    and traced), by trace id; lines not yet in a signed head are left out."""
    if not page.rows:
        return {}
    with rt.transaction() as session:
        return _proofs(session, patient_id, page.rows)


def _proofs(
    session: Session, patient_id: str, traces: Iterable[Trace]
) -> dict[str, InclusionProof]:
    head = latest_head(session)
    salt = session.scalars(select(ChainSalt.salt).where(ChainSalt.patient_id == patient_id)).first()
    traces = list(traces)
    if head is None or salt is None or not traces:
        return {}
    rows = session.execute(
        select(LogLeaf.seq, LogLeaf.idx).where(
            LogLeaf.patient_id == patient_id,
            LogLeaf.seq.in_([t.seq for t in traces]),
            LogLeaf.idx < head.tree_size,
        )
    )
    places: dict[int, int] = {seq: idx for seq, idx in rows}
    paths = tree.inclusion_proofs(session.connection(), places.values(), head.tree_size)
    return {
        t.id: InclusionProof(
            trace_id=t.id,
            leaf_index=places[t.seq],
            path=paths[places[t.seq]],
            trace=TraceContent(canonical(trail.hashed_fields(t)), t.prev_hash, t.hash, salt),
            head=head,
        )
        for t in traces
        if t.seq in places
    }


def page_verification(rt: Runtime, patient_id: str, page: HistoryPage) -> dict[str, object]:
    """What the history page's script checks (``web/static/transparency.js``): the head the
    page's proofs are against, and each line's proof in the page's order (``None`` when the
    line is not yet in a signed head)."""
    proofs = page_proofs(rt, patient_id, page)
    head = next(iter(proofs.values())).head if proofs else None
    if head is None:
        with rt.transaction() as session:
            head = latest_head(session)
    return {
        "head": head.to_json() if head else None,
        "lines": [
            {"trace_id": e.id, "proof": proofs[e.id].to_json() if e.id in proofs else None}
            for e in page.entries
        ],
    }
