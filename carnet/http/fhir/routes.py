"""FHIR R4 routes (INTERFACES.md): PDSm / IHE MHD for documents, TD0.2 for the patient.

Each route translates and calls the same use cases as the JSON API: no rule is written here.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC
from functools import partial
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Header, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from carnet.access import pro as pro_cases
from carnet.access.history import PAGE_SIZE
from carnet.access.space import read_history
from carnet.errors import Invalid, NotFound, PreconditionFailed
from carnet.http.deps import AnyCtx, ProCtx, RuntimeDep
from carnet.http.fhir import codes, inbound, patch
from carnet.http.fhir.capability import capability_statement
from carnet.http.fhir.response import BadRequest, FhirResponse, json_body_only, json_only
from carnet.http.fhir.search import (
    DOCUMENT_PARAMS,
    PAGED,
    checked_params,
    date_bounds,
    nothing_found,
)
from carnet.http.fhir.shapes import (
    audit_event,
    authored_by,
    bundle,
    declared_consent,
    document_reference,
    etag,
    fhir_document_id,
    fhir_id_of,
    parse_document_id,
    patient_resource,
    search_entry,
    submission_set,
)
from carnet.http.routing import OneHop, PrefixedRouter
from carnet.population.service import person_id_for_ins
from carnet.records import service as records
from carnet.records.acts import update_metadata
from carnet.records.reading import DocumentFilter
from carnet.records.service import AnyDocument
from carnet.transparency.service import page_proofs

router = PrefixedRouter(
    prefix="/fhir",
    tags=["FHIR"],
    default_response_class=FhirResponse,
    dependencies=[Depends(json_only)],
    route_class=OneHop,
)
STATUS_IN = {"current": "current", "superseded": "superseded", "entered-in-error": "deleted"}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


async def _json(request: Request) -> Any:
    """The body: a JSON Patch array for PATCH, a resource (an object) otherwise."""
    json_body_only(request)
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
    warnings = checked_params(request, frozenset({"identifier"}))
    try:
        found = pro_cases.find_patient(rt, ctx, _ins_param(identifier))
    except NotFound:
        return FhirResponse(bundle("searchset", warnings, total=0))
    entry = search_entry(_base(request), patient_resource(found, system))
    return FhirResponse(bundle("searchset", [entry, *warnings], total=1))


@router.get("/Patient/{patient_id}")
def read_patient(rt: RuntimeDep, ctx: AnyCtx, request: Request, patient_id: str) -> FhirResponse:
    """What the caller may know of the patient (TD0.2 for a pro, his own space for the patient's
    side): every ``Patient/{id}`` Carnet returns resolves. Anyone else: 404, like an unknown id."""
    found = pro_cases.read_patient(rt, ctx, patient_id)
    return FhirResponse(patient_resource(found, codes.INS_NIR), headers=etag(1))


@router.post("/Consent", status_code=201)
async def declare_consent(rt: RuntimeDep, ctx: ProCtx, request: Request) -> FhirResponse:
    """ACC-2: the calling pro declares that the patient consented; the ``Location`` reads it."""
    body = await _json(request)
    ref = inbound.consent_patient(body)
    patient_id = await run_in_threadpool(
        pro_cases.declare_consent, rt, ctx, ref.patient_id, ref.ins
    )
    assert ctx.pro is not None  # ProCtx
    resource = declared_consent(pro_cases.DeclaredConsent(patient_id, ctx.pro.rpps, True))
    location = f"{_base(request)}/Consent/{resource['id']}"
    return FhirResponse(resource, status_code=201, headers={"Location": location, **etag(1)})


@router.post("", status_code=200)
@router.post("/", status_code=200, include_in_schema=False)
async def transaction(rt: RuntimeDep, ctx: ProCtx, request: Request) -> FhirResponse:
    """ITI-65 Provide Document Bundle: all documents of the set, or none. Every location answered
    resolves: the documents (versioned), their Binaries, the SubmissionSet ``List``."""
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
    sets = [d.submission_set_id for d in documents if d.submission_set_id]
    set_id = ctx.request_id if ctx.request_id in sets else (sets[0] if sets else None)
    entries: list[dict[str, Any]] = []
    for position, kind in enumerate(parsed.entry_kinds):
        version = 1
        if position in by_position:
            d = by_position[position]
            location = f"DocumentReference/{fhir_document_id(d)}/_history/{d.meta_version}"
            version = d.meta_version
        elif position in parsed.binary_documents:
            location = f"Binary/{fhir_document_id(by_position[parsed.binary_documents[position]])}"
        elif kind == "List" and set_id is not None:
            location = f"List/{fhir_id_of(documents[0].patient_id, set_id)}"
        else:
            entries.append({"response": {"status": "201 Created"}})
            continue
        entries.append(
            {"response": {"status": "201 Created", "location": location, "etag": f'W/"{version}"'}}
        )
    return FhirResponse(bundle("transaction-response", entries))


@router.post("/DocumentReference", status_code=201)
async def publish_simplified(rt: RuntimeDep, ctx: ProCtx, request: Request) -> FhirResponse:
    """ITI-105 Simplified Publish: the content in ``attachment.data``."""
    body = await _json(request)
    dr = inbound.document_reference(body)
    target = inbound.patient_ref(dr.subject)
    document = (
        await run_in_threadpool(
            records.publish,
            rt,
            ctx,
            [inbound.submission(dr, raw=body)],
            patient_id=target.patient_id,
            ins=target.ins,
        )
    )[0]
    resource = document_reference(document)
    location = (
        f"{_base(request)}/DocumentReference/{resource['id']}/_history/{document.meta_version}"
    )
    return FhirResponse(
        resource, status_code=201, headers={"Location": location, **etag(document.meta_version)}
    )


def _document_filter(request: Request) -> DocumentFilter:
    q = request.query_params
    given = [s.strip() for v in q.getlist("status") for s in v.split(",")]
    unknown = sorted({s for s in given if s not in STATUS_IN})
    if unknown:
        raise BadRequest(
            f"Statut inconnu : {', '.join(unknown)} (current, superseded, entered-in-error).",
            f"Unknown status: {', '.join(unknown)} (current, superseded, entered-in-error).",
            code="bad_status",
        )
    status = [STATUS_IN[s] for s in given]
    if not status:
        raise Invalid(
            "Le paramètre status est obligatoire.",
            "The status parameter is required.",
            code="missing_status",
        )
    created_since, created_until = date_bounds(q.getlist("date"))
    period_since, period_until = date_bounds(q.getlist("period"))
    archived = {a.strip() for v in q.getlist("isArchived") for a in v.split(",")}
    if archived - {"true", "false"}:
        raise BadRequest(
            "isArchived : true, false, ou true,false pour les deux.",
            "isArchived: true, false, or true,false for both.",
            code="bad_archived",
        )
    return DocumentFilter(
        status=tuple(status),
        type_code=_split_token(q["type"])[1] if "type" in q else None,
        class_code=_split_token(q["category"])[1] if "category" in q else None,
        created_since=created_since,
        created_until=created_until,
        since=period_since.date() if period_since else None,
        until=period_until.date() if period_until else None,
        security_label=_split_token(q["security-label"])[1] if "security-label" in q else None,
        unique_id=_split_token(q["identifier"])[1] if "identifier" in q else None,
        # DOC-6: archived documents are out of default lists, as on the JSON API; asked for
        # with isArchived=true (them only) or isArchived=true,false (everything).
        only_archived=archived == {"true"},
        include_archived=archived == {"true", "false"},
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


def _bad_cursor() -> Invalid:
    return Invalid(
        "Curseur de page illisible : suivez le lien « next » de la page précédente.",
        "Unreadable page cursor: follow the previous page's « next » link.",
        code="bad_cursor",
    )


def _document_cursor(d: AnyDocument) -> str:
    """Where a page of a listing stopped: its last document's place in the listing's order
    (newest first, then id) — not an offset, so a page is the same however the list moved."""
    at = d.created_at.replace(tzinfo=d.created_at.tzinfo or UTC)
    return f"{round(at.timestamp() * 1_000_000)}-{d.id}"


def _after_cursor(documents: list[AnyDocument], cursor: str | None) -> list[AnyDocument]:
    if cursor is None:
        return documents
    micros, _, last_id = cursor.partition("-")
    if not micros.isdigit() or len(last_id) != 32:
        raise _bad_cursor()
    mark = (int(micros), last_id)

    def after(d: AnyDocument) -> bool:
        at = d.created_at.replace(tzinfo=d.created_at.tzinfo or UTC)
        micros_d = round(at.timestamp() * 1_000_000)
        return micros_d < mark[0] or (micros_d == mark[0] and d.id > mark[1])

    return [d for d in documents if after(d)]


def _next_link(request: Request, cursor: str) -> dict[str, str]:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "_cursor"]
    params.append(("_cursor", cursor))
    return {
        "relation": "next",
        "url": f"{_base(request)}{request.url.path[5:]}?{urlencode(params)}",
    }


@router.get("/DocumentReference")
def find_documents(
    rt: RuntimeDep,
    ctx: ProCtx,
    request: Request,
    count: Annotated[int, Query(alias="_count", ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(alias="_cursor", max_length=80)] = None,
) -> FhirResponse:
    """ITI-67: only what the caller may see (the gate decides), newest first, paged by a
    cursor (the ``next`` link): stable, not an offset."""
    patient_id, ins = _patient_target(request)
    flt = _document_filter(request)
    warnings = checked_params(request, DOCUMENT_PARAMS | PAGED)
    try:
        _, documents = records.list_documents(rt, ctx, patient_id, flt, ins=ins)
    except NotFound:
        nothing_found(ctx)
        documents = []
    if "author.identifier" in request.query_params:
        author = _split_token(request.query_params["author.identifier"])[1]
        documents = [d for d in documents if authored_by(d, author)]
    base = _base(request)
    rest = _after_cursor(list(documents), cursor)
    page = rest[:count]
    links = [{"relation": "self", "url": str(request.url)}]
    if len(rest) > count:
        links.append(_next_link(request, _document_cursor(page[-1])))
    entries = [search_entry(base, document_reference(d)) for d in page]
    return FhirResponse(bundle("searchset", entries + warnings, total=len(documents), links=links))


def _ids(fhir_id: str) -> tuple[str, str]:
    parsed = parse_document_id(fhir_id)
    if parsed is None:
        raise NotFound()
    return parsed


@router.get("/DocumentReference/{fhir_id}")
def read_document_reference(rt: RuntimeDep, ctx: ProCtx, fhir_id: str) -> FhirResponse:
    patient_id, document_id = _ids(fhir_id)
    document = records.get_document(rt, ctx, patient_id, document_id)
    return FhirResponse(document_reference(document), headers=etag(document.meta_version))


@router.get("/DocumentReference/{fhir_id}/_history/{version_id}")
def vread_document_reference(
    rt: RuntimeDep, ctx: ProCtx, fhir_id: str, version_id: str
) -> FhirResponse:
    """vread: the metadata's current version (``meta.versionId``); earlier versions of the
    metadata are not kept, so they answer 404 like an id never given."""
    patient_id, document_id = _ids(fhir_id)
    document = records.get_document(rt, ctx, patient_id, document_id)
    if version_id != str(document.meta_version):
        raise NotFound()
    return FhirResponse(document_reference(document), headers=etag(document.meta_version))


@router.get("/List/{fhir_id}")
def read_submission_set(rt: RuntimeDep, ctx: ProCtx, fhir_id: str) -> FhirResponse:
    """A SubmissionSet (IHE MHD ``List``): the documents of one submission the caller may see;
    none seen answers like an absent one."""
    patient_id, set_id = _ids(fhir_id)
    flt = DocumentFilter(
        status=("current", "superseded"), include_archived=True, submission_set=set_id
    )
    try:
        _, documents = records.list_documents(rt, ctx, patient_id, flt)
    except NotFound:
        documents = []
    if not documents:
        raise NotFound()
    return FhirResponse(submission_set(patient_id, set_id, list(documents)), headers=etag(1))


LIST_PARAMS = frozenset({"patient", "patient.identifier", "code", "identifier", "status", "date"})
LIST_STATUSES = frozenset({"current", "retired", "entered-in-error"})


@router.get("/List")
def find_submission_sets(rt: RuntimeDep, ctx: ProCtx, request: Request) -> FhirResponse:
    """ITI-66 Find Document Lists: the patient's SubmissionSets, as far as the caller sees their
    documents, newest first."""
    patient_id, ins = _patient_target(request)
    warnings = checked_params(request, LIST_PARAMS)
    q = request.query_params
    statuses = {v.strip() for value in q.getlist("status") for v in value.split(",")}
    if statuses - LIST_STATUSES:
        raise BadRequest(
            "Statut de lot inconnu (current, retired, entered-in-error).",
            "Unknown list status (current, retired, entered-in-error).",
            code="bad_status",
        )
    since, until = date_bounds(q.getlist("date"))
    if ("code" in q and _split_token(q["code"])[1] != "submissionset") or (
        statuses and "current" not in statuses  # a SubmissionSet is always current
    ):
        return FhirResponse(bundle("searchset", warnings, total=0))
    flt = DocumentFilter(status=("current", "superseded"), include_archived=True)
    try:
        pid, documents = records.list_documents(rt, ctx, patient_id, flt, ins=ins)
    except NotFound:
        nothing_found(ctx)
        pid, documents = "", []
    sets: dict[str, list[AnyDocument]] = {}
    for d in documents:
        if d.submission_set_id:
            sets.setdefault(d.submission_set_id, []).append(d)
    lists = [
        submission_set(pid, set_id, found)
        for set_id, found in sets.items()
        if (since is None or min(d.created_at for d in found) >= since)
        and (until is None or min(d.created_at for d in found) <= until)
    ]
    if "identifier" in q:
        wanted = _split_token(q["identifier"])[1]
        lists = [r for r in lists if any(i["value"] == wanted for i in r["identifier"])]
    lists.sort(key=lambda r: (r["date"], r["id"]), reverse=True)
    base = _base(request)
    entries = [search_entry(base, r) for r in lists]
    return FhirResponse(bundle("searchset", entries + warnings, total=len(entries)))


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


JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"


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
    body = await _json(request)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not (
        (isinstance(body, list) and kind != MERGE_PATCH)
        or (isinstance(body, dict) and kind != JSON_PATCH)
    ):
        raise Invalid(
            "JSON Patch (un tableau d'opérations) ou JSON Merge Patch (un objet) attendu, "
            "selon le Content-Type.",
            "JSON Patch (an array of operations) or JSON Merge Patch (an object) expected, "
            "as the Content-Type says.",
            code="bad_patch",
        )
    current = await run_in_threadpool(records.get_document, rt, ctx, patient_id, document_id)
    expected = _version(if_match) if if_match else current.meta_version
    before = document_reference(current)
    after = patch.apply(before, body) if isinstance(body, list) else patch.merge(before, body)
    inbound.document_reference(after)  # what the patch made is still a DocumentReference
    change = patch.change_between(before, after)
    updated = await run_in_threadpool(
        partial(update_metadata, expected_version=expected),
        rt,
        ctx,
        patient_id,
        document_id,
        change,
    )
    return FhirResponse(document_reference(updated), headers=etag(updated.meta_version))


@router.patch("/DocumentReference/{fhir_id}")
async def update_document_metadata(
    rt: RuntimeDep,
    ctx: ProCtx,
    request: Request,
    fhir_id: str,
    if_match: Annotated[str | None, Header()] = None,
) -> FhirResponse:
    """Metadata update: status, securityLabel and isArchived only (anything else: 405), by JSON
    Patch or JSON Merge Patch (an object: what fhirpy's ``patch()`` sends)."""
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
    count: Annotated[int, Query(alias="_count", ge=1, le=500)] = PAGE_SIZE,
    cursor: Annotated[str | None, Query(alias="_cursor", max_length=20)] = None,
) -> FhirResponse:
    """The traces, for the patient (and who acts for him) and his administrators (ACC-4),
    newest first. Each read is itself traced, so pages follow a cursor on the chain (the
    ``next`` link), never an offset that the read just shifted."""
    patient_id, ins = _patient_target(request)
    warnings = checked_params(request, frozenset({"patient", "patient.identifier"}) | PAGED)
    if cursor is not None and not (cursor.isdigit() and int(cursor) > 0):
        raise _bad_cursor()
    if patient_id is None:
        patient_id = person_id_for_ins(rt.uow, ins or "")
        if patient_id is None:
            raise NotFound()
    history = read_history(rt, ctx, patient_id, before=int(cursor) if cursor else None, size=count)
    base = _base(request)
    proofs = page_proofs(rt, patient_id, history)
    entries = [
        search_entry(
            base, audit_event(e, patient_id, proofs[e.id].to_json() if e.id in proofs else None)
        )
        for e in history.entries
    ]
    links = [{"relation": "self", "url": str(request.url)}]
    if history.next_before is not None:
        links.append(_next_link(request, str(history.next_before)))
    return FhirResponse(bundle("searchset", entries + warnings, total=history.total, links=links))
