"""Mail leaving from patients' addresses: through a real relay (an aiosmtpd sink run here), or
locally to hosted mailboxes; retried with back-off; a failure comes back as a notice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from factories import add_patient, add_pro, patient_ctx
from smtp_support import (
    Sink,
    add_establishment,
    add_mailbox,
    address_of,
    deliver,
    mail,
    relay_sink,
    with_settings,
)
from sqlalchemy import select

from carnet.audit.models import Trace
from carnet.clock import FixedClock
from carnet.messaging import service as messaging
from carnet.messaging.delivery import deliver_due
from carnet.messaging.models import HostedMail, OutgoingMail
from carnet.notify.models import OutboxEvent
from carnet.population.models import Patient
from carnet.runtime import Runtime


@pytest.fixture
def relay() -> Iterator[tuple[Sink, str]]:
    with relay_sink() as sink:
        yield sink


def _conversation(rt: Runtime, patient: Patient, *, hosted: bool = False) -> tuple[str, str]:
    """A pro wrote to the patient; ``(conversation id, pro's address)``."""
    doctor = add_mailbox(rt, pro=add_pro(rt), hosted_here=hosted)
    to = address_of(rt, patient)
    deliver(rt, mail(doctor.address, to, message_id="<q@medecin>"), doctor.address, to)
    [conversation] = messaging.list_conversations(
        rt, patient_ctx(patient), patient.id
    ).conversations
    return conversation.id, doctor.address


def _rows(rt: Runtime) -> list[OutgoingMail]:
    with rt.transaction() as session:
        return list(session.scalars(select(OutgoingMail)))


def test_msg_2_a_reply_leaves_through_the_relay_with_its_threading_headers(
    rt: Runtime, relay: tuple[Sink, str]
) -> None:
    sink, address = relay
    rt = with_settings(rt, smtp_relay=address)
    patient = add_patient(rt)
    conversation_id, doctor = _conversation(rt, patient)
    sent = messaging.reply(rt, patient_ctx(patient), patient.id, conversation_id, "Bien reçu")
    report = deliver_due(rt)
    assert (report.sent, report.failed) == (1, 0)
    [(mail_from, rcpt_tos, message)] = sink.received
    assert (mail_from, rcpt_tos) == (address_of(rt, patient), [doctor])
    assert message["In-Reply-To"] == "<q@medecin>"
    assert message["References"] == "<q@medecin>"
    assert message["Message-ID"].endswith("@patient.mssante.fr>")
    assert message.get_content().strip() == "Bien reçu"
    assert deliver_due(rt).sent == 0  # never twice
    [row] = _rows(rt)
    assert (row.state, row.attempts) == ("sent", 1)
    detail = messaging.read_conversation(rt, patient_ctx(patient), patient.id, conversation_id)
    assert [m.delivery for m in detail.messages if m.id == sent.id] == ["sent"]


def test_msg_6_the_read_receipt_leaves_through_the_relay(
    rt: Runtime, relay: tuple[Sink, str]
) -> None:
    sink, address = relay
    rt = with_settings(rt, smtp_relay=address)
    patient, doctor = add_patient(rt), add_mailbox(rt, pro=add_pro(rt))
    to = address_of(rt, patient)
    asked = mail(
        doctor.address,
        to,
        message_id="<asked@medecin>",
        headers={"Disposition-Notification-To": doctor.address},
    )
    message_id = deliver(rt, asked, doctor.address, to)
    messaging.read_message(rt, patient_ctx(patient), patient.id, message_id)
    messaging.read_message(rt, patient_ctx(patient), patient.id, message_id)
    assert deliver_due(rt).sent == 1
    [(_, rcpt_tos, mdn)] = sink.received
    assert rcpt_tos == [doctor.address]
    assert mdn.get_content_type() == "multipart/report"
    assert mdn.get_param("report-type") == "disposition-notification"
    human, report = list(mdn.iter_parts())
    assert human.get_content_type() == "text/plain"
    assert report.get_content_type() == "message/disposition-notification"
    fields = report.as_string()
    assert "Original-Message-ID: <asked@medecin>" in fields
    assert f"Final-Recipient: rfc822;{to}" in fields
    assert "Disposition: manual-action/MDN-sent-automatically; displayed" in fields


def test_msg_2_a_hosted_mailbox_gets_the_reply_locally(
    rt: Runtime, relay: tuple[Sink, str], fixed_clock: FixedClock
) -> None:
    sink, address = relay
    rt = with_settings(rt, smtp_relay=address)
    patient = add_patient(rt)
    conversation_id, doctor = _conversation(rt, patient, hosted=True)
    fixed_clock.advance(timedelta(seconds=1))
    messaging.reply(rt, patient_ctx(patient), patient.id, conversation_id, "Merci")
    assert deliver_due(rt).local == 1
    assert deliver_due(rt).local == 0
    assert sink.received == []
    with rt.transaction() as session:
        [hosted] = list(session.scalars(select(HostedMail)))
    assert (hosted.mailbox, hosted.mail_from) == (doctor, address_of(rt, patient))
    detail = messaging.read_conversation(rt, patient_ctx(patient), patient.id, conversation_id)
    assert detail.messages[-1].delivery == "delivered"


def test_msg_8_relay_down_retries_with_backoff_then_sends(
    rt: Runtime, relay: tuple[Sink, str], fixed_clock: FixedClock
) -> None:
    sink, address = relay
    patient = add_patient(rt)
    conversation_id, _ = _conversation(rt, patient)
    messaging.reply(rt, patient_ctx(patient), patient.id, conversation_id, "Merci")
    down = with_settings(rt, smtp_relay="127.0.0.1:1")
    first = deliver_due(down)
    assert (first.retried, first.sent) == (1, 0)
    assert deliver_due(down).retried == 0  # not due yet: back-off
    fixed_clock.advance(timedelta(seconds=31))
    assert deliver_due(with_settings(rt, smtp_relay=address)).sent == 1
    [row] = _rows(rt)
    assert (row.state, row.attempts) == ("sent", 2)
    assert len(sink.received) == 1


def test_msg_8_a_refusal_comes_back_to_the_patient_as_a_notice(
    rt: Runtime, relay: tuple[Sink, str], fixed_clock: FixedClock
) -> None:
    sink, address = relay
    sink.refuse_with = "550 5.1.1 Mailbox unknown"
    rt = with_settings(rt, smtp_relay=address)
    patient = add_patient(rt)
    conversation_id, doctor = _conversation(rt, patient)
    fixed_clock.advance(timedelta(seconds=1))
    sent = messaging.reply(rt, patient_ctx(patient), patient.id, conversation_id, "Merci")
    fixed_clock.advance(timedelta(seconds=1))
    assert deliver_due(rt).failed == 1
    detail = messaging.read_conversation(rt, patient_ctx(patient), patient.id, conversation_id)
    assert [(m.direction, m.delivery) for m in detail.messages] == [
        ("in", None),
        ("out", "failed"),
        ("notice", None),
    ]
    notice = messaging.read_message(rt, patient_ctx(patient), patient.id, detail.messages[-1].id)
    assert f"n'a pas pu être distribué à {doctor}" in (notice.body or "")
    assert "Mailbox unknown" in (notice.body or "")
    assert sent.id == detail.messages[1].id
    with rt.transaction() as session:
        actions = [
            t.action for t in session.scalars(select(Trace).where(Trace.patient_id == patient.id))
        ]
        events = [e.kind for e in session.scalars(select(OutboxEvent))]
    assert "message_undeliverable" in actions
    assert events.count("message_received") == 2


def test_msg_8_given_up_after_the_configured_delay(rt: Runtime, fixed_clock: FixedClock) -> None:
    rt = with_settings(rt, smtp_relay="127.0.0.1:1", smtp_give_up_hours=1)
    patient = add_patient(rt)
    conversation_id, _ = _conversation(rt, patient)
    messaging.reply(rt, patient_ctx(patient), patient.id, conversation_id, "Merci")
    assert deliver_due(rt).retried == 1
    fixed_clock.advance(timedelta(hours=2))
    assert deliver_due(rt).failed == 1
    [row] = _rows(rt)
    assert row.state == "failed"
    detail = messaging.read_conversation(rt, patient_ctx(patient), patient.id, conversation_id)
    assert detail.messages[-1].direction == "notice"


def test_msg_9_the_pharmacy_gets_the_prescription_through_the_relay(
    rt: Runtime, relay: tuple[Sink, str]
) -> None:
    from factories import PDF, pro_ctx, upload

    sink, address = relay
    rt = with_settings(rt, smtp_relay=address)
    patient = add_patient(rt)
    pharmacy = add_mailbox(rt, kind="ORG", establishment=add_establishment(rt))
    prescription = upload(
        rt, pro_ctx(add_pro(rt)), patient, type_code="57833-6", title="Ordonnance"
    )
    messaging.write_to_pharmacy(
        rt,
        patient_ctx(patient),
        patient.id,
        pharmacy.address,
        "Bonjour, voici mon ordonnance.",
        document_ids=[prescription.id],
    )
    assert deliver_due(rt).sent == 1
    [(_, rcpt_tos, message)] = sink.received
    assert rcpt_tos == [pharmacy.address]
    [part] = list(message.iter_attachments())
    assert (part.get_content_type(), part.get_content()) == ("application/pdf", PDF)
