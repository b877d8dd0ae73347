"""TR-2, DOC-2: notifications are written with their act and delivered after commit, at least
once and never twice, by e-mail (no medical content) and into the notification centre."""

from __future__ import annotations

import email
import email.policy
import smtplib
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session
from factories import add_patient, add_pro, pro_ctx, upload
from sqlalchemy import select
from support import free_port

from carnet.clock import FixedClock
from carnet.context import AccessMode
from carnet.notify.models import Notification, OutboxEvent
from carnet.notify.service import Mailer, deliver_pending, smtp_mailer
from carnet.records import service as records
from carnet.runtime import Runtime


class Sink:
    """A real SMTP server on 127.0.0.1 that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: object, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def sink() -> Iterator[tuple[Sink, str]]:
    handler = Sink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, f"127.0.0.1:{port}"
    controller.stop()


def _notifications(rt: Runtime, patient_id: str) -> list[Notification]:
    with rt.transaction() as session:
        return list(
            session.scalars(select(Notification).where(Notification.patient_id == patient_id))
        )


def test_tr_2_first_access_of_each_pro_and_each_document(
    rt: Runtime, sink: tuple[Sink, str]
) -> None:
    handler, relay = sink
    patient, author, reader = (
        add_patient(rt, email="claire@example.org"),
        add_pro(rt),
        add_pro(rt, last_name="Roux"),
    )
    upload(rt, pro_ctx(author), patient, title="Radio du genou")
    records.list_documents(rt, pro_ctx(reader), patient.id, declares_consent=True)
    records.list_documents(rt, pro_ctx(reader), patient.id)  # not a first access any more
    assert deliver_pending(rt.uow, smtp_mailer(relay), "carnet@example.org") == 2
    texts = sorted(n.text_fr for n in _notifications(rt, patient.id))
    assert texts == [
        "Dr Louis Roux a accédé à votre dossier pour la première fois.",
        "Un nouveau document a été ajouté à votre dossier : Radio du genou.",
    ]
    assert len(handler.messages) == 2
    for message in handler.messages:
        assert message["To"] == "claire@example.org"
        body = message.get_content()
        assert "Radio du genou" not in body
        assert "Roux" not in body


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
    with rt.transaction() as session:
        event = session.scalars(select(OutboxEvent)).one()
    assert (event.attempts, event.delivered_at is not None) == (1, True)
    assert sent[0]["Message-ID"] == f"<{event.id}@carnet.notifications>"


def test_doc_2_rolled_back_act_notifies_nothing(rt: Runtime) -> None:
    patient = add_patient(rt)
    with pytest.raises(Exception, match="Format"):
        upload(rt, pro_ctx(add_pro(rt)), patient, content=b"\x00\x01binary", mime="application/pdf")
    with rt.transaction() as session:
        assert list(session.scalars(select(OutboxEvent))) == []
