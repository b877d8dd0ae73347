"""The medical profile over FHIR (real HTTP): a pro's software reads what ACC-7 lets it (fhirpy),
the patient's software writes his own (PRF-2), and every resource returned is valid R4B —
Observation (vital signs), Immunization, AllergyIntolerance, Condition, FamilyMemberHistory,
MedicationStatement, RelatedPerson, Consent, and the IPS document Bundle."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from factories import add_patient, add_pro, patient_ctx, pro_ctx
from fhirpy import SyncFHIRClient
from live_api import Api
from test_fhir_flow import valid

from carnet.access import pro as pro_cases
from carnet.access.rules import Section
from carnet.context import RequestContext
from carnet.population.models import Patient
from carnet.profile import entourage as ent
from carnet.profile import service as profile
from carnet.profile.feed import import_care
from carnet.profile.rules import ContactIn, EntryIn, MeasureIn, VaccinationIn

AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def _filled(api: Api) -> Patient:
    rt = api.rt
    patient = add_patient(rt)
    ctx = patient_ctx(patient)
    profile.add_entry(
        rt, ctx, patient.id, EntryIn(Section.ALLERGIES, "Pénicilline", category="medication")
    )
    profile.add_entry(
        rt, ctx, patient.id, EntryIn(Section.TREATMENTS, "Ramipril 5 mg", detail="1 le matin")
    )
    profile.add_entry(rt, ctx, patient.id, EntryIn(Section.CONDITIONS, "Hypertension"))
    profile.add_entry(
        rt, ctx, patient.id, EntryIn(Section.HISTORY, "Diabète", kind="family", relation="MTH")
    )
    profile.add_entry(
        rt, ctx, patient.id, EntryIn(Section.HISTORY, "Appendicectomie", kind="personal")
    )
    profile.add_measure(rt, ctx, patient.id, MeasureIn("height", 168, "cm", AT))
    profile.add_measure(rt, ctx, patient.id, MeasureIn("weight", 64.5, "kg", AT))
    profile.add_measure(rt, ctx, patient.id, MeasureIn("blood_pressure", 128, "mm[Hg]", AT, 79))
    profile.add_vaccination(rt, ctx, patient.id, VaccinationIn("ROR", date(1990, 5, 2), dose=2))
    ent.save_contact(
        rt, ctx, patient.id, ContactIn("trusted_person", "Marie", "MARTIN", "SIS", "0612345678")
    )
    ent.write_directives(rt, ctx, patient.id, {"situation": "B", "resuscitation": "refuse"})
    import_care(
        rt.uow,
        RequestContext.operator(),
        [
            {
                "ins": patient.ins,
                "date": "2026-10-01",
                "act": "CONSULTATION",
                "rpps": "10000000001",
                "label": "Consultation",
            }
        ],
    )
    return patient


def _fhirpy(api: Api, headers: dict[str, str]) -> SyncFHIRClient:
    return SyncFHIRClient(f"{api.url}/fhir", authorization=headers["Authorization"])


def _search(api: Api, headers: dict[str, str], kind: str, **params: str) -> list[dict[str, Any]]:
    response = api.client.get(f"/fhir/{kind}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    bundle = valid(response.json())
    return [e["resource"] for e in bundle["entry"]]


def test_acc_7_a_pros_software_reads_the_three_sections_with_fhirpy(api: Api) -> None:
    patient = _filled(api)
    doctor = add_pro(api.rt)
    pro_cases.declare_consent(api.rt, pro_ctx(doctor), patient.id)
    client = _fhirpy(api, api.as_pro(doctor))
    [immunization] = client.resources("Immunization").search(patient=patient.id).fetch()
    valid(dict(immunization))
    assert immunization["vaccineCode"]["coding"][0] == {
        "system": "http://hl7.org/fhir/sid/cvx",
        "code": "03",
        "display": "Measles, mumps, rubella (MMR)",
    }
    [trusted] = client.resources("RelatedPerson").search(patient=patient.id).fetch()
    assert trusted["name"][0]["family"] == "MARTIN"
    [directives] = client.resources("Consent").search(patient=patient.id).fetch()
    assert directives["scope"]["coding"][0]["code"] == "adr"
    for kind in ("Observation", "AllergyIntolerance", "Condition", "MedicationStatement"):
        assert client.resources(kind).search(patient=patient.id).fetch() == [], kind
    read = client.reference("Immunization", immunization["id"]).to_resource()
    assert read["id"] == immunization["id"]
    summary = api.client.get(f"/fhir/Patient/{patient.id}/$summary", headers=api.as_pro(doctor))
    bundle = valid(summary.json())
    assert bundle["type"] == "document"
    composition = bundle["entry"][0]["resource"]
    withheld = {
        s["code"]["coding"][0]["code"] for s in composition["section"] if "emptyReason" in s
    }
    assert withheld == {"10160-0", "48765-2", "11450-4", "11348-0", "8716-3"}
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert kinds == {"Composition", "Patient", "Immunization", "RelatedPerson", "Consent"}


def test_acc_7_a_pro_without_consent_gets_nothing(api: Api) -> None:
    patient = _filled(api)
    stranger = add_pro(api.rt)
    assert _search(api, api.as_pro(stranger), "Immunization", patient=patient.id) == []
    response = api.client.get(f"/fhir/Patient/{patient.id}/$summary", headers=api.as_pro(stranger))
    assert response.status_code == 404
    assert valid(response.json())["resourceType"] == "OperationOutcome"


def test_prf_1_the_patient_reads_every_resource_valid_r4b(api: Api) -> None:
    patient = _filled(api)
    me = api.as_patient(patient)
    for kind, count in (
        ("Observation", 4),  # height, weight, blood pressure, BMI computed
        ("Immunization", 1),
        ("AllergyIntolerance", 1),
        ("Condition", 2),  # the condition and the personal history
        ("FamilyMemberHistory", 1),
        ("MedicationStatement", 1),
        ("RelatedPerson", 1),
        ("Consent", 1),
    ):
        found = _search(api, me, kind, patient=patient.id)
        assert len(found) == count, (kind, found)
    pressure = _search(api, me, "Observation", patient=patient.id, code=f"{LOINC}|85354-9")
    assert [c["valueQuantity"]["value"] for c in pressure[0]["component"]] == [128, 79]
    assert pressure[0]["meta"]["profile"] == ["http://hl7.org/fhir/StructureDefinition/vitalsigns"]
    assert _search(api, me, "Observation", patient=patient.id, date="lt2026-11-01") == []
    [bmi] = _search(api, me, "Observation", patient=patient.id, code="39156-5")
    assert bmi["valueQuantity"]["value"] == 22.9
    assert api.client.get(f"/fhir/Observation/{bmi['id']}", headers=me).json()["id"] == bmi["id"]
    summary = valid(api.client.get(f"/fhir/Patient/{patient.id}/$summary", headers=me).json())
    assert all("emptyReason" not in s for s in summary["entry"][0]["resource"]["section"])
    assert "Consultation" not in str(summary)  # reimbursed care is no IPS section


def test_prf_2_the_patients_software_creates_updates_and_deletes(api: Api) -> None:
    patient = add_patient(api.rt)
    me = api.as_patient(patient)
    weight: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "29463-7"}]},
        "subject": {"reference": f"Patient/{patient.id}"},
        "effectiveDateTime": "2026-11-23T07:30:00Z",
        "valueQuantity": {"value": 71.2, "unit": "kg", "system": UCUM, "code": "kg"},
    }
    created = api.client.post("/fhir/Observation", json=weight, headers=me)
    assert created.status_code == 201, created.text
    resource = valid(created.json())
    assert created.headers["Location"] == f"Observation/{resource['id']}"
    weight["valueQuantity"]["value"] = 70.8
    updated = api.client.put(f"/fhir/Observation/{resource['id']}", json=weight, headers=me)
    assert valid(updated.json())["valueQuantity"]["value"] == 70.8
    allergy = {
        "resourceType": "AllergyIntolerance",
        "patient": {"reference": f"Patient/{patient.id}"},
        "code": {"text": "Arachide"},
        "category": ["food"],
        "criticality": "high",
    }
    made = valid(api.client.post("/fhir/AllergyIntolerance", json=allergy, headers=me).json())
    assert made["criticality"] == "high"
    gone = api.client.delete(f"/fhir/AllergyIntolerance/{made['id']}", headers=me)
    assert gone.status_code == 204
    assert _search(api, me, "AllergyIntolerance", patient=patient.id) == []
    assert len(_search(api, me, "Observation", patient=patient.id)) == 1


def test_prf_1_bad_resources_are_refused_with_an_operation_outcome(api: Api) -> None:
    patient = add_patient(api.rt)
    me = api.as_patient(patient)
    base = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "29463-7"}]},
        "subject": {"reference": f"Patient/{patient.id}"},
        "effectiveDateTime": "2026-11-23T07:30:00Z",
    }
    for quantity, error in (
        ({"value": 900, "code": "kg", "system": UCUM}, "impossible_value"),
        ({"value": 0, "code": "kg", "system": UCUM}, "impossible_value"),
        ({"value": 70, "code": "[stone_av]", "system": UCUM}, "bad_unit"),
    ):
        response = api.client.post(
            "/fhir/Observation", json={**base, "valueQuantity": quantity}, headers=me
        )
        assert response.status_code == 422, response.text
        outcome = valid(response.json())
        assert outcome["issue"][0]["details"]["coding"][0]["code"] == error
        assert outcome["issue"][0]["diagnostics"] != outcome["issue"][0]["details"]["text"]
    not_fhir = api.client.post(
        "/fhir/Observation", json={"resourceType": "Observation"}, headers=me
    )
    assert not_fhir.status_code == 422
    assert _search(api, me, "Observation", patient=patient.id) == []


def test_prf_2_a_pros_software_may_not_write_the_profile(api: Api) -> None:
    patient = add_patient(api.rt)
    doctor = add_pro(api.rt)
    pro_cases.declare_consent(api.rt, pro_ctx(doctor), patient.id)
    immunization = {
        "resourceType": "Immunization",
        "status": "completed",
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "88"}]},
        "patient": {"reference": f"Patient/{patient.id}"},
        "occurrenceDateTime": "2026-10-15",
    }
    response = api.client.post("/fhir/Immunization", json=immunization, headers=api.as_pro(doctor))
    assert response.status_code == 403
    assert valid(response.json())["resourceType"] == "OperationOutcome"
    mine = api.client.post("/fhir/Immunization", json=immunization, headers=api.as_patient(patient))
    assert mine.status_code == 201


def test_fhir_capability_statement_lists_the_profiles_resources(api: Api) -> None:
    statement = valid(api.client.get("/fhir/metadata").json())
    kinds = {r["type"] for r in statement["rest"][0]["resource"]}
    assert kinds >= {
        "Observation",
        "Immunization",
        "AllergyIntolerance",
        "Condition",
        "MedicationStatement",
        "RelatedPerson",
        "FamilyMemberHistory",
        "Consent",
    }
