"""Getting a patient's data key, creating it on first use; destroying it (crypto-shredding)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Subquery, bindparam, select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.blobs.crypto import generate_key, unwrap_key, wrap_key
from carnet.errors import NotFound
from carnet.ids import new_id
from carnet.keys.models import PatientKey

_LIVE_KEY = (
    select(PatientKey.key_id, PatientKey.wrapped)
    .where(PatientKey.patient_id == bindparam("patient_id"), PatientKey.destroyed_at.is_(None))
    .order_by(PatientKey.created_at.desc())
    .limit(1)
)


def live_key(patient_id: ColumnElement[str]) -> Subquery:
    """``_LIVE_KEY`` (``patient_id``, ``key_id``, ``wrapped``) as a subquery a caller's first
    query can join (the gate's, for an upload): a round trip less (issue 18). The wrapped key
    goes back to ``current_key`` as ``known``."""
    return (
        select(PatientKey.patient_id, PatientKey.key_id, PatientKey.wrapped)
        .where(PatientKey.patient_id == patient_id, PatientKey.destroyed_at.is_(None))
        .order_by(PatientKey.created_at.desc())
        .limit(1)
        .subquery("live_key")
    )


def current_key(
    session: Session,
    master: bytes,
    patient_id: str,
    *,
    known: tuple[str | None, bytes | None] = (None, None),
) -> tuple[str, bytes]:
    """The patient's live data key ``(key_id, key)``; one is made the first time. ``known``:
    the ``(key_id, wrapped)`` a ``live_key`` join read in this transaction, if it found one."""
    key_id, wrapped = known
    if key_id is not None and wrapped is not None:
        return key_id, unwrap_key(master, wrapped, key_id)
    session.flush()  # a key made earlier in this transaction is found below
    row = session.connection().execute(_LIVE_KEY, {"patient_id": patient_id}).first()
    if row is not None and row.wrapped is not None:
        return row.key_id, unwrap_key(master, row.wrapped, row.key_id)
    key_id = new_id()
    data_key = generate_key()
    session.add(
        PatientKey(
            patient_id=patient_id,
            key_id=key_id,
            wrapped=wrap_key(master, data_key, key_id),
            created_at=clock.now(),
            destroyed_at=None,
        )
    )
    session.flush()
    return key_id, data_key


def key_by_id(session: Session, master: bytes, patient_id: str, key_id: str) -> bytes:
    row = session.get(PatientKey, (patient_id, key_id))
    if row is None or row.wrapped is None:
        raise NotFound(
            "Clé de chiffrement détruite.", "Encryption key destroyed.", code="key_destroyed"
        )
    return unwrap_key(master, row.wrapped, key_id)


def destroy_keys(session: Session, patient_id: str) -> int:
    """Forget every key of the patient: his encrypted content can no longer be read by anyone."""
    rows = list(session.scalars(select(PatientKey).where(PatientKey.patient_id == patient_id)))
    for row in rows:
        row.wrapped = None
        row.destroyed_at = clock.now()
    return len(rows)
