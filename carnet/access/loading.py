"""Turning rows into the decision's facts: once per request, for a bounded record.

Only the gate's side (``carnet/access/``) calls these: they read past every decision.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    false,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session

from carnet import clock
from carnet.access.facts import (
    AccessRequest,
    PatientFacts,
    RecordFacts,
    Relation,
    Requester,
    RequesterKind,
)
from carnet.access.models import AccessSettings, CareRelation
from carnet.access.rules import EVERYTHING, Outline
from carnet.audit import trail
from carnet.context import ActorKind, RequestContext
from carnet.db.direct import Prepared
from carnet.identity.directory import first_establishment
from carnet.identity.models import Pro
from carnet.keys.service import live_key
from carnet.population.models import Patient, PatientIns, PatientRef, Representative
from carnet.population.rules import ProfileState, age_on
from carnet.records.models import ROW_COLUMNS, Document, DocumentRow

_REPRESENTATIVE_KINDS = {k.value: k for k in RequesterKind}


#: ACC-6's defaults, for a patient who never touched his switches.
EMERGENCY_SAMU, EMERGENCY_OTHERS, EMERGENCY_MASKED = True, True, False


def requester_for(session: Session, ctx: RequestContext, patient_id: str) -> Requester:
    """Who asks, when it is not a pro (``record_facts`` reads a pro's standing in its own
    query): the patient, who acts for him, the operator, or a third party."""
    if ctx.kind is ActorKind.PATIENT:
        if ctx.actor_id == patient_id:
            return Requester(kind=RequesterKind.PATIENT, actor_id=patient_id)
        actor = session.get(Patient, ctx.actor_id)
        link = session.get(Representative, (patient_id, actor.ins)) if actor is not None else None
        if link is not None:
            return Requester(
                kind=_REPRESENTATIVE_KINDS[link.kind],
                actor_id=ctx.actor_id,
                represents_patient=True,
            )
    if ctx.kind is ActorKind.OPERATOR:
        return Requester(kind=RequesterKind.OPERATOR, actor_id=ctx.actor_id)
    if ctx.kind is ActorKind.SYSTEM:
        return Requester(kind=RequesterKind.SYSTEM, actor_id=ctx.actor_id)
    return Requester(kind=RequesterKind.THIRD_PARTY, actor_id=ctx.actor_id)


#: What ``record_facts`` reads, in one round trip: the patient's row, his switches, and for a
#: pro (``rpps``; empty otherwise) the pro's relation to him and the SAMU flag.
_STANDING = (
    select(
        *(Patient.__table__.c[name] for name in PatientRef._fields),
        AccessSettings.emergency_samu,
        AccessSettings.emergency_others,
        AccessSettings.emergency_masked,
        AccessSettings.medecin_traitant_rpps,
        CareRelation.authorised,
        CareRelation.blocked,
        CareRelation.administrator,
        CareRelation.first_access_at,
        CareRelation.authorised_at,
        Pro.samu_regulator,
    )
    .select_from(Patient)
    .outerjoin(AccessSettings, AccessSettings.patient_id == Patient.id)
    .outerjoin(
        CareRelation,
        and_(CareRelation.patient_id == Patient.id, CareRelation.rpps == bindparam("rpps")),
    )
    .outerjoin(Pro, Pro.rpps == bindparam("rpps"))
)
_STANDING_BY_ID = _STANDING.where(Patient.id == bindparam("key"))


@dataclass(frozen=True)
class UploadFacts:
    """What an upload needs besides the decision, read by the same query (issue 18: two round
    trips less an upload): the patient's live data key, wrapped (``None`` before his first
    document), and the uploading pro's structure."""

    key_id: str | None
    wrapped_key: bytes | None
    establishment_id: str | None


@dataclass(frozen=True)
class Standing:
    """``record_facts``'s answer for the gate's opening of a record."""

    patient: PatientRef
    facts: RecordFacts
    upload: UploadFacts | None


@lru_cache(maxsize=4)
def standing_query(lock_head: bool, upload: bool) -> Select[Any]:
    """``_STANDING_BY_ID``, with the trace chain's head locked and read (``lock_head``: the
    opening's trace then needs no statement of its own to find it) and the upload's facts."""
    query = _STANDING_BY_ID
    if lock_head:
        head = trail.locked_head(bindparam("key"))
        query = query.add_columns(head.c.seq, head.c.hash).outerjoin(
            head, head.c.patient_id == Patient.id
        )
    if upload:
        key = live_key(bindparam("key"))
        query = query.add_columns(
            key.c.key_id, key.c.wrapped, first_establishment(bindparam("rpps"))
        ).outerjoin(key, key.c.patient_id == Patient.id)
    return query


@lru_cache(maxsize=4)
def _prepared_standing(lock_head: bool, upload: bool) -> Prepared:
    """``standing_query`` run on the driver's cursor (``db.direct``): the gate's every query."""
    return Prepared(standing_query(lock_head, upload))


#: By INS through its look-up (migration 0017), never ``patients.ins``: the register is keyed
#: (and on Citus distributed) by id.
_ID_OF_INS = Prepared(select(PatientIns.patient_id).where(PatientIns.ins == bindparam("ins")))
_PATIENT_COLUMNS = len(PatientRef._fields)
_STANDING_COLUMNS = len(_STANDING.selected_columns)


def record_facts(
    session: Session,
    ctx: RequestContext,
    *,
    patient_id: str | None = None,
    ins: str | None = None,
    declares_consent: bool = False,
) -> tuple[PatientRef, RecordFacts] | None:
    """The patient (by id, else by INS) and the decision's facts about him and whoever ``ctx``
    is, read once per request; ``None`` when no such patient exists."""
    found = standing(
        session, ctx, patient_id=patient_id, ins=ins, declares_consent=declares_consent
    )
    return (found.patient, found.facts) if found is not None else None


def standing(
    session: Session,
    ctx: RequestContext,
    *,
    patient_id: str | None = None,
    ins: str | None = None,
    declares_consent: bool = False,
    lock_head: bool = False,
    upload: bool = False,
) -> Standing | None:
    """``record_facts``, and in the same query for the gate: the patient's trace chain locked
    and handed to the trail (``lock_head``), the upload's facts (``upload``)."""
    pro = ctx.pro if ctx.kind is ActorKind.PRO else None
    session.flush()  # the query below reads past the ORM: pending changes first
    connection = session.connection()
    if not patient_id:
        # Two look-ups of one shard each on Citus (a join of the two would read every shard).
        found = _ID_OF_INS.one_or_none(connection, {"ins": ins or ""})
        if found is None:
            return None
        patient_id = found[0]
    row = _prepared_standing(lock_head, upload).one_or_none(
        connection, {"key": patient_id, "rpps": pro.rpps if pro else ""}
    )
    if row is None:
        return None
    patient = PatientRef(*row[:_PATIENT_COLUMNS])
    samu, others, masked, mt, authorised, blocked, admin, accessed, ever, regulator = row[
        _PATIENT_COLUMNS:_STANDING_COLUMNS
    ]
    extra = row[_STANDING_COLUMNS:]
    if lock_head:
        trail.prime(session, patient.id, extra[0], extra[1])
        extra = extra[2:]
    upload_facts = UploadFacts(*extra) if upload else None
    if pro is not None:
        requester = Requester(
            kind=RequesterKind.PRO,
            actor_id=pro.rpps,
            profession=pro.profession,
            specialty=pro.specialty,
            level=pro.level,
            samu_regulator=bool(regulator),
        )
        relation = Relation(
            authorised=bool(authorised),
            blocked=bool(blocked),
            administrator=bool(admin),
            medecin_traitant=mt == pro.rpps,
            accessed=accessed is not None,
            formerly_authorised=ever is not None and not authorised,
        )
    else:
        requester, relation = requester_for(session, ctx, patient.id), Relation()
    facts = RecordFacts(
        requester=requester,
        relation=relation,
        patient=PatientFacts(
            age=age_on(patient.birth_date, clock.today()),
            state=ProfileState(patient.state),
            emergency_samu=EMERGENCY_SAMU if samu is None else samu,
            emergency_others=EMERGENCY_OTHERS if others is None else others,
            emergency_masked=EMERGENCY_MASKED if masked is None else masked,
        ),
        request=AccessRequest(mode=ctx.mode, reason=ctx.reason, declares_consent=declares_consent),
    )
    return Standing(patient, facts, upload_facts)


def patient_documents(
    session: Session,
    patient_id: str,
    *,
    within: Outline = EVERYTHING,
    statuses: Sequence[str] | None = None,
    archived: bool | None = None,
) -> list[DocumentRow]:
    """A patient's record is bounded (hundreds of documents): fetched whole, then decided.

    ``within`` narrows the fetch to what the decision could allow (``rules.outline``);
    ``statuses`` and ``archived`` to what the caller's own filter keeps. Both only narrow: the
    decision and the filter still run on every row. Deleted documents never list.
    """
    query = _listing_query(within, tuple(statuses) if statuses is not None else None, archived)
    session.flush()  # read past the ORM: this transaction's pending changes first
    return query.made(DocumentRow._make, session.connection(), {"patient_id": patient_id})


@lru_cache(maxsize=1024)
def _listing_query(
    within: Outline, statuses: tuple[str, ...] | None, archived: bool | None
) -> Prepared:
    """Built once per shape (issue 19: building it cost more CPU than running it), run on the
    driver's cursor (``db.direct``); the patient is a bound parameter. Outlines vary by
    profession and author: a bounded few."""
    query = select(*ROW_COLUMNS).where(
        Document.patient_id == bindparam("patient_id"),
        Document.status != "deleted",
        _sql_outline(within),
    )
    if statuses is not None:
        query = query.where(Document.status.in_(_each(statuses)))
    if archived is not None:
        query = query.where(Document.archived.is_(archived))
    return Prepared(query.order_by(Document.created_at.desc(), Document.id))


def _each(values: Sequence[str]) -> list[ColumnElement[str]]:
    """An ``IN`` list of one bound value each, fixed when the query is built: a plain list
    becomes an "expanding" parameter, whose SQL SQLAlchemy renders again at every execution
    (issue 19: a tenth of the listing's CPU, the outline's types being dozens)."""
    return [literal(value, Document.type_code.type) for value in values]


#: What a type code written into the SQL itself may hold: the catalogue's codes (LOINC
#: ``11488-4``, ``DOCPAT01``, ``PRESC-KINE``…) and nothing a quote or an escape could come from.
_PLAIN_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


def _codes(values: Sequence[str]) -> list[ColumnElement[str]]:
    """The outline's type codes as constants in the SQL text, not parameters: dozens of
    parameters made psycopg parse the statement again at every execution (it caches the
    conversion of statements of at most 50 parameters; issue 19: a quarter of a PostgreSQL
    listing's CPU) and SQLAlchemy process each one. The codes come from the habilitation
    matrix, which the operator may write: any code not plainly a code keeps the list bound."""
    if not all(_PLAIN_CODE.fullmatch(value) for value in values):
        return _each(values)
    return [literal_column(f"'{value}'", Document.type_code.type) for value in values]


def _sql_outline(outline: Outline) -> ColumnElement[bool]:
    """``Outline.admits`` in SQL (tests/access compares the two on every shape of outline)."""
    if outline.everything:
        return Document.patient_id.is_not(None)
    admitted: list[ColumnElement[bool]] = []
    if outline.author_id is not None:
        admitted.append(Document.author_id == outline.author_id)
    if outline.others and outline.types:
        others: ColumnElement[bool] = Document.type_code.in_(_codes(sorted(outline.types)))
        if outline.unmasked_only:
            others = and_(others, Document.masked.is_(False))
        admitted.append(others)
    return or_(*admitted) if admitted else false()
