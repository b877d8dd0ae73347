"""The patient's space, as JSON. ``{patient_id}`` is the space acted on: one's own, or a child's
or protected adult's (``GET /api/v1/me`` lists them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import File, Form, Query, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from carnet.access import space
from carnet.access.history import PAGE_SIZE, HistoryFilter
from carnet.access.space import read_history
from carnet.http.api.schemas import (
    ArchiveIn,
    DocumentList,
    DocumentOut,
    EmergencySettings,
    HistoryEntryOut,
    HistoryOut,
    MaskIn,
    MedecinTraitantIn,
    MeOut,
    NotificationOut,
    ProRelationOut,
    SettingsOut,
    SpaceOut,
    as_json,
    documents_json,
)
from carnet.http.deps import PatientCtx, RuntimeDep
from carnet.http.routing import OneHop, PrefixedRouter
from carnet.records import service as records
from carnet.records.content import PATIENT_MAX_BYTES
from carnet.records.service import DocumentFilter, NewDocument

router = PrefixedRouter(prefix="/api/v1", tags=["patient"], route_class=OneHop)
P = "/patients/{patient_id}"


@router.get("/me", response_model=MeOut)
def me(rt: RuntimeDep, ctx: PatientCtx) -> MeOut:
    return MeOut(
        person_id=ctx.actor_id,
        spaces=[SpaceOut(**s.__dict__) for s in space.my_spaces(rt, ctx)],
    )


@router.get(P + "/documents", response_model=DocumentList)
def list_documents(
    rt: RuntimeDep,
    ctx: PatientCtx,
    patient_id: str,
    category: str | None = None,
    type_code: Annotated[str | None, Query(alias="type")] = None,
    q: str | None = None,
    since: date | None = None,
    until: date | None = None,
    archived: bool = False,
) -> Response:
    flt = DocumentFilter(
        category=category,
        type_code=type_code,
        text=q,
        since=since,
        until=until,
        include_archived=archived,
    )
    pid, docs = records.list_documents(rt, ctx, patient_id, flt)
    return documents_json(pid, docs)


@router.get(P + "/documents/{document_id}", response_model=DocumentOut)
def get_document(rt: RuntimeDep, ctx: PatientCtx, patient_id: str, document_id: str) -> Response:
    return as_json(DocumentOut.of(records.get_document(rt, ctx, patient_id, document_id)))


@router.get(P + "/documents/{document_id}/content")
def get_content(rt: RuntimeDep, ctx: PatientCtx, patient_id: str, document_id: str) -> Response:
    document, data = records.read_content(rt, ctx, patient_id, document_id)
    return Response(
        data, media_type=document.mime_type, headers={"X-Content-SHA256": document.sha256}
    )


@router.post(P + "/documents", response_model=DocumentOut, status_code=201)
async def upload(
    rt: RuntimeDep,
    ctx: PatientCtx,
    patient_id: str,
    file: Annotated[UploadFile, File()],
    title: Annotated[str, Form(max_length=500)],
    type_code: Annotated[str, Form()] = "EXPPAT_2",
    service_date: Annotated[date | None, Form()] = None,
) -> DocumentOut:
    """DOC-8: PDF, TXT, RTF, JPEG or TIFF, 5 MB at most, checked on the content."""
    data = await file.read(PATIENT_MAX_BYTES + 1)
    new = NewDocument(
        type_code=type_code,
        title=title,
        mime_type=file.content_type or "",
        content=data,
        service_date=service_date,
    )
    document = await run_in_threadpool(records.upload_document, rt, ctx, new, patient_id=patient_id)
    return DocumentOut.of(document)


@router.post(P + "/documents/{document_id}/mask", response_model=DocumentOut)
def mask(
    rt: RuntimeDep, ctx: PatientCtx, patient_id: str, document_id: str, body: MaskIn
) -> DocumentOut:
    """DOC-4: masked from pros, but for the author, administrators and the médecin traitant."""
    return DocumentOut.of(records.set_masked(rt, ctx, patient_id, document_id, body.masked))


@router.post(P + "/documents/mask-all")
def mask_all(rt: RuntimeDep, ctx: PatientCtx, patient_id: str, body: MaskIn) -> dict[str, int]:
    return {"changed": records.mask_all(rt, ctx, patient_id, body.masked)}


@router.post(P + "/documents/{document_id}/archive", response_model=DocumentOut)
def archive(
    rt: RuntimeDep, ctx: PatientCtx, patient_id: str, document_id: str, body: ArchiveIn
) -> DocumentOut:
    return DocumentOut.of(records.set_archived(rt, ctx, patient_id, document_id, body.archived))


@router.delete(P + "/documents/{document_id}", status_code=204)
def delete(rt: RuntimeDep, ctx: PatientCtx, patient_id: str, document_id: str) -> Response:
    records.delete_document(rt, ctx, patient_id, document_id)
    return Response(status_code=204)


@router.get(P + "/history", response_model=HistoryOut)
def history(
    rt: RuntimeDep,
    ctx: PatientCtx,
    patient_id: str,
    page: Annotated[int, Query(ge=1)] = 1,
    since: datetime | None = None,
    until: datetime | None = None,
    action: Annotated[list[str] | None, Query()] = None,
    actor_kind: str | None = None,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """TR-1: newest first, 100 a page; ``before`` (the previous page's ``next_before``) pages
    by cursor, stable while reading adds lines."""
    result = read_history(
        rt,
        ctx,
        patient_id,
        page,
        HistoryFilter(
            since=since,
            until=until,
            actions=frozenset(action) if action else None,
            actor_kind=actor_kind,
        ),
        before=before,
    )
    return as_json(
        HistoryOut(
            page=result.page,
            page_size=PAGE_SIZE,
            total=result.total,
            entries=[HistoryEntryOut.of(e) for e in result.entries],
            next_before=result.next_before,
        )
    )


@router.get(P + "/settings", response_model=SettingsOut)
def get_settings(rt: RuntimeDep, ctx: PatientCtx, patient_id: str) -> SettingsOut:
    s = space.settings(rt, ctx, patient_id)
    return SettingsOut(
        emergency=EmergencySettings(
            samu=s.emergency_samu, others=s.emergency_others, masked=s.emergency_masked
        ),
        medecin_traitant=s.medecin_traitant_rpps,
    )


@router.put(P + "/settings/emergency", response_model=EmergencySettings)
def put_emergency(
    rt: RuntimeDep, ctx: PatientCtx, patient_id: str, body: EmergencySettings
) -> EmergencySettings:
    """ACC-6: the three switches; "masked" only while SAMU or other pros is on."""
    s = space.set_emergency(
        rt, ctx, patient_id, samu=body.samu, others=body.others, masked=body.masked
    )
    return EmergencySettings(
        samu=s.emergency_samu, others=s.emergency_others, masked=s.emergency_masked
    )


@router.put(P + "/settings/medecin-traitant", status_code=204)
def put_medecin_traitant(
    rt: RuntimeDep, ctx: PatientCtx, patient_id: str, body: MedecinTraitantIn
) -> Response:
    space.set_medecin_traitant(rt, ctx, patient_id, body.rpps)
    return Response(status_code=204)


@router.get(P + "/pros", response_model=list[ProRelationOut])
def pros(rt: RuntimeDep, ctx: PatientCtx, patient_id: str) -> list[ProRelationOut]:
    return [ProRelationOut(**r.__dict__) for r in space.relations(rt, ctx, patient_id)]


@router.post(P + "/pros/{rpps}/block", status_code=204)
def block(rt: RuntimeDep, ctx: PatientCtx, patient_id: str, rpps: str) -> Response:
    """ACC-3."""
    space.block(rt, ctx, patient_id, rpps)
    return Response(status_code=204)


@router.post(P + "/pros/{rpps}/unblock", status_code=204)
def unblock(rt: RuntimeDep, ctx: PatientCtx, patient_id: str, rpps: str) -> Response:
    space.unblock(rt, ctx, patient_id, rpps)
    return Response(status_code=204)


@router.post(P + "/pros/{rpps}/authorise", status_code=204)
def authorise(rt: RuntimeDep, ctx: PatientCtx, patient_id: str, rpps: str) -> Response:
    space.authorise(rt, ctx, patient_id, rpps)
    return Response(status_code=204)


@router.put(P + "/pros/{rpps}/administrator", status_code=204)
def designate(rt: RuntimeDep, ctx: PatientCtx, patient_id: str, rpps: str) -> Response:
    """ACC-4: only a pro who has already accessed the profile."""
    space.designate_administrator(rt, ctx, patient_id, rpps)
    return Response(status_code=204)


@router.delete(P + "/pros/{rpps}/administrator", status_code=204)
def revoke(rt: RuntimeDep, ctx: PatientCtx, patient_id: str, rpps: str) -> Response:
    space.revoke_administrator(rt, ctx, patient_id, rpps)
    return Response(status_code=204)


@router.get(P + "/notifications", response_model=list[NotificationOut])
def notifications(rt: RuntimeDep, ctx: PatientCtx, patient_id: str) -> list[NotificationOut]:
    return [
        NotificationOut(
            id=n.id,
            kind=n.kind,
            text=n.text_fr,
            text_en=n.text_en,
            created_at=n.created_at,
            read=n.read_at is not None,
        )
        for n in space.notifications(rt, ctx, patient_id)
    ]


@router.post(P + "/notifications/{notification_id}/read", status_code=204)
def read_notification(
    rt: RuntimeDep, ctx: PatientCtx, patient_id: str, notification_id: str
) -> Response:
    space.mark_notification_read(rt, ctx, patient_id, notification_id)
    return Response(status_code=204)
