"""FHIR R4 routes (INTERFACES.md): PDSm / IHE MHD for documents, TD0.2 for the patient.

Each route translates and calls the same use cases as the JSON API: no rule is written here.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Header, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from carnet.access import pro as pro_cases
from carnet.access.history import PAGE_SIZE
from carnet.access.space import read_history
from carnet.errors import Invalid, NotFound, PreconditionFailed
from carnet.http.deps import AnyCtx, ProCtx, RuntimeDep
from carnet.http.fhir import codes, inbound, patch
from carnet.http.fhir.capability import capability_statement
from carnet.http.fhir.response import FhirResponse
from carnet.http.fhir.shapes import (
    audit_event,
    bundle,
    document_reference,
    fhir_document_id,
    parse_document_id,
    patient_resource,
    search_entry,
)
from carnet.population.service import person_id_for_ins
from carnet.records import service as records
from carnet.records.acts import update_metadata
from carnet.records.reading import DocumentFilter

router = APIRouter(prefix="/fhir", tags=["FHIR"], default_response_class=FhirResponse)
STATUS_IN = {"current": "current", "superseded": "superseded", "entered-in-error": "deleted"}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


async def _json(request: Request) -> Any:
    """The body: a JSON Patch array for PATCH, a resource (an object) otherwise."""
    try:
        body = json.loads(await request.body())
    except (ValueError, RecursionError):
        raise Invalid("Corps JSON illisible.", "Unreadable JSON body.", code="bad_json") from None
    if request.method == "PATCH" or isinstance(body, dict):
        return body
    raise Invalid(
        "Une ressource FHIR (un objet JSON) est attendue.",
        "A FHIR resource (a JSON object) is expected.",
        code="bad_resource",
    )


def _split_token(value: str) -> tuple[str | None, str]:
    system, sep, code = value.partition("|")
    return (system or None, code) if sep else (None, value)


def _ins_param(value: str) -> str:
    system, ins = _split_token(value)
    if system not in codes.INS_SYSTEMS:
        raise Invalid(
            "Système d'identifiant patient inconnu : un matricule INS est attendu.",
            "Unknown patient identifier system: an INS is expected.",
            code="bad_identifier",
        )
    return ins


@router.get("/metadata")
def metadata(request: Request) -> FhirResponse:
    return FhirResponse(capability_statement(_base(request)))


@router.get("/Patient")
def search_patient(
    rt: RuntimeDep, ctx: ProCtx, request: Request, identifier: Annotated[str, Query()]
) -> FhirResponse:
    """TD0.2: 0 or 1 Patient; ``active`` tells whether the space is open; an extension carries
    the caller's authorisation status."""
    system = _split_token(identifier)[0] or ""
    try:
        found = pro_cases.find_patient(rt, ctx, _ins_param(identifier))
    except NotFound:
        return FhirResponse(bundle("searchset", [], total=0))
    entry = search_entry(_base(request), patient_resource(found, system))
    return FhirResponse(bundle("searchset", [entry], total=1))


@router.post("/Consent", status_code=201)
async def declare_consent(rt: RuntimeDep, ctx: ProCtx, request: Request) -> FhirResponse:
    """ACC-2: the calling pro declares that the patient consented."""
    body = await _json(request)
    ref = inbound.consent_patient(body)
    patient_id = await run_in_threadpool(
        pro_cases.declare_consent, rt, ctx, ref.patient_id, ref.ins
    )
    body = dict(body, id=patient_id[:16] + ctx.request_id[:16], status="active")
    body["patient"] = {"reference": f"Patient/{patient_id}"}
    return FhirResponse(body, status_code=201, headers={"Location": f"Consent/{body['id']}"})


@router.post("", status_code=200)
async def transaction(rt: RuntimeDep, ctx: ProCtx, request: Request) -> FhirResponse:
    """ITI-65 Provide Document Bundle: all documents of the set, or none."""
    parsed = inbound.provide_bundle(await _json(request))
    documents = await run_in_threadpool(
        records.publish,
        rt,
        ctx,
        parsed.submissions,
        patient_id=parsed.patient.patient_id,
        ins=parsed.patient.ins,
    )
    by_position = dict(zip(parsed.document_positions, documents, strict=True))
    entries: list[dict[str, Any]] = []
    for position, kind in enumerate(parsed.entry_kinds):
        if position in by_position:
            d = by_position[position]
            location = f"DocumentReference/{fhir_document_id(d)}/_history/{d.meta_version}"
        elif kind == "Binary":
            location = "Binary"
        else:
            location = f"List/{ctx.request_id}"
        entries.append({"response": {"status": "201 Created", "location": location}})
    return FhirResponse(bundle("transaction-response", entries))


@router.post("/DocumentReference", status_code=201)
async def publish_simplified(rt: RuntimeDep, ctx: ProCtx, request: Request) -> FhirResponse:
    """ITI-105 Simplified Publish: the content in ``attachment.data``."""
    dr = inbound.document_reference(await _json(request))
    target = inbound.patient_ref(dr.subject)
    document = (
        await run_in_threadpool(
            records.publish,
            rt,
            ctx,
            [inbound.submission(dr)],
            patient_id=target.patient_id,
            ins=target.ins,
        )
    )[0]
    resource = document_reference(document)
    return FhirResponse(
        resource, status_code=201, headers={"Location": f"DocumentReference/{resource['id']}"}
    )


def _date_bounds(values: list[str]) -> tuple[datetime | None, datetime | None]:
    since = until = None
    for value in values:
        prefix, raw = (
            (value[:2], value[2:]) if value[:2] in ("ge", "le", "gt", "lt", "eq") else ("eq", value)
        )
        try:
            day = date.fromisoformat(raw[:10])
        except ValueError:
            raise Invalid(
                f"Date illisible : {value}.", f"Unreadable date: {value}.", code="bad_date"
            ) from None
        start = datetime.combine(day, time.min, tzinfo=UTC)
        end = datetime.combine(day, time.max, tzinfo=UTC)
        if prefix in ("ge", "eq"):
            since = start
        elif prefix == "gt":
            since = end + timedelta(microseconds=1)
        if prefix in ("le", "eq"):
            until = end
        elif prefix == "lt":
            until = start - timedelta(microseconds=1)
    return since, until


def _document_filter(request: Request) -> DocumentFilter:
    q = request.query_params
    status = [STATUS_IN.get(s.strip(), "?") for v in q.getlist("status") for s in v.split(",")]
    if not status:
        raise Invalid(
            "Le paramètre status est obligatoire.",
            "The status parameter is required.",
            code="missing_status",
        )
    created_since, created_until = _date_bounds(q.getlist("date"))
    period_since, period_until = _date_bounds(q.getlist("period"))
    author = q.get("author.identifier")
    archived = q.get("isArchived")
    return DocumentFilter(
        status=tuple(status),
        type_code=_split_token(q["type"])[1] if "type" in q else None,
        class_code=_split_token(q["category"])[1] if "category" in q else None,
        created_since=created_since,
        created_until=created_until,
        since=period_since.date() if period_since else None,
        until=period_until.date() if period_until else None,
        author_id=_split_token(author)[1].removeprefix("8") if author else None,
        security_label=_split_token(q["security-label"])[1] if "security-label" in q else None,
        unique_id=_split_token(q["identifier"])[1] if "identifier" in q else None,
        only_archived=archived == "true",
        include_archived=archived is None,
    )


def _patient_target(request: Request) -> tuple[str | None, str | None]:
    q = request.query_params
    if "patient" in q:
        return q["patient"].removeprefix("Patient/"), None
    if "patient.identifier" in q:
        return None, _ins_param(q["patient.identifier"])
    raise Invalid(
        "Le paramètre patient ou patient.identifier est obligatoire.",
        "The patient or patient.identifier parameter is required.",
        code="missing_patient",
    )


@router.get("/DocumentReference")
def find_documents(
    rt: RuntimeDep,
    ctx: ProCtx,
    request: Request,
    count: Annotated[int, Query(alias="_count", ge=1, le=500)] = 50,
    offset: Annotated[int, Query(alias="_offset", ge=0)] = 0,
) -> FhirResponse:
    """ITI-67: only what the caller may see (the gate decides), newest first, paged."""
    patient_id, ins = _patient_target(request)
    flt = _document_filter(request)
    try:
        _, documents = records.list_documents(rt, ctx, patient_id, flt, ins=ins)
    except NotFound:
        documents = []
    base = _base(request)
    page = documents[offset : offset + count]
    links = [{"relation": "self", "url": str(request.url)}]
    if offset + count < len(documents):
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "_offset"]
        params.append(("_offset", str(offset + count)))
        query = urlencode(params)
        links.append({"relation": "next", "url": f"{base}/DocumentReference?{query}"})
    entries = [search_entry(base, document_reference(d)) for d in page]
    return FhirResponse(bundle("searchset", entries, total=len(documents), links=links))


def _ids(fhir_id: str) -> tuple[str, str]:
    parsed = parse_document_id(fhir_id)
    if parsed is None:
        raise NotFound()
    return parsed


@router.get("/DocumentReference/{fhir_id}")
def read_document_reference(rt: RuntimeDep, ctx: ProCtx, fhir_id: str) -> FhirResponse:
    patient_id, document_id = _ids(fhir_id)
    document = records.get_document(rt, ctx, patient_id, document_id)
    return FhirResponse(
        document_reference(document), headers={"ETag": f'W/"{document.meta_version}"'}
    )


@router.get("/Binary/{fhir_id}")
def retrieve(
    rt: RuntimeDep, ctx: ProCtx, fhir_id: str, accept: Annotated[str | None, Header()] = None
) -> Response:
    """ITI-68: the document in its own MIME type, or as a FHIR Binary when asked; traced."""
    patient_id, document_id = _ids(fhir_id)
    document, data = records.read_content(rt, ctx, patient_id, document_id)
    if accept and codes.FHIR_JSON in accept:
        return FhirResponse(
            {
                "resourceType": "Binary",
                "id": fhir_id,
                "contentType": document.mime_type,
                "data": base64.b64encode(data).decode(),
            }
        )
    return Response(data, media_type=document.mime_type)


def _version(if_match: str) -> int:
    """``W/"3"`` → 3 (the ETags this door gives); anything else is a version no one has."""
    try:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise PreconditionFailed(
            "Le document a changé depuis votre lecture.", "The document changed since you read it."
        ) from None


async def _patch(
    rt: RuntimeDep,
    ctx: ProCtx,
    request: Request,
    patient_id: str,
    document_id: str,
    if_match: str | None,
) -> FhirResponse:
    operations = await _json(request)
    if not isinstance(operations, list):
        raise Invalid(
            "Un tableau JSON Patch est attendu.",
            "A JSON Patch array is expected.",
            code="bad_patch",
        )
    current = await run_in_threadpool(records.get_document, rt, ctx, patient_id, document_id)
    expected = _version(if_match) if if_match else current.meta_version
    before = document_reference(current)
    change = patch.change_between(before, patch.apply(before, operations))
    updated = await run_in_threadpool(
        partial(update_metadata, expected_version=expected),
        rt,
        ctx,
        patient_id,
        document_id,
        change,
    )
    return FhirResponse(
        document_reference(updated), headers={"ETag": f'W/"{updated.meta_version}"'}
    )


@router.patch("/DocumentReference/{fhir_id}")
async def update_document_metadata(
    rt: RuntimeDep,
    ctx: ProCtx,
    request: Request,
    fhir_id: str,
    if_match: Annotated[str | None, Header()] = None,
) -> FhirResponse:
    """Metadata update: status, securityLabel and isArchived only (anything else: 405)."""
    patient_id, document_id = _ids(fhir_id)
    return await _patch(rt, ctx, request, patient_id, document_id, if_match)


@router.patch("/DocumentReference")
async def update_document_metadata_conditional(
    rt: RuntimeDep,
    ctx: ProCtx,
    request: Request,
    identifier: Annotated[str, Query()],
    if_match: Annotated[str | None, Header()] = None,
) -> FhirResponse:
    """The conditional form, on the business identifier (masterIdentifier) and the patient."""
    patient_id, ins = _patient_target(request)
    flt = DocumentFilter(
        status=("current",), unique_id=_split_token(identifier)[1], include_archived=True
    )
    pid, found = await run_in_threadpool(records.list_documents, rt, ctx, patient_id, flt, ins=ins)
    if len(found) != 1:
        raise NotFound()
    return await _patch(rt, ctx, request, pid, found[0].id, if_match)


@router.get("/AuditEvent")
def audit_events(
    rt: RuntimeDep,
    ctx: AnyCtx,
    request: Request,
    page: Annotated[int, Query(alias="_page", ge=1)] = 1,
) -> FhirResponse:
    """The traces, for the patient (and who acts for him) and his administrators (ACC-4)."""
    patient_id, ins = _patient_target(request)
    if patient_id is None:
        patient_id = person_id_for_ins(rt.uow, ins or "")
        if patient_id is None:
            raise NotFound()
    history = read_history(rt, ctx, patient_id, page)
    base = _base(request)
    entries = [search_entry(base, audit_event(e, patient_id)) for e in history.entries]
    links = [{"relation": "self", "url": str(request.url)}]
    if page * PAGE_SIZE < history.total:
        links.append(
            {"relation": "next", "url": str(request.url.include_query_params(_page=page + 1))}
        )
    return FhirResponse(bundle("searchset", entries, total=history.total, links=links))
