"""Issue 12, findings 3…7: reads left untraced, a patient-existence oracle, actors mislabelled,
LC-7/LC-8 decided twice. Black-box: a real server over real HTTP, the JSON API, the FHIR door
and the web pages (``doors``).
"""

from __future__ import annotations

import re

import pytest
from doors import V1, audit_agents, audit_events, json_history, web_history, web_page
from factories import add_patient, add_pro, add_representative
from live_api import Api

from carnet.identity.models import Pro
from carnet.ids import new_id
from carnet.population.models import Patient
from carnet.population.rules import RepresentativeKind

NOT_THE_REPRESENTATIVE = "Votre représentant"
NOT_A_PRO = "Le système"


# ------------------------------------------------------------------------------------------
# Finding 3: allowed reads of the patient's side leave no trace (TR-1)
# ------------------------------------------------------------------------------------------


def reads_in_history(api: Api, reader: Patient, patient_id: str) -> list[str]:
    """The allowed acts of the history but log-ins, history and document reads: what is left
    are reads of settings, pros and notifications."""
    return [
        e["action"]
        for e in json_history(api, api.as_patient(reader), patient_id)
        if e["outcome"] == "allowed"
        and e["action"] not in ("log_in", "read_history", "list_documents", "read_document")
    ]


def test_tr_1_patient_reading_settings_is_traced(api: Api) -> None:
    """JSON API: his settings, his pros, his notifications; one line for each read."""
    patient = add_patient(api.rt)
    for part in ("settings", "pros", "notifications"):
        read = api.client.get(f"{V1}/patients/{patient.id}/{part}", headers=api.as_patient(patient))
        assert read.status_code == 200, read.text
    reads = reads_in_history(api, patient, patient.id)
    assert "read_settings" in reads
    assert "read_notifications" in reads
    assert len(reads) == 3, reads


def test_tr_1_representative_reading_a_childs_settings_is_traced(api: Api) -> None:
    child = add_patient(api.rt, age=12, first_names="Léa", birth_names="DUBOIS")
    parent = add_patient(api.rt, age=44, first_names="Paul", birth_names="DUBOIS", sex="M")
    add_representative(api.rt, child, parent)
    for part in ("settings", "pros", "notifications"):
        read = api.client.get(f"{V1}/patients/{child.id}/{part}", headers=api.as_patient(parent))
        assert read.status_code == 200, read.text
    reads = reads_in_history(api, parent, child.id)
    assert "read_settings" in reads
    assert "read_notifications" in reads
    assert len(reads) == 3, reads


def test_tr_1_patient_pages_of_settings_and_notifications_are_traced(api: Api) -> None:
    """The web door: « Qui voit mes données » (pros and settings) and the notifications page."""
    patient = add_patient(api.rt)
    for page in ("acces", "notifications"):
        shown = web_page(api, patient, f"/espace/{patient.id}/{page}")
        assert shown.status_code == 200, shown.text[:500]
    reads = reads_in_history(api, patient, patient.id)
    assert "read_settings" in reads
    assert "read_notifications" in reads


# ------------------------------------------------------------------------------------------
# Finding 4: the administrator's block route tells whether a patient exists (ACC-9)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who",
    [
        "unrelated",
        "blocked",  # not a finding: a blocked pro is already refused like a missing patient
    ],
)
def test_acc_9_block_route_does_not_reveal_patient_existence(api: Api, who: str) -> None:
    """A pro who may not enter the record is answered as for a patient id no one has."""
    patient, pro, target = add_patient(api.rt), add_pro(api.rt), add_pro(api.rt)
    if who == "blocked":
        consent = api.client.post(
            f"{V1}/pro/patients/{patient.id}/consent", headers=api.as_pro(pro)
        )
        assert consent.status_code == 204, consent.text
        blocked = api.client.post(
            f"{V1}/patients/{patient.id}/pros/{pro.rpps}/block", headers=api.as_patient(patient)
        )
        assert blocked.status_code == 204, blocked.text
    existing = api.client.post(
        f"{V1}/pro/patients/{patient.id}/pros/{target.rpps}/block", headers=api.as_pro(pro)
    )
    unknown = api.client.post(
        f"{V1}/pro/patients/{new_id()}/pros/{target.rpps}/block", headers=api.as_pro(pro)
    )
    api.refusal(unknown, unknown.status_code)
    assert (existing.status_code, existing.json()) == (unknown.status_code, unknown.json())


# ------------------------------------------------------------------------------------------
# Finding 5: other people's attempts labelled « Votre représentant » (TR-1)
# ------------------------------------------------------------------------------------------


def test_tr_1_strangers_attempts_are_not_labelled_as_the_representative(api: Api) -> None:
    """A patient with no representative; another person of the register tries his space."""
    patient = add_patient(api.rt)
    stranger = add_patient(api.rt, first_names="Paul", birth_names="DURAND", sex="M")
    for part in ("documents", "settings", "pros", "notifications", "history"):
        tried = api.client.get(
            f"{V1}/patients/{patient.id}/{part}", headers=api.as_patient(stranger)
        )
        api.refusal(tried, 404)
    assert web_page(api, stranger, f"/espace/{patient.id}/historique").status_code == 404

    mine = api.as_patient(patient)
    labels = {
        "json": {e["actor"] for e in json_history(api, mine, patient.id)},
        "fhir": {
            str(who.get("display")) for who in audit_agents(audit_events(api, mine, patient.id))
        },
        "web": {NOT_THE_REPRESENTATIVE}
        if NOT_THE_REPRESENTATIVE in web_history(api, patient, patient.id)
        else set(),
    }
    assert {door: NOT_THE_REPRESENTATIVE in found for door, found in labels.items()} == {
        "json": False,
        "fhir": False,
        "web": False,
    }


# ------------------------------------------------------------------------------------------
# Finding 6: LC-7 / LC-8 decided twice, and the two disagree
# ------------------------------------------------------------------------------------------

MANDATES = [
    (15, RepresentativeKind.LEGAL_REPRESENTATIVE),
    (30, RepresentativeKind.LEGAL_REPRESENTATIVE),
    (15, RepresentativeKind.GUARDIAN_OF_PERSON),
    (30, RepresentativeKind.GUARDIAN_OF_PERSON),
    (15, RepresentativeKind.GUARDIAN_OF_PROPERTY),
    (30, RepresentativeKind.GUARDIAN_OF_PROPERTY),
]


def mandates(api: Api) -> tuple[Patient, dict[str, str]]:
    """A person holding every kind of mandate, over a minor and over an adult each."""
    holder = add_patient(api.rt, age=45, first_names="Marc", birth_names="LEROY", sex="M")
    spaces = {holder.id: "self"}
    for age, kind in MANDATES:
        person = add_patient(api.rt, age=age, first_names=f"{kind.value} {age}")
        add_representative(api.rt, person, holder, kind)
        spaces[person.id] = f"{kind.value} of a {age}-year-old"
    return holder, spaces


def test_lc_7_lc_8_every_offered_space_opens(api: Api) -> None:
    """JSON: the spaces ``/me`` offers are exactly those whose documents open."""
    holder, spaces = mandates(api)
    headers = api.as_patient(holder)
    me = api.client.get(f"{V1}/me", headers=headers)
    assert me.status_code == 200, me.text
    offered = {s["patient_id"] for s in me.json()["spaces"]}
    opens = {
        pid
        for pid in spaces
        if api.client.get(f"{V1}/patients/{pid}/documents", headers=headers).status_code == 200
    }
    assert holder.id in offered
    assert {spaces[p] for p in offered} == {spaces[p] for p in opens}


def test_lc_7_lc_8_every_space_the_web_switcher_offers_opens(api: Api) -> None:
    """The web door: the links of « Mes espaces » are exactly the spaces whose pages open."""
    holder, spaces = mandates(api)
    switcher = web_page(api, holder, "/espaces")
    assert switcher.status_code == 200, switcher.text[:500]
    offered = set(re.findall(r'href="/espace/([0-9a-f]{32})/documents"', switcher.text))
    opens = {
        pid
        for pid in spaces
        if web_page(api, holder, f"/espace/{pid}/documents").status_code == 200
    }
    assert holder.id in offered
    assert {spaces[p] for p in offered} == {spaces[p] for p in opens}


# ------------------------------------------------------------------------------------------
# Finding 7: a pro unknown to the directory shown as « Le système » (TR-1)
# ------------------------------------------------------------------------------------------


def test_tr_1_pro_unknown_to_directory_is_not_the_system(api: Api) -> None:
    """A pro with a valid card whom the directory does not (yet) list: he uploads (DOC-1), then
    tries to read. The patient sees a health professional, never « Le système »."""
    patient = add_patient(api.rt)
    ghost = Pro(rpps="19900000001", profession="10", specialty="SM26")  # not in the directory
    sent = api.client.post(
        f"{V1}/pro/patients/{patient.id}/documents",
        json={
            "type_code": "11488-4",
            "title": "Consultation",
            "mime_type": "application/pdf",
            "content_base64": "JVBERi0xLjQK",
        },
        headers=api.as_pro(ghost),
    )
    assert sent.status_code == 201, sent.text
    tried = api.client.get(
        f"{V1}/pro/patients/{patient.id}/documents/{new_id()}", headers=api.as_pro(ghost)
    )
    api.refusal(tried, 404)

    mine = api.as_patient(patient)
    json_labels = {
        e["actor"] for e in json_history(api, mine, patient.id) if e["actor_kind"] == "pro"
    }
    fhir_labels = {
        str(who.get("display"))
        for who in audit_agents(audit_events(api, mine, patient.id))
        if who.get("identifier", {}).get("value", "").endswith(ghost.rpps)
    }
    page = web_history(api, patient, patient.id)
    assert json_labels  # his upload and his attempt are in the history
    assert fhir_labels
    for label in json_labels | fhir_labels:
        assert label != NOT_A_PRO
        assert ghost.rpps in label or "professionnel" in label.lower(), label
    assert NOT_A_PRO not in page
