"""The patient's mailbox over the JSON API, on a real socket (MSG-*)."""

from __future__ import annotations

from factories import PDF, add_patient, add_pro, pro_ctx, upload
from live_api import Api
from smtp_support import (
    add_establishment,
    add_mailbox,
    address_of,
    deliver,
    mail,
)

from carnet.population.rules import ProfileState

V1 = "/api/v1"


def test_msg_1_to_msg_11_the_mailbox_over_json(api: Api) -> None:
    rt = api.rt
    patient = add_patient(rt)
    doctor = add_mailbox(rt, pro=add_pro(rt))
    to = address_of(rt, patient)
    with_file = mail(
        doctor.address,
        to,
        message_id="<api@medecin>",
        headers={"Disposition-Notification-To": doctor.address},
        attachments=[("bilan.pdf", "application/pdf", PDF)],
    )
    deliver(rt, with_file, doctor.address, to)
    me = api.as_patient(patient)
    base = f"{V1}/patients/{patient.id}"

    mailbox = api.client.get(f"{base}/conversations", headers=me)
    assert mailbox.status_code == 200, mailbox.text
    assert mailbox.json()["address"] == to
    [conversation] = mailbox.json()["conversations"]
    assert (conversation["state"], conversation["unread"], conversation["can_reply"]) == (
        "open",
        1,
        True,
    )

    detail = api.client.get(f"{base}/conversations/{conversation['id']}", headers=me).json()
    [heading] = detail["messages"]
    assert heading["body"] is None
    assert heading["read_receipt_requested"]

    opened = api.client.get(f"{base}/messages/{heading['id']}", headers=me)
    assert opened.status_code == 200
    assert opened.json()["body"] == "Bonjour, vos résultats sont normaux."
    [attachment] = opened.json()["attachments"]

    content = api.client.get(
        f"{base}/messages/{heading['id']}/attachments/{attachment['id']}", headers=me
    )
    assert content.content == PDF
    assert content.headers["X-Content-SHA256"] == attachment["sha256"]

    saved = api.client.post(
        f"{base}/messages/{heading['id']}/attachments/{attachment['id']}/save",
        headers=me,
        json={"title": "Bilan"},
    )
    assert saved.status_code == 201, saved.text
    assert saved.json()["category"] == "ESPACE_PERSO"

    answered = api.client.post(
        f"{base}/conversations/{conversation['id']}/reply",
        headers=me,
        json={"body": "Merci docteur", "document_ids": [saved.json()["id"]]},
    )
    assert answered.status_code == 201, answered.text
    assert answered.json()["delivery"] == "queued"
    assert [a["filename"] for a in answered.json()["attachments"]] == ["Bilan.pdf"]
    assert api.client.post(f"{base}/messages/{heading['id']}/read", headers=me).status_code == 204


def test_msg_3_replying_to_a_closed_conversation_is_refused(api: Api) -> None:
    rt = api.rt
    patient = add_patient(rt)
    doctor = add_mailbox(rt, pro=add_pro(rt))
    to = address_of(rt, patient)
    deliver(rt, mail(doctor.address, to, "[FIN]"), doctor.address, to)
    me = api.as_patient(patient)
    base = f"{V1}/patients/{patient.id}"
    [conversation] = api.client.get(f"{base}/conversations", headers=me).json()["conversations"]
    assert conversation["state"] == "closed"
    refused = api.client.post(
        f"{base}/conversations/{conversation['id']}/reply", headers=me, json={"body": "?"}
    )
    body = api.refusal(refused, 403)
    assert body["error"] == "writing_refused"


def test_msg_9_msg_10_writing_to_a_pharmacy_over_json(api: Api) -> None:
    rt = api.rt
    patient = add_patient(rt)
    pharmacy = add_mailbox(
        rt, kind="ORG", establishment=add_establishment(rt, name="Pharmacie des Halles")
    )
    prescription = upload(rt, pro_ctx(add_pro(rt)), patient, type_code="57833-6")
    me = api.as_patient(patient)
    base = f"{V1}/patients/{patient.id}"
    offer = api.client.get(f"{base}/pharmacies", headers=me, params={"q": "halles"}).json()
    assert [p["mailbox"] for p in offer["pharmacies"]] == [pharmacy.address]
    assert "ordonnance papier" in offer["reminder"]
    sent = api.client.post(
        f"{base}/pharmacies/messages",
        headers=me,
        json={
            "mailbox": pharmacy.address,
            "body": offer["prefilled_message"],
            "document_ids": [prescription.id],
        },
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["reminder"] == offer["reminder"]
    doctor = add_mailbox(rt, pro=add_pro(rt))
    refused = api.client.post(
        f"{base}/pharmacies/messages", headers=me, json={"mailbox": doctor.address, "body": "x"}
    )
    assert api.refusal(refused, 403)["error"] == "writing_refused"


def test_msg_5_not_activated_and_pros_find_no_mailbox(api: Api) -> None:
    rt = api.rt
    created = add_patient(rt, state=ProfileState.CREATED)
    pro = add_pro(rt)
    url = f"{V1}/patients/{created.id}/conversations"
    api.refusal(api.client.get(url, headers=api.as_patient(created)), 404)
    active = add_patient(rt)
    api.refusal(
        api.client.get(f"{V1}/patients/{active.id}/conversations", headers=api.as_pro(pro)),
        403,
    )
