"""The pros' JSON API (for practice software without FHIR, and the pro portal). The access mode
comes from ``X-Access-Mode`` / ``X-Access-Reason`` (INTERFACES.md)."""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Annotated

from fastapi import Query, Response

from carnet.access import pro as pro_cases
from carnet.access import space
from carnet.access.history import PAGE_SIZE, HistoryFilter
from carnet.access.space import read_history
from carnet.errors import Invalid
from carnet.http.api.schemas import (
    DocumentIn,
    DocumentList,
    DocumentOut,
    HistoryEntryOut,
    HistoryOut,
    InsiOut,
    MaskIn,
    PatientFoundOut,
    PatientSearchIn,
    QualifyIn,
    QualifyOut,
    TraitsIn,
    as_json,
    documents_json,
)
from carnet.http.deps import LimiterDep, ProCtx, RuntimeDep
from carnet.http.routing import OneHop, PrefixedRouter
from carnet.identity.traits import Sex, Traits
from carnet.population.identity import find_ins, qualify_ins
from carnet.records import service as records
from carnet.records.service import DocumentFilter, NewDocument

router = PrefixedRouter(prefix="/api/v1/pro", tags=["pro"], route_class=OneHop)
P = "/patients/{patient_id}"


def _new(body: DocumentIn) -> NewDocument:
    try:
        content = base64.b64decode(body.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(
            "Contenu base64 illisible.", "Unreadable base64 content.", code="bad_base64"
        ) from None
    return NewDocument(
        type_code=body.type_code,
        title=body.title,
        mime_type=body.mime_type,
        content=content,
        unique_id=body.unique_id,
        service_date=body.service_date,
        masked=body.masked,
        invisible_patient=body.invisible_patient,
        invisible_representatives=body.invisible_representatives,
        invisible_until=body.invisible_until,
    )


def _traits(body: TraitsIn) -> Traits:
    return Traits(
        body.birth_names, body.first_names, Sex(body.sex), body.birth_date, body.birth_place
    )


@router.post("/insi", response_model=InsiOut)
def insi(rt: RuntimeDep, ctx: ProCtx, limiter: LimiterDep, body: TraitsIn) -> InsiOut:
    """ID-3: the INSi-like look-up, five traits in, the INS out (rate-limited per caller)."""
    answer = find_ins(rt.uow, ctx, limiter, _traits(body))
    t = answer.traits
    return InsiOut(
        ins=answer.ins,
        birth_names=t.birth_names,
        first_names=t.first_names,
        sex=t.sex.value,
        birth_date=t.birth_date,
        birth_place=t.birth_place,
    )


@router.post("/insi/qualify", response_model=QualifyOut)
def qualify(rt: RuntimeDep, ctx: ProCtx, body: QualifyIn) -> QualifyOut:
    """ID-3: the pro checks an INS against the five traits; once qualified it is recorded."""
    return QualifyOut(
        ins=body.ins, status=qualify_ins(rt.uow, ctx, body.ins, _traits(body.traits)).value
    )


@router.post("/patients/search", response_model=PatientFoundOut)
def search(rt: RuntimeDep, ctx: ProCtx, body: PatientSearchIn) -> PatientFoundOut:
    """The INS goes in the body, never in a URL."""
    found = pro_cases.find_patient(rt, ctx, body.ins)
    return PatientFoundOut(
        patient_id=found.patient.id, active=found.active, authorisation=found.authorisation.value
    )


@router.post(P + "/consent", status_code=204)
def consent(rt: RuntimeDep, ctx: ProCtx, patient_id: str) -> Response:
    """ACC-2: the pro declares he obtained the patient's consent."""
    pro_cases.declare_consent(rt, ctx, patient_id)
    return Response(status_code=204)


@router.get(P + "/documents", response_model=DocumentList)
def list_documents(
    rt: RuntimeDep,
    ctx: ProCtx,
    patient_id: str,
    category: str | None = None,
    type_code: Annotated[str | None, Query(alias="type")] = None,
    since: date | None = None,
    until: date | None = None,
    archived: bool = False,
    status: Annotated[list[str] | None, Query()] = None,
) -> Response:
    flt = DocumentFilter(
        category=category,
        type_code=type_code,
        since=since,
        until=until,
        include_archived=archived,
        status=tuple(status or ("current",)),
    )
    pid, docs = records.list_documents(rt, ctx, patient_id, flt)
    return documents_json(pid, docs)


@router.get(P + "/documents/{document_id}", response_model=DocumentOut)
def get_document(rt: RuntimeDep, ctx: ProCtx, patient_id: str, document_id: str) -> Response:
    return as_json(DocumentOut.of(records.get_document(rt, ctx, patient_id, document_id)))


@router.get(P + "/documents/{document_id}/content")
def get_content(rt: RuntimeDep, ctx: ProCtx, patient_id: str, document_id: str) -> Response:
    document, data = records.read_content(rt, ctx, patient_id, document_id)
    return Response(
        data, media_type=document.mime_type, headers={"X-Content-SHA256": document.sha256}
    )


@router.post(P + "/documents", response_model=DocumentOut, status_code=201)
def upload(rt: RuntimeDep, ctx: ProCtx, patient_id: str, body: DocumentIn) -> Response:
    """DOC-1: no consent needed to feed a record; resending the same ``unique_id`` is harmless."""
    document = records.upload_document(rt, ctx, _new(body), patient_id=patient_id)
    return as_json(DocumentOut.of(document), 201)


@router.post(P + "/documents/{document_id}/replace", response_model=DocumentOut, status_code=201)
def replace(
    rt: RuntimeDep, ctx: ProCtx, patient_id: str, document_id: str, body: DocumentIn
) -> DocumentOut:
    """DOC-6: the author's new version; the old one becomes superseded."""
    return DocumentOut.of(records.replace_document(rt, ctx, patient_id, document_id, _new(body)))


@router.delete(P + "/documents/{document_id}", status_code=204)
def delete(rt: RuntimeDep, ctx: ProCtx, patient_id: str, document_id: str) -> Response:
    records.delete_document(rt, ctx, patient_id, document_id)
    return Response(status_code=204)


@router.post(P + "/documents/{document_id}/mask", response_model=DocumentOut)
def mask(
    rt: RuntimeDep, ctx: ProCtx, patient_id: str, document_id: str, body: MaskIn
) -> DocumentOut:
    """The author masks his document; an administrator masks any at the patient's request (ACC-4)."""
    return DocumentOut.of(records.set_masked(rt, ctx, patient_id, document_id, body.masked))


@router.post(P + "/documents/{document_id}/show-to-patient", response_model=DocumentOut)
def show_to_patient(rt: RuntimeDep, ctx: ProCtx, patient_id: str, document_id: str) -> DocumentOut:
    """DOC-3: after the announcement consultation, the author makes the document visible."""
    return DocumentOut.of(records.show_to_patient(rt, ctx, patient_id, document_id))


@router.post(P + "/pros/{rpps}/block", status_code=204)
def block(rt: RuntimeDep, ctx: ProCtx, patient_id: str, rpps: str) -> Response:
    """ACC-4: an administrator blocks another pro at the patient's request."""
    space.block_at_patients_request(rt, ctx, patient_id, rpps)
    return Response(status_code=204)


@router.get(P + "/history", response_model=HistoryOut)
def history(
    rt: RuntimeDep,
    ctx: ProCtx,
    patient_id: str,
    page: Annotated[int, Query(ge=1)] = 1,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """ACC-4: the administrator reads the whole access history (``before``: by cursor)."""
    result = read_history(rt, ctx, patient_id, page, HistoryFilter(), before=before)
    return as_json(
        HistoryOut(
            page=result.page,
            page_size=PAGE_SIZE,
            total=result.total,
            entries=[HistoryEntryOut.of(e) for e in result.entries],
            next_before=result.next_before,
        )
    )
