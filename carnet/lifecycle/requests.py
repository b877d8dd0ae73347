"""The patients' requests that reach the operator (LC-4, LC-6): a new activation code asked
from the log-in page, rectification and limitation asked in the space, oppositions made there.
``carnet population requests`` lists them; handling an activation request (``reissue-code``)
marks it done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update

from carnet import clock
from carnet.access.rules import LifeAct
from carnet.audit import trail
from carnet.audit.rules import Action
from carnet.context import ActorKind, Door, RequestContext
from carnet.errors import Invalid, NotFound
from carnet.ids import new_id
from carnet.lifecycle.models import LifeRequest
from carnet.lifecycle.rules import MAX_REQUEST_TEXT, RIGHTS_REQUESTS, RequestKind
from carnet.lifecycle.service import open_for
from carnet.population.models import Patient
from carnet.population.rules import ProfileState
from carnet.population.service import patient_by_ins
from carnet.runtime import Runtime

#: Who asks from the log-in page: not logged in, so not the patient for the trail.
LOGIN_PAGE = RequestContext(kind=ActorKind.SYSTEM, actor_id="login-page", door=Door.WEB)


def request_code(rt: Runtime, ins: str, birth_date: date) -> None:
    """LC-4: « activation is possible at any time »: whoever lost his letter asks for a new
    code with his INS and birth date. The answer is the same whatever is found (no one learns
    who has a profile); a matching created profile gets one open request, traced."""
    with rt.transaction() as session:
        patient = patient_by_ins(session, ins.strip().upper())
        if (
            patient is None
            or patient.birth_date != birth_date
            or patient.state != ProfileState.CREATED.value
        ):
            return
        pending = session.scalars(
            select(LifeRequest.id).where(
                LifeRequest.patient_id == patient.id,
                LifeRequest.kind == RequestKind.ACTIVATION_CODE.value,
                LifeRequest.done_at.is_(None),
            )
        ).first()
        if pending is not None:
            return
        session.add(_request(patient.id, RequestKind.ACTIVATION_CODE, None, LOGIN_PAGE.actor_id))
        trail.record(
            session,
            LOGIN_PAGE,
            Action.REQUEST_ACTIVATION_CODE,
            patient_id=patient.id,
        )


def _request(patient_id: str, kind: RequestKind, text: str | None, by: str) -> LifeRequest:
    return LifeRequest(
        patient_id=patient_id,
        id=new_id(),
        kind=kind.value,
        text=text,
        made_by=by,
        created_at=clock.now(),
        done_at=None,
    )


def record_request(rt: Runtime, ctx: RequestContext, patient_id: str, kind: str, text: str) -> str:
    """LC-6: a request for rectification (identity comes from the operator) or limitation,
    made in the space; it reaches the operator. Its id."""
    try:
        wanted = RequestKind(kind)
    except ValueError:
        wanted = None
    if wanted not in RIGHTS_REQUESTS:
        raise Invalid(
            "Demande : rectification ou limitation.",
            "Request: rectification or limitation.",
            code="bad_request_kind",
        )
    assert wanted is not None
    text = text.strip()
    if not text or len(text) > MAX_REQUEST_TEXT:
        raise Invalid(
            f"Décrivez votre demande (au plus {MAX_REQUEST_TEXT} caractères).",
            f"Describe your request (at most {MAX_REQUEST_TEXT} characters).",
            code="bad_request_text",
        )
    with rt.transaction() as session:
        record = open_for(session, rt, ctx, patient_id, LifeAct.REQUEST)
        row = _request(patient_id, wanted, text, ctx.actor_id)
        session.add(row)
        record.trace(Action.RECORD_REQUEST, target=row.id, detail={"kind": wanted.value})
        return row.id


@dataclass(frozen=True)
class RequestLine:
    """A request as the operator lists it."""

    id: str
    kind: str
    ins: str
    first_names: str
    birth_names: str
    text: str | None
    created_at: datetime
    done_at: datetime | None


def list_requests(
    rt: Runtime, *, include_done: bool = False, limit: int = 500
) -> list[RequestLine]:
    """The operator's queue, oldest first (what waits longest comes first)."""
    with rt.transaction() as session:
        query = (
            select(LifeRequest, Patient.ins, Patient.first_names, Patient.birth_names)
            .join(Patient, Patient.id == LifeRequest.patient_id)
            .order_by(LifeRequest.created_at, LifeRequest.id)
            .limit(limit)
        )
        if not include_done:
            query = query.where(LifeRequest.done_at.is_(None))
        return [
            RequestLine(r.id, r.kind, ins, first, birth, r.text, r.created_at, r.done_at)
            for r, ins, first, birth in session.execute(query)
        ]


def mark_done(rt: Runtime, request_id: str) -> None:
    with rt.transaction() as session:
        done = session.execute(
            update(LifeRequest)
            .where(LifeRequest.id == request_id, LifeRequest.done_at.is_(None))
            .values(done_at=clock.now()),
            execution_options={"synchronize_session": False},
        )
        if not getattr(done, "rowcount", 0):
            raise NotFound("Aucune demande ouverte sous ce numéro.", "No open request by that id.")
