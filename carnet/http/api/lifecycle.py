"""The profile's life, as JSON (LC-4…LC-8, LC-6): closing, opposing, the full export, the
patient's requests, a representative activating or sharing a space he manages, and a new
activation code asked for without logging in."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from carnet.http.deps import PatientCtx, RuntimeDep
from carnet.http.routing import OneHop, PrefixedRouter
from carnet.lifecycle import export, managed, requests, service
from carnet.lifecycle.service import Shut

router = PrefixedRouter(prefix="/api/v1", tags=["lifecycle"], route_class=OneHop)
P = "/patients/{patient_id}"


class CloseIn(BaseModel):
    """LC-5: ``confirm`` must be true (a closing is not undone online); ``delete_archives``
    asks for the documents and history to be destroyed within 3 months instead of archived 10
    years."""

    confirm: bool = False
    delete_archives: bool = False


class ShutOut(BaseModel):
    state: str
    archive_until: str
    deletion_due: str | None
    deleted: dict[str, int] = Field(description="Rows deleted at once, table by table.")

    @staticmethod
    def of(shut: Shut) -> ShutOut:
        return ShutOut(
            state=shut.state.value,
            archive_until=shut.archive_until,
            deletion_due=shut.deletion_due,
            deleted=shut.deleted.rows,
        )


class RequestIn(BaseModel):
    kind: Literal["rectification", "limitation"]
    text: str = Field(max_length=2000)


class RequestOut(BaseModel):
    id: str


class SamuIn(BaseModel):
    """ACC-6 at activation: asked, no answer pre-selected (``null`` is refused)."""

    emergency_samu: bool | None = None


class ShareIn(BaseModel):
    ins: str = Field(max_length=15)
    birth_date: date


class CodeRequestIn(BaseModel):
    ins: str = Field(max_length=15)
    birth_date: date


@router.post(P + "/close", response_model=ShutOut)
def close(rt: RuntimeDep, ctx: PatientCtx, patient_id: str, body: CloseIn) -> ShutOut:
    """LC-5: closing. The medical profile and the mailbox are deleted at once; SMTP then
    answers « …est clôturée. »; a pro's upload is refused (``dmp_closed``)."""
    return ShutOut.of(
        service.close_profile(
            rt, ctx, patient_id, confirm=body.confirm, delete_archives=body.delete_archives
        )
    )


@router.post(P + "/oppose", response_model=ShutOut)
def oppose(rt: RuntimeDep, ctx: PatientCtx, patient_id: str, body: CloseIn) -> ShutOut:
    """LC-6: opposition, at any time: the effects of closing, and no profile is created again
    by the operator's feed. ``{"confirm": true}`` is required."""
    return ShutOut.of(
        service.oppose_profile(
            rt, ctx, patient_id, confirm=body.confirm, delete_archives=body.delete_archives
        )
    )


@router.get(
    P + "/export",
    responses={
        200: {"content": {"application/zip": {}}, "description": "The export, streamed."},
        202: {"description": "Being built: its progress; ask again."},
    },
)
async def get_export(rt: RuntimeDep, ctx: PatientCtx, patient_id: str) -> Response:
    """LC-6: the full export. The first call starts it and answers 202 with its progress
    (``done`` of ``total`` documents) while it is built; once ready, the zip: ``index.html``,
    every document, ``fhir/bundle.json`` (R4 collection Bundle), ``manifest.json``
    (SHA-256 of each file, the log's signed tree head)."""
    status = await run_in_threadpool(export.request_export, rt, ctx, patient_id)
    if not status.ready:
        return JSONResponse(status.to_json(), status_code=202, headers={"Retry-After": "2"})
    ready, chunks = await run_in_threadpool(export.download, rt, ctx, patient_id, status.id)
    return StreamingResponse(
        chunks,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="mon-espace-sante-{ready.id[:8]}.zip"',
            "Cache-Control": "no-store",
        },
    )


@router.post(P + "/requests", response_model=RequestOut, status_code=201)
def make_request(rt: RuntimeDep, ctx: PatientCtx, patient_id: str, body: RequestIn) -> RequestOut:
    """LC-6: a request for rectification (identity is the operator's) or limitation; it
    reaches the operator (``carnet population requests``)."""
    return RequestOut(id=requests.record_request(rt, ctx, patient_id, body.kind, body.text))


@router.post(P + "/activate", status_code=204)
def activate(rt: RuntimeDep, ctx: PatientCtx, patient_id: str, body: SamuIn) -> Response:
    """LC-7, LC-8: a legal representative or a guardian of the person activates the space he
    manages, through his own log-in, answering the SAMU question (ACC-6)."""
    managed.activate_for(rt, ctx, patient_id, emergency_samu=body.emergency_samu)
    return Response(status_code=204)


@router.post(P + "/share", status_code=204)
def share(rt: RuntimeDep, ctx: PatientCtx, patient_id: str, body: ShareIn) -> Response:
    """LC-7: a minor's legal representative shares the space with a second one."""
    managed.share_profile(rt, ctx, patient_id, ins=body.ins, birth_date=body.birth_date)
    return Response(status_code=204)


@router.post("/activation/code-request", status_code=202)
def code_request(rt: RuntimeDep, body: CodeRequestIn) -> dict[str, str]:
    """LC-4: a lost or expired activation code, asked for without logging in. The answer is
    the same whoever asks: the operator sends a new letter when the INS and the birth date
    match a profile to activate."""
    requests.request_code(rt, body.ins, body.birth_date)
    return {
        "message": "Demande enregistrée : si elle correspond à un profil à activer, un nouveau "
        "code vous sera adressé par courrier.",
        "message_en": "Request recorded: if it matches a profile to activate, a new code will "
        "be sent to you by post.",
    }
