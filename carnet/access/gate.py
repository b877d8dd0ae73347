"""THE way to a patient's data: ``open`` decides, traces, and hands out the record handle.

Every use case reaches a patient's rows — documents, settings, pros, notifications, history,
mailbox — through ``open(...)``, then the returned ``Record``'s parts, never by a query of its
own (tests/test_architecture enforces it). A refusal is traced and answered exactly like a
record that does not exist.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from carnet.access import acts
from carnet.access.facts import RecordFacts
from carnet.access.loading import record_facts, standing
from carnet.access.matrix import Matrix, MatrixSource
from carnet.access.record import Record, refused
from carnet.access.rules import Purpose, Why, card_may, decide_open, decide_record
from carnet.audit import trail
from carnet.audit.rules import Action, Outcome
from carnet.context import RequestContext
from carnet.errors import DmpClosed, LevelTooLow, NotFound, Refusal
from carnet.runtime import Runtime

#: Opening for these purposes is an access a pro makes to the record (ACC-2, TR-2): the
#: medical profile's sections too (ACC-7).
_ACCESSES = frozenset({Purpose.READ, Purpose.HISTORY, Purpose.ADMINISTER, Purpose.PROFILE})


def matrix_of(rt: Runtime) -> Matrix:
    """The instance's habilitation matrix (ACC-1): the operator's, else the stand-in."""
    return rt.state(MatrixSource).current(rt.settings)


def open(
    session: Session,
    rt: Runtime,
    ctx: RequestContext,
    *,
    purpose: Purpose,
    action: Action,
    patient_id: str | None = None,
    ins: str | None = None,
    declares_consent: bool = False,
) -> Record:
    """The requester's handle on one patient's record (by id, else by INS) for ``purpose``,
    or ``NotFound`` — traced as a denied ``action`` when the patient exists."""
    found = standing(
        session,
        ctx,
        patient_id=patient_id,
        ins=ins,
        declares_consent=declares_consent,
        lock_head=True,  # the opening's trace follows: its chain is locked and read now
        upload=purpose is Purpose.UPLOAD,
    )
    if found is None:
        # ID-5 is about the caller's card, whether or not the patient exists: answering it only
        # for existing patients would tell which ones exist.
        raise _refusal_for(Why.LEVEL_TOO_LOW) if card_refused(ctx, purpose) else NotFound()
    patient, facts = found.patient, found.facts
    entry = decide_record(facts)
    opening = decide_open(facts, purpose, entry)
    if not opening.allowed:
        denied = trail.Entry(
            ctx,
            action,
            patient.id,
            Outcome.DENIED,
            why=opening.why.value,
            detail={"purpose": purpose.value},
        )
        raise refused(denied, _refusal_for(opening.why))
    record = Record(
        session, rt, ctx, patient, facts, entry, opening, purpose, matrix_of(rt), found.upload
    )
    if purpose in _ACCESSES and entry.allowed and record.is_pro:
        acts.note_pro_access(record)
    return record


def card_refused(ctx: RequestContext, purpose: Purpose) -> bool:
    return ctx.pro is not None and not card_may(ctx.pro.level, purpose)


def _refusal_for(why: Why) -> Refusal:
    """Refused like an absent record — but for a card level that may not read (ID-5): that is
    about the caller, not the patient, and saying so reveals nothing of the record; and for an
    upload into a closed or opposed profile, which the pro is told is closed (DOC-1, seed 001)."""
    if why is Why.LEVEL_TOO_LOW:
        return LevelTooLow()
    if why is Why.DMP_CLOSED:
        return DmpClosed()  # DOC-1: only ever decided for an upload (rules.upload_into_closed)
    return NotFound()


def facts_of(session: Session, ctx: RequestContext, patient_id: str) -> RecordFacts | None:
    """The decision's facts about one patient for ``ctx``, with nothing read of his record: for
    showing choices made by the same decision (the space switcher, LC-7/LC-8)."""
    found = record_facts(session, ctx, patient_id=patient_id)
    return found[1] if found else None
