"""The mailbox's use cases on a real database (SQLite, or PostgreSQL when configured): receiving,
threading, closing, answering, writing to a pharmacy, receipts, attachments, notifications."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

import pytest
from factories import PDF, add_patient, add_pro, add_representative, patient_ctx, pro_ctx, upload
from smtp_support import add_establishment, add_mailbox, address_of, deliver, mail
from sqlalchemy import select

from carnet.audit.models import Trace
from carnet.clock import FixedClock
from carnet.context import RequestContext
from carnet.errors import Invalid, NotFound
from carnet.identity.models import Mailbox
from carnet.messaging import service as messaging
from carnet.messaging.models import Message, OutgoingMail
from carnet.messaging.refusals import SenderRefused, Undeliverable, WritingRefused
from carnet.messaging.rules import PAPER_PRESCRIPTION_REMINDER, RecipientProblem
from carnet.notify.models import Notification, OutboxEvent
from carnet.notify.service import deliver_pending
from carnet.population.models import Patient
from carnet.population.rules import ProfileState
from carnet.profile.feed import import_care
from carnet.runtime import Runtime


def _doctor(rt: Runtime, **kwargs: object) -> Mailbox:
    return add_mailbox(rt, pro=add_pro(rt), **kwargs)  # type: ignore[arg-type]


def _pharmacy(rt: Runtime, name: str = "Pharmacie du Marché", city: str = "Lyon") -> Mailbox:
    return add_mailbox(rt, kind="ORG", establishment=add_establishment(rt, name=name, city=city))


def _outgoing(rt: Runtime, patient: Patient) -> list[OutgoingMail]:
    with rt.transaction() as session:
        return list(
            session.scalars(
                select(OutgoingMail)
                .where(OutgoingMail.patient_id == patient.id)
                .order_by(OutgoingMail.created_at, OutgoingMail.id)
            )
        )


def _raw(rt: Runtime, row: OutgoingMail) -> EmailMessage:
    import email
    import email.policy

    from carnet.keys.service import key_by_id
    from carnet.messaging import store

    with rt.transaction() as session:
        key = key_by_id(session, rt.master_key, row.patient_id, row.key_id)
    parsed = email.message_from_bytes(store.get(rt, key, row.blob_key), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_msg_1_id_2_the_mailbox_is_named_by_the_ins(rt: Runtime) -> None:
    patient = add_patient(rt)
    mailbox = messaging.list_conversations(rt, patient_ctx(patient), patient.id)
    assert mailbox.address == f"{patient.ins}@patient.mssante.fr"
    assert mailbox.conversations == ()


def test_msg_2_a_pro_starts_the_patient_answers_inside(rt: Runtime) -> None:
    patient, doctor = add_patient(rt), _doctor(rt)
    first = mail(doctor.address, address_of(rt, patient), message_id="<m1@medecin.example>")
    deliver(rt, first, doctor.address, address_of(rt, patient))
    mailbox = messaging.list_conversations(rt, patient_ctx(patient), patient.id)
    [conversation] = mailbox.conversations
    assert (conversation.started_by, conversation.state, conversation.unread) == ("pro", "open", 1)
    assert conversation.subject == "Résultats de votre bilan"
    sent = messaging.reply(rt, patient_ctx(patient), patient.id, conversation.id, "Merci docteur")
    assert (sent.direction, sent.delivery, sent.body) == ("out", "queued", "Merci docteur")
    [queued] = _outgoing(rt, patient)
    assert (queued.mail_from, queued.rcpt_to) == (address_of(rt, patient), doctor.address)
    out = _raw(rt, queued)
    assert out["In-Reply-To"] == "<m1@medecin.example>"
    assert out["References"] == "<m1@medecin.example>"
    assert out["Subject"] == "Re: Résultats de votre bilan"
    assert out["From"].addresses[0].addr_spec == address_of(rt, patient)


def test_msg_2_answers_thread_into_their_conversation_new_subjects_do_not(
    rt: Runtime, fixed_clock: FixedClock
) -> None:
    patient, doctor = add_patient(rt), _doctor(rt)
    to = address_of(rt, patient)
    deliver(rt, mail(doctor.address, to, message_id="<a@x>"), doctor.address, to)
    [conversation] = messaging.list_conversations(
        rt, patient_ctx(patient), patient.id
    ).conversations
    fixed_clock.advance(timedelta(minutes=1))
    sent = messaging.reply(rt, patient_ctx(patient), patient.id, conversation.id, "Une question")
    reply_id = _raw(rt, _outgoing(rt, patient)[0])["Message-ID"]
    fixed_clock.advance(timedelta(minutes=1))
    answer = mail(doctor.address, to, "Re: Résultats", headers={"In-Reply-To": reply_id})
    deliver(rt, answer, doctor.address, to)
    by_references = mail(doctor.address, to, headers={"References": "<zzz@x> <a@x>"})
    deliver(rt, by_references, doctor.address, to)
    deliver(rt, mail(doctor.address, to, "Autre sujet"), doctor.address, to)
    # The same ids from another mailbox thread nothing of this one.
    other = _doctor(rt)
    deliver(rt, mail(other.address, to, headers={"In-Reply-To": "<a@x>"}), other.address, to)
    conversations = messaging.list_conversations(rt, patient_ctx(patient), patient.id).conversations
    assert len(conversations) == 3
    detail = messaging.read_conversation(rt, patient_ctx(patient), patient.id, conversation.id)
    assert [m.direction for m in detail.messages] == ["in", "out", "in", "in"]
    assert sent.id in [m.id for m in detail.messages]


def test_msg_2_the_same_message_twice_is_filed_once(rt: Runtime) -> None:
    patient, doctor = add_patient(rt), _doctor(rt)
    to = address_of(rt, patient)
    message = mail(doctor.address, to, message_id="<once@x>")
    first, again = (
        deliver(rt, message, doctor.address, to),
        deliver(rt, message, doctor.address, to),
    )
    assert first == again
    with rt.transaction() as session:
        assert len(list(session.scalars(select(Message)))) == 1


@pytest.mark.parametrize(
    ("subject", "headers", "closes"),
    [
        ("[FIN]", {}, True),
        ("  [FIN] ", {}, True),
        ("Re: [FIN]", {}, False),
        ("[fin]", {}, False),
        ("[FIN] merci", {}, False),
        ("Dernier message", {"X-MSS-MES": "FIN"}, True),
        ("Dernier message", {"X-MSS-MES": "AUTRE"}, False),
    ],
)
def test_msg_3_fin_subject_or_header_closes_the_conversation(
    rt: Runtime, subject: str, headers: dict[str, str], closes: bool
) -> None:
    patient, doctor = add_patient(rt), _doctor(rt)
    to = address_of(rt, patient)
    deliver(rt, mail(doctor.address, to, message_id="<start@x>"), doctor.address, to)
    end = mail(doctor.address, to, subject, headers={"In-Reply-To": "<start@x>", **headers})
    deliver(rt, end, doctor.address, to)
    [conversation] = messaging.list_conversations(
        rt, patient_ctx(patient), patient.id
    ).conversations
    assert conversation.state == ("closed" if closes else "open")
    assert conversation.can_reply is not closes
    if closes:
        with pytest.raises(WritingRefused) as refused:
            messaging.reply(rt, patient_ctx(patient), patient.id, conversation.id, "Encore ?")
        assert "clôturé" in refused.value.fr
        assert _outgoing(rt, patient) == []


def test_msg_3_after_fin_only_the_pro_starts_again(rt: Runtime) -> None:
    patient, doctor = add_patient(rt), _doctor(rt)
    to = address_of(rt, patient)
    deliver(rt, mail(doctor.address, to, message_id="<s@x>"), doctor.address, to)
    deliver(
        rt, mail(doctor.address, to, "[FIN]", headers={"In-Reply-To": "<s@x>"}), doctor.address, to
    )
    # An answer to the closed conversation starts a new one; the closed one stays closed.
    deliver(
        rt,
        mail(doctor.address, to, "Re: suite", headers={"In-Reply-To": "<s@x>"}),
        doctor.address,
        to,
    )
    states = sorted(
        c.state
        for c in messaging.list_conversations(rt, patient_ctx(patient), patient.id).conversations
    )
    assert states == ["closed", "open"]
    with pytest.raises(WritingRefused):
        messaging.write_to_pharmacy(rt, patient_ctx(patient), patient.id, doctor.address, "Bonjour")


def test_msg_3_a_fin_without_thread_headers_closes_the_latest_open_conversation(
    rt: Runtime,
) -> None:
    patient, doctor = add_patient(rt), _doctor(rt)
    to = address_of(rt, patient)
    deliver(rt, mail(doctor.address, to), doctor.address, to)
    deliver(rt, mail(doctor.address, to, "[FIN]"), doctor.address, to)
    [conversation] = messaging.list_conversations(
        rt, patient_ctx(patient), patient.id
    ).conversations
    assert conversation.state == "closed"


def test_msg_3_msg_9_a_pharmacy_fin_closes_that_conversation_only(rt: Runtime) -> None:
    patient, pharmacy = add_patient(rt), _pharmacy(rt)
    ctx = patient_ctx(patient)
    first = messaging.write_to_pharmacy(rt, ctx, patient.id, pharmacy.address, "Mon ordonnance")
    first_id = _raw(rt, _outgoing(rt, patient)[0])["Message-ID"]
    to = address_of(rt, patient)
    deliver(
        rt,
        mail(pharmacy.address, to, "[FIN]", headers={"In-Reply-To": first_id}),
        pharmacy.address,
        to,
    )
    with pytest.raises(WritingRefused) as refused:
        messaging.reply(rt, ctx, patient.id, first.conversation_id, "Et encore")
    assert "nouveau message" in refused.value.fr
    second = messaging.write_to_pharmacy(
        rt, ctx, patient.id, pharmacy.address, "Nouvelle ordonnance"
    )
    assert second.conversation_id != first.conversation_id
    states = {
        c.id: c.state for c in messaging.list_conversations(rt, ctx, patient.id).conversations
    }
    assert states == {first.conversation_id: "closed", second.conversation_id: "open"}


def test_msg_9_writing_to_a_pharmacy_with_documents(rt: Runtime) -> None:
    patient, pharmacy = add_patient(rt), _pharmacy(rt)
    prescription = upload(
        rt, pro_ctx(add_pro(rt)), patient, type_code="57833-6", title="Ordonnance"
    )
    offer = messaging.pharmacies_for(rt, patient_ctx(patient), patient.id)
    assert offer.reminder == PAPER_PRESCRIPTION_REMINDER[0]
    assert "ordonnance papier" in offer.reminder
    assert "ordonnance" in offer.prefilled_message
    sent = messaging.write_to_pharmacy(
        rt,
        patient_ctx(patient),
        patient.id,
        pharmacy.address,
        offer.prefilled_message,
        document_ids=[prescription.id],
    )
    assert [a.filename for a in sent.attachments] == ["Ordonnance.pdf"]
    [queued] = _outgoing(rt, patient)
    out = _raw(rt, queued)
    assert out["To"].addresses[0].addr_spec == pharmacy.address
    [part] = list(out.iter_attachments())
    assert part.get_content() == PDF
    [conversation] = messaging.list_conversations(
        rt, patient_ctx(patient), patient.id
    ).conversations
    assert (conversation.started_by, conversation.pharmacy, conversation.subject) == (
        "patient",
        True,
        "Ordonnance",
    )


def _not_a_pharmacy(rt: Runtime, target: str) -> str:
    if target == "doctor":
        return _doctor(rt).address
    if target == "pharmacist_personal":
        pharmacist = add_pro(rt, profession="21")
        return add_mailbox(rt, pro=pharmacist, establishment=add_establishment(rt)).address
    if target == "hospital_org":
        hospital = add_establishment(rt, kind="hospital")
        return add_mailbox(rt, kind="ORG", establishment=hospital).address
    return "quelquun@exemple.fr"


@pytest.mark.parametrize("target", ["doctor", "pharmacist_personal", "unknown", "hospital_org"])
def test_msg_2_msg_9_the_patient_starts_only_with_a_pharmacys_org_mailbox(
    rt: Runtime, target: str
) -> None:
    patient = add_patient(rt)
    address = _not_a_pharmacy(rt, target)
    with pytest.raises(WritingRefused) as refused:
        messaging.write_to_pharmacy(rt, patient_ctx(patient), patient.id, address, "Bonjour")
    assert refused.value.code == "writing_refused"
    assert "pharmacie" in refused.value.fr
    assert _outgoing(rt, patient) == []


def test_msg_10_pharmacies_of_the_history_first_then_the_search(rt: Runtime) -> None:
    patient = add_patient(rt)
    own = add_establishment(rt, name="Pharmacie de la Gare", city="Paris")
    add_mailbox(rt, kind="ORG", establishment=own)
    _pharmacy(rt, "Pharmacie Centrale", "Lyon")
    _pharmacy(rt, "Grande Pharmacie", "Lille")
    # MSG-10 (seed 001 « déjà eu cette pharmacie dans son Historique de remboursements »): the
    # operator's feed of reimbursed care names the pharmacy that dispensed to the patient.
    report = import_care(
        rt.uow,
        RequestContext.operator(),
        [
            {
                "ins": patient.ins,
                "date": "2026-10-01",
                "act": "PHARMACIE",
                "pharmacy": own.finess,
                "label": "Délivrance de médicaments",
            }
        ],
    )
    assert report.added == 1
    offer = messaging.pharmacies_for(rt, patient_ctx(patient), patient.id)
    assert [(p.name, p.from_history) for p in offer.pharmacies] == [("Pharmacie de la Gare", True)]
    found = messaging.pharmacies_for(rt, patient_ctx(patient), patient.id, "pharmacie")
    assert [(p.name, p.from_history) for p in found.pharmacies] == [
        ("Pharmacie de la Gare", True),
        ("Grande Pharmacie", False),
        ("Pharmacie Centrale", False),
    ]
    assert [
        p.name
        for p in messaging.pharmacies_for(rt, patient_ctx(patient), patient.id, "lyon").pharmacies
    ] == [
        "Pharmacie de la Gare",
        "Pharmacie Centrale",
    ]


def test_msg_5_a_created_profile_receives_and_reads_after_activation(rt: Runtime) -> None:
    patient, doctor = add_patient(rt, state=ProfileState.CREATED), _doctor(rt)
    to = address_of(rt, patient)
    assert messaging.recipient_status(rt, to) == patient.id
    message_id = deliver(rt, mail(doctor.address, to), doctor.address, to)
    with pytest.raises(NotFound):
        messaging.list_conversations(rt, patient_ctx(patient), patient.id)
    with pytest.raises(NotFound):
        messaging.read_message(rt, patient_ctx(patient), patient.id, message_id)
    with rt.transaction() as session:
        row = session.get(Patient, patient.id)
        assert row is not None
        row.state = ProfileState.ACTIVATED.value
    opened = messaging.read_message(rt, patient_ctx(patient), patient.id, message_id)
    assert opened.body == "Bonjour, vos résultats sont normaux."


def test_msg_8_email_always_notification_centre_once_activated(rt: Runtime) -> None:
    created = add_patient(rt, state=ProfileState.CREATED, email="c@example.org")
    active = add_patient(rt, email="a@example.org")
    doctor = _doctor(rt)
    for patient in (created, active):
        to = address_of(rt, patient)
        deliver(rt, mail(doctor.address, to, "Biopsie"), doctor.address, to)
    sent: list[EmailMessage] = []
    assert deliver_pending(rt.uow, sent.append, "carnet@example.org") == 2
    assert sorted(m["To"] for m in sent) == ["a@example.org", "c@example.org"]
    assert all("Biopsie" not in m.get_content() and "Bernard" not in m.get_content() for m in sent)
    with rt.transaction() as session:
        centre = list(session.scalars(select(Notification)))
        assert [(n.patient_id, n.kind) for n in centre] == [(active.id, "message_received")]
        assert len(list(session.scalars(select(OutboxEvent)))) == 2


def test_msg_6_opening_sends_one_read_receipt(rt: Runtime) -> None:
    patient, doctor = add_patient(rt), _doctor(rt)
    to = address_of(rt, patient)
    asked = mail(doctor.address, to, headers={"Disposition-Notification-To": doctor.address})
    message_id = deliver(rt, asked, doctor.address, to)
    plain_id = deliver(rt, mail(doctor.address, to), doctor.address, to)
    for _ in range(2):
        opened = messaging.read_message(rt, patient_ctx(patient), patient.id, message_id)
        assert opened.read
        assert opened.receipt_requested
    messaging.read_message(rt, patient_ctx(patient), patient.id, plain_id)
    [receipt] = _outgoing(rt, patient)
    assert (receipt.kind, receipt.rcpt_to) == ("mdn", doctor.address)
    mdn = _raw(rt, receipt)
    assert mdn.get_content_type() == "multipart/report"
    assert mdn.get_param("report-type") == "disposition-notification"


def test_msg_6_no_receipt_to_an_address_outside_the_trust_space(rt: Runtime) -> None:
    patient, doctor = add_patient(rt), _doctor(rt)
    to = address_of(rt, patient)
    asked = mail(doctor.address, to, headers={"Disposition-Notification-To": "spy@example.com"})
    message_id = deliver(rt, asked, doctor.address, to)
    opened = messaging.read_message(rt, patient_ctx(patient), patient.id, message_id)
    assert not opened.receipt_requested
    assert _outgoing(rt, patient) == []


def test_msg_11_saving_an_attachment_into_the_documents_is_traced(rt: Runtime) -> None:
    patient, doctor = add_patient(rt), _doctor(rt)
    to = address_of(rt, patient)
    with_file = mail(doctor.address, to, attachments=[("bilan.pdf", "application/pdf", PDF)])
    message_id = deliver(rt, with_file, doctor.address, to)
    [attachment] = messaging.read_message(
        rt, patient_ctx(patient), patient.id, message_id
    ).attachments
    document = messaging.save_attachment(
        rt, patient_ctx(patient), patient.id, message_id, attachment.id, title="Bilan sanguin"
    )
    again = messaging.save_attachment(
        rt, patient_ctx(patient), patient.id, message_id, attachment.id
    )
    assert again.id == document.id
    assert (document.title, document.category, document.sha256) == (
        "Bilan sanguin",
        "ESPACE_PERSO",
        attachment.sha256,
    )
    [saved] = messaging.read_message(rt, patient_ctx(patient), patient.id, message_id).attachments
    assert saved.document_id == document.id
    with rt.transaction() as session:
        actions = [
            t.action
            for t in session.scalars(
                select(Trace).where(Trace.patient_id == patient.id).order_by(Trace.seq)
            )
        ]
    assert "save_attachment" in actions
    assert "upload_document" in actions


def test_msg_11_doc_8_an_attachment_the_space_does_not_accept_stays_in_the_message(
    rt: Runtime,
) -> None:
    patient, doctor = add_patient(rt), _doctor(rt)
    to = address_of(rt, patient)
    binary = mail(
        doctor.address, to, attachments=[("x.bin", "application/octet-stream", b"\x00\x01")]
    )
    message_id = deliver(rt, binary, doctor.address, to)
    [attachment] = messaging.read_message(
        rt, patient_ctx(patient), patient.id, message_id
    ).attachments
    with pytest.raises(Invalid):
        messaging.save_attachment(rt, patient_ctx(patient), patient.id, message_id, attachment.id)


def test_tr_1_acts_on_the_mailbox_are_traced(rt: Runtime) -> None:
    patient, doctor = add_patient(rt), _doctor(rt)
    to = address_of(rt, patient)
    message_id = deliver(rt, mail(doctor.address, to), doctor.address, to)
    ctx = patient_ctx(patient)
    mailbox = messaging.list_conversations(rt, ctx, patient.id)
    messaging.read_message(rt, ctx, patient.id, message_id)
    messaging.reply(rt, ctx, patient.id, mailbox.conversations[0].id, "Merci")
    with rt.transaction() as session:
        traces = list(
            session.scalars(select(Trace).where(Trace.patient_id == patient.id).order_by(Trace.seq))
        )
    assert [(t.action, t.actor_kind) for t in traces] == [
        ("receive_message", "pro"),
        ("list_messages", "patient"),
        ("read_message", "patient"),
        ("send_message", "patient"),
    ]


def test_msg_2_the_mailbox_is_the_patients_side_only(rt: Runtime) -> None:
    patient, doctor_mailbox = add_patient(rt), None
    pro = add_pro(rt)
    doctor_mailbox = add_mailbox(rt, pro=pro)
    to = address_of(rt, patient)
    message_id = deliver(rt, mail(doctor_mailbox.address, to), doctor_mailbox.address, to)
    with pytest.raises(NotFound):
        messaging.read_message(rt, pro_ctx(pro), patient.id, message_id)
    stranger = add_patient(rt)
    with pytest.raises(NotFound):
        messaging.list_conversations(rt, patient_ctx(stranger), patient.id)


def test_acc_8_a_parent_reads_the_minors_mailbox(rt: Runtime) -> None:
    child, parent, doctor = add_patient(rt, age=12), add_patient(rt), _doctor(rt)
    add_representative(rt, child, parent)
    to = address_of(rt, child)
    message_id = deliver(rt, mail(doctor.address, to), doctor.address, to)
    opened = messaging.read_message(rt, patient_ctx(parent), child.id, message_id)
    assert opened.body


@pytest.mark.parametrize(
    ("state", "problem"),
    [
        (ProfileState.OPPOSED, RecipientProblem.ABSENT),
        (ProfileState.CLOSED, RecipientProblem.CLOSED),
    ],
)
def test_msg_4_opposed_and_closed_profiles_receive_nothing(
    rt: Runtime, state: ProfileState, problem: RecipientProblem
) -> None:
    patient, doctor = add_patient(rt, state=state), _doctor(rt)
    to = address_of(rt, patient)
    with pytest.raises(Undeliverable) as refused:
        messaging.recipient_status(rt, to)
    assert refused.value.problem is problem
    with pytest.raises(Undeliverable):
        deliver(rt, mail(doctor.address, to), doctor.address, to)


def test_msg_2_only_directory_mailboxes_send(rt: Runtime) -> None:
    patient = add_patient(rt)
    with pytest.raises(SenderRefused):
        messaging.sender_status(rt, "inconnu@example.com")
    to = address_of(rt, patient)
    with pytest.raises(SenderRefused):
        deliver(rt, mail("inconnu@example.com", to), "inconnu@example.com", to)
    for kind in ("PER", "ORG", "APP", "CAB"):
        box = add_mailbox(rt, kind=kind)
        assert messaging.sender_status(rt, box.address.upper()).address == box.address


def test_msg_2_a_structures_message_is_traced_to_the_structure(rt: Runtime) -> None:
    patient = add_patient(rt)
    lab = add_mailbox(rt, kind="APP", establishment=add_establishment(rt, kind="laboratory"))
    to = address_of(rt, patient)
    deliver(rt, mail(lab.address, to, "Vos résultats"), lab.address, to)
    with rt.transaction() as session:
        trace = session.scalars(select(Trace).where(Trace.patient_id == patient.id)).one()
    assert (trace.actor_kind, trace.action) == ("system", "receive_message")
    assert trace.actor_id != RequestContext.operator().actor_id
