"""LC-5: destroying a closed space's archives for real — when the patient asked at closing (done
within three months) or after ten years — and the signed certificate that says so.

Crypto-shredding first: the patient's data keys are destroyed, so whatever copy of a blob or a
sealed row survives anywhere (a backup, an orphan) can no longer be read by anyone. Then the
rows and the blobs go, and the traces through the one deletion the database allows
(``trail.destroy_chain``: the salt forgotten, a cut at the chain's head, the leaves kept), so
``carnet verify-log`` still passes and every head given out still checks. The register's row
stays (the operator's, LC-9), marked ``destroyed_at``: the certificate names the person by it.

All of it commits together or not at all; a run cut short is simply run again.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import exc, select, update

from carnet import clock
from carnet.access.rules import Why
from carnet.audit import trail
from carnet.audit.heads import b64, key_id_of
from carnet.audit.publish import latest_head
from carnet.audit.rules import Action
from carnet.audit.sequencer import forget_salt, sequence_batch
from carnet.audit.signer import load_or_create_signer
from carnet.context import ActorKind, Door, RequestContext
from carnet.db.uow import after_commit
from carnet.ids import new_id
from carnet.keys.service import destroy_keys
from carnet.lifecycle import certificate, rules, sweep
from carnet.lifecycle.letters import write_letter
from carnet.lifecycle.models import DeletionCertificate
from carnet.lifecycle.rules import Destruction
from carnet.lifecycle.space_data import delete_archives
from carnet.logs import get_logger
from carnet.notify.rules import Kind
from carnet.notify.service import enqueue
from carnet.population.rules import ProfileState
from carnet.population.service import patient_by_id
from carnet.runtime import Runtime

log = get_logger(__name__)
JOB = RequestContext(kind=ActorKind.SYSTEM, actor_id="jobs", door=Door.JOB)
#: Rounds of the log's sequencer a destruction waits for: the chain must be in the tree.
SEQUENCER_ROUNDS = 50


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def destroy_archives(rt: Runtime, patient_id: str, *, now: datetime | None = None) -> str | None:
    """Destroy one space's archives if they are due (``rules.destruction_due``); the
    certificate's id, or ``None`` when nothing was due (already done, reopened meanwhile) or
    the chain could not be put in the tree yet (the next run tries again)."""
    for _ in range(SEQUENCER_ROUNDS):  # the patient's traces must all be leaves first
        with rt.transaction() as session:
            if sequence_batch(session) == 0:
                break
    signer = load_or_create_signer(rt.settings.resolved_log_key_file)
    try:
        with rt.transaction() as session:
            patient = patient_by_id(session, patient_id)
            moment = now or clock.now()
            reason = (
                rules.destruction_due(
                    ProfileState(patient.state),
                    patient.archive_until,
                    patient.deletion_due,
                    patient.destroyed_at,
                    moment,
                )
                if patient is not None
                else None
            )
            if patient is None or reason is None:
                return None
            keys = destroy_keys(session, patient_id)
            forget_salt(session, patient_id)
            cut = trail.destroy_chain(session, patient_id)
            deleted = delete_archives(session, patient_id)
            head = latest_head(session)
            certificate_id = new_id()
            body = {
                "type": "carnet-deletion-certificate",
                "version": 1,
                "id": certificate_id,
                "issued_at": moment.isoformat(),
                "person": {"patient_id": patient.id, "ins": patient.ins},
                "reason": reason.value,
                "closed_at": _iso(patient.closed_at or patient.opposed_at),
                "deletion_asked": reason is Destruction.REQUEST,
                "destroyed_at": moment.isoformat(),
                "destroyed": {
                    "data_keys": keys,
                    "blobs": deleted.blobs,
                    "rows": dict(sorted(deleted.rows.items())),
                    "exports": len(deleted.exports),
                    "traces": {
                        "deleted": cut.traces if cut else 0,
                        "up_to_seq": cut.upto_seq if cut else 0,
                        "last_hash": cut.last_hash if cut else None,
                        "salt": "forgotten",
                    },
                },
                "kept": {
                    "register": "the person's entry in the operator's register (LC-9)",
                    "log": "each trace's leaf hash in the transparency log: no content",
                },
                "log_head": (
                    {"tree_size": head.tree_size, "root_hash": b64(head.root_hash)}
                    if head
                    else None
                ),
            }
            signature = signer.sign(certificate.signed_bytes(body))
            session.add(
                DeletionCertificate(
                    id=certificate_id,
                    patient_id=patient.id,
                    issued_at=moment,
                    body=json.dumps(body, sort_keys=True, ensure_ascii=False),
                    signature=signature,
                    key_id=key_id_of(signer.public_key),
                    written_at=None,
                )
            )
            patient.destroyed_at, patient.deletion_due = moment, None
            patient.archive_until = None
            trail.record(
                session,
                JOB,
                Action.DESTROY_ARCHIVES,
                patient_id=None,  # the patient's chain is cut: the act goes on the system's
                target=patient.id,
                why=Why.DAILY_JOB.value,
                detail={"certificate": certificate_id, "reason": reason.value},
            )
            enqueue(session, patient.id, Kind.ARCHIVES_DESTROYED, {"centre": "0"})
            after_commit(session, partial(sweep.remove_all_exports, rt.settings, patient.id))
    except exc.DBAPIError:
        # The database refused the cut (a trace of his still waits for the tree): next run.
        log.warning("destruction_postponed", reason="chain_not_in_log")
        return None
    sweep.sweep_doomed(rt)
    write_certificates(rt)
    return certificate_id


def write_certificates(rt: Runtime) -> int:
    """Each certificate not yet on disk, written for the operator to send (and marked)."""
    written = 0
    with rt.transaction() as session:
        waiting = list(
            session.scalars(
                select(DeletionCertificate).where(DeletionCertificate.written_at.is_(None))
            )
        )
    for row in waiting:
        text = json.dumps(
            certificate.document(json.loads(row.body), row.signature, row.key_id),
            indent=2,
            sort_keys=True,
            ensure_ascii=False,
        )
        write_letter(rt.settings, ("certificates",), f"{row.id}.json", text + "\n")
        with rt.transaction() as session:
            session.execute(
                update(DeletionCertificate)
                .where(DeletionCertificate.id == row.id)
                .values(written_at=clock.now())
            )
        written += 1
    return written


def certificate_of(rt: Runtime, patient_id: str) -> dict[str, Any] | None:
    """The latest certificate of a destroyed space, as handed out."""
    with rt.transaction() as session:
        row = session.scalars(
            select(DeletionCertificate)
            .where(DeletionCertificate.patient_id == patient_id)
            .order_by(DeletionCertificate.issued_at.desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    return certificate.document(json.loads(row.body), row.signature, row.key_id)
