"""FHIR R4 for the medical profile (INTERFACES.md): Observation, Immunization, AllergyIntolerance,
Condition, FamilyMemberHistory, MedicationStatement, RelatedPerson — search by ``patient`` (and
``code``, ``date``), read, and, with a patient token, create, update, delete; advance directives as
Consent (search, read); the International Patient Summary, ``Patient/{id}/$summary``.

Pros see what ACC-7 allows (a section they may not read answers an empty search, like an absent
one); the patient writes his own. Each route translates and calls the profile's use cases.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from carnet.access.pro import read_consent
from carnet.access.rules import Section
from carnet.context import RequestContext
from carnet.errors import Invalid, NotFound
from carnet.http.deps import AnyCtx, RuntimeDep
from carnet.http.fhir import codes
from carnet.http.fhir import profile_inbound as inbound
from carnet.http.fhir.response import FhirResponse, json_body_only, json_only
from carnet.http.fhir.search import checked_params, date_bounds, nothing_found
from carnet.http.fhir.shapes import declared_consent, etag, parse_consent_id
from carnet.http.routing import OneHop, PrefixedRouter
from carnet.population.service import person_id_for_ins
from carnet.profile import entourage, fhir, service
from carnet.profile.catalog import MEASURES
from carnet.profile.ips import ips_bundle
from carnet.profile.summary import read_summary
from carnet.runtime import Runtime

router = PrefixedRouter(
    prefix="/fhir",
    tags=["FHIR"],
    default_response_class=FhirResponse,
    dependencies=[Depends(json_only)],
    route_class=OneHop,
)

#: The resources of the profile's sections of entries, and where their rows live.
ENTRY_TYPES: dict[str, tuple[Section, ...]] = {
    "AllergyIntolerance": (Section.ALLERGIES,),
    "Condition": (Section.CONDITIONS, Section.HISTORY),
    "FamilyMemberHistory": (Section.HISTORY,),
    "MedicationStatement": (Section.TREATMENTS,),
}
WRITABLE = ("Observation", "Immunization", "RelatedPerson", *ENTRY_TYPES)
READABLE = (*WRITABLE, "Consent")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


def _patient_id(rt: Runtime, request: Request) -> str:
    q = request.query_params
    if "patient" in q:
        return q["patient"].removeprefix("Patient/")
    if "patient.identifier" in q:
        system, _, ins = q["patient.identifier"].partition("|")
        if system not in codes.INS_SYSTEMS:
            raise Invalid(
                "Système d'identifiant patient inconnu : un matricule INS est attendu.",
                "Unknown patient identifier system: an INS is expected.",
                code="bad_identifier",
            )
        found = person_id_for_ins(rt.uow, ins)
        if found is None:
            raise NotFound()
        return found
    raise Invalid(
        "Le paramètre patient est obligatoire.",
        "The patient parameter is required.",
        code="missing_patient",
    )


def _effective(resource: dict[str, Any]) -> datetime | None:
    found = resource.get("effectiveDateTime") or resource.get("occurrenceDateTime")
    if not found:
        return None
    moment = datetime.fromisoformat(str(found).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _observations(
    rt: Runtime, ctx: RequestContext, pid: str, code: str | None
) -> list[dict[str, Any]]:
    wanted = None if code is None else {code.partition("|")[2] or code}
    bmi = MEASURES["bmi"].loinc
    series = service.measures(rt, ctx, pid, None if wanted is None or bmi in wanted else wanted)
    found: list[dict[str, Any]] = []
    for s in series:
        if wanted is not None and s.kind.loinc not in wanted:
            continue
        for p in s.points:
            found.append(
                fhir.bmi_observation(pid, p.id, p.at, p.value)
                if s.kind.computed
                else fhir.observation(pid, s.kind, p)
            )
    return found


def search(
    rt: Runtime, ctx: RequestContext, kind: str, pid: str, request: Request
) -> list[dict[str, Any]]:
    """The caller's view of one kind of resource for one patient: [] where he may see none."""
    q = request.query_params
    try:
        if kind == "Observation":
            found = _observations(rt, ctx, pid, q.get("code"))
        elif kind == "Immunization":
            found = [fhir.immunization(pid, v) for v in service.vaccinations(rt, ctx, pid).given]
        elif kind in ("RelatedPerson", "Consent"):
            people = entourage.entourage(rt, ctx, pid)
            found = (
                [fhir.related_person(pid, c) for c in people.contacts]
                if kind == "RelatedPerson"
                else [fhir.consent(pid, d) for d in people.directives]
            )
        else:
            found = [
                fhir.entry_resource(pid, e)
                for section in ENTRY_TYPES[kind]
                for e in service.list_entries(rt, ctx, pid, section)
            ]
            found = [r for r in found if r["resourceType"] == kind]
    except NotFound:
        nothing_found(ctx)
        return []
    since, until = date_bounds(q.getlist("date"))
    if since or until:
        found = [
            r
            for r in found
            if (at := _effective(r)) is not None
            and (since is None or at >= since)
            and (until is None or at <= until)
        ]
    return found


def _bundle(request: Request, resources: list[dict[str, Any]]) -> dict[str, Any]:
    base = _base(request)
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": str(request.url)}],
        "entry": [
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def _ids(fhir_id: str) -> tuple[str, str, str]:
    parsed = fhir.parse_resource_id(fhir_id)
    if parsed is None:
        raise NotFound()
    return parsed


#: What every search of the profile takes (``code`` too, for Observation).
PROFILE_PARAMS = frozenset({"patient", "patient.identifier", "date"})


def _etag_of(resource: dict[str, Any]) -> dict[str, str]:
    """The resource's version as a weak ETag, where it has one (issue 16)."""
    version = resource.get("meta", {}).get("versionId")
    return etag(version) if version else {}


def _search_route(kind: str) -> Callable[..., FhirResponse]:
    def search_resources(rt: RuntimeDep, ctx: AnyCtx, request: Request) -> FhirResponse:
        pid = _patient_id(rt, request)
        known = PROFILE_PARAMS | ({"code"} if kind == "Observation" else set())
        warnings = checked_params(request, frozenset(known))
        found = _bundle(request, search(rt, ctx, kind, pid, request))
        found["entry"] += warnings
        return FhirResponse(found)

    search_resources.__doc__ = f"{kind} of a patient's medical profile (ACC-7 for pros)."
    return search_resources


def _read_route(kind: str) -> Callable[..., FhirResponse]:
    def read_resource(rt: RuntimeDep, ctx: AnyCtx, request: Request, fhir_id: str) -> FhirResponse:
        declared = parse_consent_id(fhir_id) if kind == "Consent" else None
        if declared is not None:  # ACC-2's consent, where ``POST Consent`` said it is
            found = read_consent(rt, ctx, *declared)
            return FhirResponse(declared_consent(found), headers=etag(1))
        _, pid, _ = _ids(fhir_id)
        for resource in search(rt, ctx, kind, pid, request):
            if resource["id"] == fhir_id:
                return FhirResponse(resource, headers=_etag_of(resource))
        raise NotFound()

    read_resource.__doc__ = f"One {kind} of a patient's medical profile."
    return read_resource


async def _body(request: Request, kind: str) -> dict[str, Any]:
    json_body_only(request)
    try:
        parsed = json.loads(await request.body())
    except ValueError:
        raise Invalid("Corps JSON illisible.", "Unreadable JSON body.", code="bad_json") from None
    return inbound.checked(parsed, kind)


def _write(
    rt: Runtime,
    ctx: RequestContext,
    kind: str,
    body: dict[str, Any],
    row_id: str | None,
    pid: str | None,
) -> dict[str, Any]:
    """Create (``row_id`` None) or update one resource; the resource as stored."""
    if kind == "Observation":
        patient, m = inbound.measure(body)
        _same(pid, patient)
        if row_id is None:
            view = service.add_measure(rt, ctx, patient, m)
        else:
            view = service.update_measure(rt, ctx, patient, row_id, m)
        return fhir.measure_observation(patient, view)
    if kind == "Immunization":
        patient, v = inbound.vaccination(body)
        _same(pid, patient)
        if row_id is None:
            given = service.add_vaccination(rt, ctx, patient, v)
        else:
            given = service.update_vaccination(rt, ctx, patient, row_id, v)
        return fhir.immunization(patient, given)
    if kind == "RelatedPerson":
        patient, c = inbound.contact(body)
        _same(pid, patient)
        return fhir.related_person(patient, entourage.save_contact(rt, ctx, patient, c, row_id))
    patient, e = inbound.entry(body)
    _same(pid, patient)
    if row_id is None:
        line = service.add_entry(rt, ctx, patient, e)
    else:
        line = service.update_entry(rt, ctx, patient, row_id, e)
    return fhir.entry_resource(patient, line)


def _same(expected: str | None, found: str) -> None:
    if expected is not None and expected != found:
        raise Invalid(
            "La ressource ne concerne pas ce patient.",
            "The resource is not about this patient.",
            code="patient_mismatch",
        )


def _create_route(kind: str) -> Callable[..., Any]:
    async def create_resource(rt: RuntimeDep, ctx: AnyCtx, request: Request) -> FhirResponse:
        body = await _body(request, kind)
        resource = await run_in_threadpool(_write, rt, ctx, kind, body, None, None)
        return FhirResponse(
            resource,
            status_code=201,
            headers={"Location": f"{kind}/{resource['id']}", **_etag_of(resource)},
        )

    create_resource.__doc__ = f"The patient adds a {kind} to his medical profile (PRF-2)."
    return create_resource


def _update_route(kind: str) -> Callable[..., Any]:
    async def update_resource(
        rt: RuntimeDep, ctx: AnyCtx, request: Request, fhir_id: str
    ) -> FhirResponse:
        _, pid, row_id = _ids(fhir_id)
        body = await _body(request, kind)
        resource = await run_in_threadpool(_write, rt, ctx, kind, body, row_id, pid)
        return FhirResponse(resource, headers=_etag_of(resource))

    update_resource.__doc__ = f"The patient changes a {kind} of his medical profile (PRF-2)."
    return update_resource


def _delete_route(kind: str) -> Callable[..., Response]:
    def delete_resource(rt: RuntimeDep, ctx: AnyCtx, fhir_id: str) -> Response:
        _, pid, row_id = _ids(fhir_id)
        if kind == "Observation":
            service.delete_measure(rt, ctx, pid, row_id)
        elif kind == "Immunization":
            service.delete_vaccination(rt, ctx, pid, row_id)
        elif kind == "RelatedPerson":
            entourage.delete_contact(rt, ctx, pid, row_id)
        else:
            service.delete_entry(rt, ctx, pid, ENTRY_TYPES[kind], row_id)
        return Response(status_code=204)

    delete_resource.__doc__ = f"The patient deletes a {kind} of his medical profile (PRF-2)."
    return delete_resource


@router.get("/Patient/{patient_id}/$summary")
def patient_summary(rt: RuntimeDep, ctx: AnyCtx, request: Request, patient_id: str) -> FhirResponse:
    """The International Patient Summary: a document Bundle of what the caller may see."""
    found = read_summary(rt, ctx, patient_id)
    return FhirResponse(ips_bundle(found, _base(request)))


for _kind in READABLE:
    router.add_api_route(f"/{_kind}", _search_route(_kind), methods=["GET"], name=f"search_{_kind}")
    router.add_api_route(
        f"/{_kind}/{{fhir_id}}", _read_route(_kind), methods=["GET"], name=f"read_{_kind}"
    )
for _kind in WRITABLE:
    router.add_api_route(
        f"/{_kind}", _create_route(_kind), methods=["POST"], status_code=201, name=f"create_{_kind}"
    )
    router.add_api_route(
        f"/{_kind}/{{fhir_id}}", _update_route(_kind), methods=["PUT"], name=f"update_{_kind}"
    )
    router.add_api_route(
        f"/{_kind}/{{fhir_id}}",
        _delete_route(_kind),
        methods=["DELETE"],
        status_code=204,
        name=f"delete_{_kind}",
    )
