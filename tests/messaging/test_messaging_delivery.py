"""Mail leaving from patients' addresses: through a real relay (an aiosmtpd sink run here that
requires STARTTLS, with a test authority), or locally to hosted mailboxes; a bounded queue — a
5xx fails at once, a 4xx is retried with back-off up to the limit — and a failure comes back to
the patient as a notice."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import structlog
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

from carnet import clock
from carnet.audit.models import Trace
from carnet.clock import FixedClock
from carnet.logs import drop_personal_data
from carnet.messaging import service as messaging
from carnet.messaging.delivery import DeliveryReport, deliver_due
from carnet.messaging.models import HostedMail, OutgoingMail
from carnet.notify.models import OutboxEvent
from carnet.notify.service import deliver_pending, smtp_mailer
from carnet.population.models import Patient
from carnet.runtime import Runtime


@pytest.fixture
def relay() -> Iterator[tuple[Sink, dict[str, Any]]]:
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
    rt: Runtime, relay: tuple[Sink, dict[str, Any]]
) -> None:
    sink, to_relay = relay
    rt = with_settings(rt, **to_relay)
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
    assert parsedate_to_datetime(message["Date"]) == clock.now()
    assert message.get_content().strip() == "Bien reçu"
    [seen] = sink.seen
    assert seen.tls is not None  # the test relay requires STARTTLS
    assert seen.helo == rt.settings.patient_mail_domain
    assert deliver_due(rt).sent == 0  # never twice
    [row] = _rows(rt)
    assert (row.state, row.attempts) == ("sent", 1)
    detail = messaging.read_conversation(rt, patient_ctx(patient), patient.id, conversation_id)
    assert [m.delivery for m in detail.messages if m.id == sent.id] == ["sent"]


def test_msg_6_the_read_receipt_leaves_through_the_relay_with_the_null_reverse_path(
    rt: Runtime, relay: tuple[Sink, dict[str, Any]]
) -> None:
    sink, to_relay = relay
    rt = with_settings(rt, **to_relay)
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
    [(mail_from, rcpt_tos, mdn)] = sink.received
    assert (mail_from, rcpt_tos) == ("<>", [doctor.address])  # MAIL FROM:<> (RFC 8098 §2.1)
    assert mdn["Message-ID"].endswith("@patient.mssante.fr>")
    assert mdn["Date"]
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
    rt: Runtime, relay: tuple[Sink, dict[str, Any]], fixed_clock: FixedClock
) -> None:
    sink, to_relay = relay
    rt = with_settings(rt, **to_relay)
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
    rt: Runtime, relay: tuple[Sink, dict[str, Any]], fixed_clock: FixedClock
) -> None:
    sink, to_relay = relay
    patient = add_patient(rt)
    conversation_id, _ = _conversation(rt, patient)
    messaging.reply(rt, patient_ctx(patient), patient.id, conversation_id, "Merci")
    down = with_settings(rt, smtp_relay="127.0.0.1:1")
    first = deliver_due(down)
    assert (first.retried, first.sent) == (1, 0)
    assert deliver_due(down).retried == 0  # not due yet: back-off
    fixed_clock.advance(timedelta(seconds=31))
    assert deliver_due(with_settings(rt, **to_relay)).sent == 1
    [row] = _rows(rt)
    assert (row.state, row.attempts) == ("sent", 2)
    assert len(sink.received) == 1


def test_msg_8_a_relay_answering_550_sees_the_message_once_and_the_patient_is_told(
    rt: Runtime, relay: tuple[Sink, dict[str, Any]], fixed_clock: FixedClock
) -> None:
    sink, to_relay = relay
    sink.refuse_with = "550 5.1.1 Mailbox unknown"
    rt = with_settings(rt, **to_relay)
    patient = add_patient(rt)
    conversation_id, doctor = _conversation(rt, patient)
    fixed_clock.advance(timedelta(seconds=1))
    sent = messaging.reply(rt, patient_ctx(patient), patient.id, conversation_id, "Merci")
    fixed_clock.advance(timedelta(seconds=1))
    with structlog.testing.capture_logs(processors=[drop_personal_data]) as logs:
        assert deliver_due(rt).failed == 1
        for _ in range(5):
            fixed_clock.advance(timedelta(hours=2))
            assert deliver_due(rt) == DeliveryReport()
    assert len(sink.seen) == 1
    detail = messaging.read_conversation(rt, patient_ctx(patient), patient.id, conversation_id)
    assert [(m.direction, m.delivery) for m in detail.messages] == [
        ("in", None),
        ("out", "failed"),
        ("notice", None),
    ]
    notice = messaging.read_message(rt, patient_ctx(patient), patient.id, detail.messages[-1].id)
    assert f"n'a pas pu être distribué à {doctor}" in (notice.body or "")
    assert "l'a refusé (550 5.1.1 Mailbox unknown)" in (notice.body or "")
    assert sent.id == detail.messages[1].id
    with rt.transaction() as session:
        actions = [
            t.action
            for t in session.scalars(
                select(Trace).where(Trace.patient_id == patient.id).order_by(Trace.seq)
            )
        ]
        events = [e.kind for e in session.scalars(select(OutboxEvent))]
    assert "message_undeliverable" in actions
    assert events.count("message_received") == 2
    [failed] = [e for e in logs if e["event"] == "mail_failed"]
    assert (failed["reason"], failed["stage"], failed["reply_code"]) == ("refused", "data", 550)
    assert failed["enhanced_code"] == "5.1.1"
    assert failed["rcpt_domain"] == doctor.partition("@")[2]
    assert doctor not in json.dumps(logs)
    assert patient.ins not in json.dumps(logs)
    assert rt.metrics.value("carnet_mail_failed_total", kind="message", reason="refused") == 1


def test_msg_6_a_read_receipt_refused_for_good_is_not_retried(
    rt: Runtime, relay: tuple[Sink, dict[str, Any]], fixed_clock: FixedClock
) -> None:
    sink, to_relay = relay
    sink.refuse_rcpt_with = "550 5.1.1 Mailbox unknown"
    rt = with_settings(rt, **to_relay)
    patient, doctor = add_patient(rt), add_mailbox(rt, pro=add_pro(rt))
    to = address_of(rt, patient)
    asked = mail(doctor.address, to, headers={"Disposition-Notification-To": doctor.address})
    messaging.read_message(
        rt, patient_ctx(patient), patient.id, deliver(rt, asked, doctor.address, to)
    )
    assert deliver_due(rt).failed == 1
    fixed_clock.advance(timedelta(days=1))
    assert deliver_due(rt) == DeliveryReport()
    [row] = [r for r in _rows(rt) if r.kind == "mdn"]
    assert (row.state, row.attempts) == ("failed", 1)


def test_msg_8_a_relay_answering_451_sees_a_bounded_number_of_attempts(
    rt: Runtime, relay: tuple[Sink, dict[str, Any]], fixed_clock: FixedClock
) -> None:
    sink, to_relay = relay
    sink.refuse_with = "451 4.3.0 Try again later"
    rt = with_settings(rt, **to_relay)
    patient = add_patient(rt)
    conversation_id, _ = _conversation(rt, patient)
    messaging.reply(rt, patient_ctx(patient), patient.id, conversation_id, "Merci")
    started, tried_at = clock.now(), []
    with structlog.testing.capture_logs() as logs:
        while (row := _rows(rt)[0]).state == "queued":
            fixed_clock.current = max(clock.now(), row.next_attempt_at)
            before = len(sink.seen)
            deliver_due(rt)
            assert deliver_due(rt) == DeliveryReport()  # nothing before the back-off allows
            assert len(sink.seen) == before + 1
            tried_at.append(clock.now())
    assert len(sink.seen) == len(tried_at) == row.attempts
    assert row.attempts <= 5 * 24 + 10  # hourly at most once the back-off reached its cap
    gaps = [b - a for a, b in itertools.pairwise(tried_at)]
    assert gaps == sorted(gaps)
    assert (gaps[0], max(gaps)) == (timedelta(seconds=30), timedelta(hours=1))
    assert tried_at[-1] - started >= timedelta(days=5)
    assert (row.state, row.last_error) == ("failed", "451 4.3.0 Try again later")
    detail = messaging.read_conversation(rt, patient_ctx(patient), patient.id, conversation_id)
    notice = messaging.read_message(rt, patient_ctx(patient), patient.id, detail.messages[-1].id)
    assert "ne l'a pas accepté en 5 jours (dernière réponse : 451 4.3.0 Try again later)" in (
        notice.body or ""
    )
    deferred = [e for e in logs if e["event"] == "mail_deferred"]
    assert len(deferred) == row.attempts - 1
    assert {e["reply_code"] for e in deferred} == {451}
    assert [e["reason"] for e in logs if e["event"] == "mail_failed"] == ["expired"]
    assert rt.metrics.value("carnet_mail_deferred_total", kind="message") == len(deferred)


def test_mail_relay_tls_required_reply_receipt_and_notification_arrive_encrypted(
    rt: Runtime, relay: tuple[Sink, dict[str, Any]]
) -> None:
    """MSG-2, MSG-6, MSG-8 through a relay that refuses MAIL before STARTTLS."""
    sink, to_relay = relay
    rt = with_settings(rt, **to_relay)
    patient = add_patient(rt, email="claire@example.org")
    doctor = add_mailbox(rt, pro=add_pro(rt))
    to = address_of(rt, patient)
    asked = mail(doctor.address, to, headers={"Disposition-Notification-To": doctor.address})
    message_id = deliver(rt, asked, doctor.address, to)
    messaging.read_message(rt, patient_ctx(patient), patient.id, message_id)
    [conversation] = messaging.list_conversations(
        rt, patient_ctx(patient), patient.id
    ).conversations
    messaging.reply(rt, patient_ctx(patient), patient.id, conversation.id, "Merci docteur")
    assert deliver_due(rt).sent == 2
    assert deliver_pending(rt.uow, smtp_mailer(rt.settings), rt.settings.mail_from) == 1
    kinds = sorted(m.get_content_type() for _, _, m in sink.received)
    assert kinds == ["multipart/report", "text/plain", "text/plain"]
    assert len(sink.seen) == 3
    assert all(seen.tls is not None and seen.tls.startswith("TLSv1.") for seen in sink.seen)
    assert all(m["Message-ID"] and m["Date"] for _, _, m in sink.received)
    assert rt.metrics.value("carnet_mail_queued_total", kind="message") == 1
    assert rt.metrics.value("carnet_mail_queued_total", kind="mdn") == 1
    assert rt.metrics.value("carnet_mail_sent_total", kind="message", via="relay") == 1


def test_mail_relay_tls_required_a_relay_without_starttls_gets_nothing(
    rt: Runtime, fixed_clock: FixedClock
) -> None:
    with relay_sink(starttls=False) as (sink, to_relay):
        rt = with_settings(rt, **to_relay)
        patient = add_patient(rt)
        conversation_id, _ = _conversation(rt, patient)
        messaging.reply(rt, patient_ctx(patient), patient.id, conversation_id, "Merci")
        assert deliver_due(rt).retried == 1
    assert sink.seen == []
    [row] = _rows(rt)
    assert row.state == "queued"
    assert "STARTTLS" in (row.last_error or "")


def test_msg_8_given_up_after_the_configured_delay(rt: Runtime, fixed_clock: FixedClock) -> None:
    """A relay that cannot be reached at all: the same bound as temporary refusals."""
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
    notice = messaging.read_message(rt, patient_ctx(patient), patient.id, detail.messages[-1].id)
    assert "ne l'a pas accepté en 1 heure (dernière réponse : ConnectionRefusedError" in (
        notice.body or ""
    )


def test_msg_9_the_pharmacy_gets_the_prescription_through_the_relay(
    rt: Runtime, relay: tuple[Sink, dict[str, Any]]
) -> None:
    from factories import PDF, pro_ctx, upload

    sink, to_relay = relay
    rt = with_settings(rt, **to_relay)
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
