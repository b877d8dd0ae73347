"""TR-2, DOC-2: notifications are written with their act and delivered after commit, at least
once and never twice, by e-mail (no medical content) and into the notification centre."""

from __future__ import annotations

import itertools
import json
import smtplib
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import structlog
from factories import add_patient, add_pro, pro_ctx, upload
from smtp_support import Sink, relay_sink, with_settings
from sqlalchemy import select

from carnet import clock
from carnet.audit.heads import TreeHead
from carnet.audit.publish import advance_log
from carnet.audit.signer import load_or_create_signer
from carnet.clock import FixedClock
from carnet.context import AccessMode
from carnet.logs import drop_personal_data
from carnet.notify.models import Notification, OutboxEvent
from carnet.notify.service import Mailer, deliver_pending, smtp_mailer
from carnet.records import service as records
from carnet.runtime import Runtime


@pytest.fixture
def relay() -> Iterator[tuple[Sink, dict[str, Any]]]:
    """A relay that requires STARTTLS, with a certificate of a test authority."""
    with relay_sink() as found:
        yield found


def _send_all(rt: Runtime, mailer: Mailer | None) -> int:
    return deliver_pending(
        rt.uow,
        mailer,
        "ne-pas-repondre@carnet.exemple.fr",
        give_up_after=timedelta(hours=rt.settings.smtp_give_up_hours),
        metrics=rt.metrics,
    )


def _events(rt: Runtime) -> list[OutboxEvent]:
    with rt.transaction() as session:
        return list(session.scalars(select(OutboxEvent)))


def _notifications(rt: Runtime, patient_id: str) -> list[Notification]:
    with rt.transaction() as session:
        return list(
            session.scalars(select(Notification).where(Notification.patient_id == patient_id))
        )


def test_tr_2_first_access_of_each_pro_and_each_document(
    rt: Runtime, relay: tuple[Sink, dict[str, Any]]
) -> None:
    sink, to_relay = relay
    rt = with_settings(rt, **to_relay)
    patient, author, reader = (
        add_patient(rt, email="claire@example.org"),
        add_pro(rt),
        add_pro(rt, last_name="Roux"),
    )
    upload(rt, pro_ctx(author), patient, title="Radio du genou")
    records.list_documents(rt, pro_ctx(reader), patient.id, declares_consent=True)
    records.list_documents(rt, pro_ctx(reader), patient.id)  # not a first access any more
    assert _send_all(rt, smtp_mailer(rt.settings)) == 2
    texts = sorted(n.text_fr for n in _notifications(rt, patient.id))
    assert texts == [
        "Dr Louis Roux a accédé à votre dossier pour la première fois.",
        "Un nouveau document a été ajouté à votre dossier : Radio du genou.",
    ]
    assert len(sink.received) == 2
    for _, rcpt_tos, message in sink.received:
        assert rcpt_tos == ["claire@example.org"]
        assert message["To"] == "claire@example.org"
        body = message.get_content()
        assert "Radio du genou" not in body
        assert "Roux" not in body


def test_tr_2_mail_relay_tls_required_notification_emails_leave_encrypted_and_named(
    rt: Runtime, relay: tuple[Sink, dict[str, Any]]
) -> None:
    sink, to_relay = relay
    rt = with_settings(rt, **to_relay, smtp_hostname="mx.carnet.exemple.fr")
    upload(rt, pro_ctx(add_pro(rt)), add_patient(rt, email="claire@example.org"))
    assert _send_all(rt, smtp_mailer(rt.settings)) == 1
    [seen] = sink.seen
    [event] = _events(rt)
    assert seen.tls is not None
    assert seen.tls.startswith("TLSv1.")
    assert seen.helo == "mx.carnet.exemple.fr"
    assert seen.mail_from == rt.settings.mail_from
    [(_, _, message)] = sink.received
    assert message["Message-ID"] == f"<{event.id}@carnet.exemple.fr>"
    assert parsedate_to_datetime(message["Date"]) == event.created_at
    assert message.get_content().startswith("Bonjour,")
    assert (event.email_state, event.attempts, event.last_error) == ("sent", 1, None)
    assert rt.metrics.value("carnet_mail_sent_total", kind="notification", via="relay") == 1


def test_tr_2_mail_relay_tls_required_nothing_leaves_in_clear(
    rt: Runtime, fixed_clock: FixedClock
) -> None:
    with relay_sink(starttls=False) as (sink, to_relay):
        rt = with_settings(rt, **to_relay)
        upload(rt, pro_ctx(add_pro(rt)), add_patient(rt))
        assert _send_all(rt, smtp_mailer(rt.settings)) == 0
    assert sink.seen == []
    [event] = _events(rt)
    assert event.delivered_at is None
    assert event.last_error is not None
    assert "STARTTLS" in event.last_error


def test_mail_bounded_outbox_a_notification_refused_with_550_is_tried_once_and_the_operator_told(
    rt: Runtime, relay: tuple[Sink, dict[str, Any]], fixed_clock: FixedClock
) -> None:
    sink, to_relay = relay
    sink.refuse_with = "550 5.1.1 <claire@example.org>: Recipient address rejected"
    rt = with_settings(rt, **to_relay)
    patient = add_patient(rt, email="claire@example.org")
    upload(rt, pro_ctx(add_pro(rt)), patient)
    with structlog.testing.capture_logs(processors=[drop_personal_data]) as logs:
        for _ in range(5):
            _send_all(rt, smtp_mailer(rt.settings))
            fixed_clock.advance(timedelta(hours=2))
    assert len(sink.seen) == 1
    [event] = _events(rt)
    assert event.email_state == "failed"
    assert event.delivered_at is not None
    assert event.last_error == "550 5.1.1 <claire@example.org>: Recipient address rejected"
    assert len(_notifications(rt, patient.id)) == 1  # the notification centre has it all the same
    [told] = [e for e in logs if e["event"] == "notification_email_failed"]
    assert (told["reason"], told["reply_code"], told["enhanced_code"]) == ("refused", 550, "5.1.1")
    assert told["log_level"] == "error"
    assert "claire" not in json.dumps(logs)
    assert rt.metrics.value("carnet_mail_failed_total", kind="notification", reason="refused") == 1


def test_mail_bounded_outbox_a_notification_answered_451_is_retried_a_bounded_number_of_times(
    rt: Runtime, relay: tuple[Sink, dict[str, Any]], fixed_clock: FixedClock
) -> None:
    sink, to_relay = relay
    sink.refuse_with = "451 4.3.0 Try again later"
    rt = with_settings(rt, **to_relay)
    upload(rt, pro_ctx(add_pro(rt)), add_patient(rt))
    mailer = smtp_mailer(rt.settings)
    limit = timedelta(hours=rt.settings.smtp_give_up_hours)
    assert limit == timedelta(days=5)
    started, tried_at = clock.now(), []
    with structlog.testing.capture_logs() as logs:
        while (event := _events(rt)[0]).delivered_at is None:
            fixed_clock.current = max(clock.now(), event.next_attempt_at)
            before = len(sink.seen)
            _send_all(rt, mailer)
            _send_all(rt, mailer)  # at once again: nothing is due before the back-off
            assert len(sink.seen) == before + 1
            tried_at.append(clock.now())
    assert len(sink.seen) == len(tried_at) == event.attempts
    assert event.attempts <= 5 * 24 + 12  # hourly at most once the back-off reached its cap
    gaps = [b - a for a, b in itertools.pairwise(tried_at)]
    assert gaps == sorted(gaps)
    assert max(gaps) == timedelta(hours=1)
    assert tried_at[-1] - started >= limit
    assert event.email_state == "failed"
    assert event.last_error == "451 4.3.0 Try again later"
    deferred = [e for e in logs if e["event"] == "notification_email_deferred"]
    failed = [e for e in logs if e["event"] == "notification_email_failed"]
    assert (len(deferred), len(failed)) == (event.attempts - 1, 1)
    assert failed[0]["reason"] == "expired"
    assert rt.metrics.value("carnet_mail_deferred_total", kind="notification") == len(deferred)


def test_tr_2_emergency_access_names_its_mode(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt, last_name="Urgent")
    upload(rt, pro_ctx(add_pro(rt)), patient)
    records.list_documents(
        rt, pro_ctx(pro, mode=AccessMode.BRIS_DE_GLACE, reason="Coma"), patient.id
    )
    deliver_pending(rt.uow, None, "carnet@example.org")
    emergency = [n for n in _notifications(rt, patient.id) if n.kind == "emergency_access"]
    assert [n.text_fr for n in emergency] == [
        "Dr Louis Urgent a accédé à votre dossier en urgence (mode : bris de glace)."
    ]


def test_tr_2_delivery_retries_with_backoff_and_never_twice(
    rt: Runtime, fixed_clock: FixedClock
) -> None:
    patient = add_patient(rt)
    upload(rt, pro_ctx(add_pro(rt)), patient)
    sent: list[EmailMessage] = []
    failing = True

    def flaky(message: EmailMessage) -> None:
        if failing:
            raise smtplib.SMTPServerDisconnected("relay down")
        sent.append(message)

    mailer: Mailer = flaky
    assert deliver_pending(rt.uow, mailer, "c@example.org") == 0
    assert deliver_pending(rt.uow, mailer, "c@example.org") == 0  # not due yet: back-off
    failing = False
    fixed_clock.advance(timedelta(seconds=11))
    assert deliver_pending(rt.uow, mailer, "c@example.org") == 1
    assert deliver_pending(rt.uow, mailer, "c@example.org") == 0
    assert len(sent) == 1
    assert len(_notifications(rt, patient.id)) == 1
    [event] = _events(rt)
    assert (event.attempts, event.delivered_at is not None) == (2, True)
    assert sent[0]["Message-ID"] == f"<{event.id}@example.org>"
    assert sent[0]["Date"]


def test_doc_2_rolled_back_act_notifies_nothing(rt: Runtime) -> None:
    patient = add_patient(rt)
    with pytest.raises(Exception, match="Format"):
        upload(rt, pro_ctx(add_pro(rt)), patient, content=b"\x00\x01binary", mime="application/pdf")
    with rt.transaction() as session:
        assert list(session.scalars(select(OutboxEvent))) == []


def test_tr_3_each_notification_email_carries_the_latest_signed_head(
    rt: Runtime, tmp_path: Path
) -> None:
    """TR-3: every patient gets heads; the one in his e-mail pins his history as it was (no
    medical content with it), and verifies against the log's key."""
    patient, pro = add_patient(rt, email="claire@example.org"), add_pro(rt)
    upload(rt, pro_ctx(pro), patient, title="Radio du genou")
    signer = load_or_create_signer(tmp_path / "keys" / "log.key")
    head = advance_log(rt.uow, signer, tmp_path / "heads.jsonl")
    assert head is not None
    sent: list[EmailMessage] = []
    assert _send_all(rt, sent.append) == 1
    body = sent[0].get_content()
    carried = TreeHead.from_json(json.loads(body.rsplit("\n", 2)[-2]))
    assert carried == head
    assert carried.problem(signer.public_key) is None
    assert "Radio du genou" not in body
