"""Issue 16, « SMTP by the RFCs », over real sockets (smtplib, aiosmtplib, raw bytes):
PIPELINING and ENHANCEDSTATUSCODES advertised and honoured, bare CR or LF refused (the
``X-MSS-MES: FIN`` smuggling), replies in ASCII unless SMTPUTF8 was negotiated, the null
reverse-path accepted for reports, the pharmacist's [FIN] text."""

from __future__ import annotations

import asyncio
import re
import smtplib
from collections.abc import Iterator

import aiosmtplib
import pytest
from factories import add_patient, add_pro, patient_ctx
from smtp_support import (
    Raw,
    add_establishment,
    add_mailbox,
    address_of,
    mail,
    nested,
    running_smtp,
)
from sqlalchemy import select

from carnet import clock
from carnet.context import RequestContext
from carnet.identity.models import Mailbox
from carnet.messaging import service as messaging
from carnet.messaging.mime import Receipt, compose_receipt
from carnet.messaging.models import Message
from carnet.messaging.refusals import WritingRefused
from carnet.messaging.reports import read_report
from carnet.messaging.rules import ReportKind, report_notice
from carnet.runtime import Runtime
from carnet.smtp.server import SmtpServer

ENHANCED = re.compile(rb"^[245]\d\d[ -][245]\.\d{1,3}\.\d{1,3} ")


@pytest.fixture
def door(rt: Runtime) -> Iterator[SmtpServer]:
    with running_smtp(rt) as server:
        yield server


@pytest.fixture
def doctor(rt: Runtime) -> Mailbox:
    return add_mailbox(rt, pro=add_pro(rt))


def test_issue16_ehlo_advertises_pipelining_and_enhancedstatuscodes(door: SmtpServer) -> None:
    with smtplib.SMTP("127.0.0.1", door.port, timeout=10) as client:
        assert client.ehlo()[0] == 250
        assert "pipelining" in client.esmtp_features
        assert "enhancedstatuscodes" in client.esmtp_features
        assert "help" in client.esmtp_features  # the last line stays a keyword

    async def features() -> dict[str, str]:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=door.port, start_tls=False) as c:
            await c.ehlo()
            return dict(c.esmtp_extensions)

    offered = asyncio.run(features())
    assert "pipelining" in offered
    assert "enhancedstatuscodes" in offered


def test_issue16_every_reply_after_ehlo_has_an_enhanced_code(
    rt: Runtime, door: SmtpServer, doctor: Mailbox
) -> None:
    """aiosmtpd's own replies too (RFC 2034 §4): sequence errors, syntax errors, RSET, QUIT."""
    client = Raw(door.port)
    assert client.command(b"EHLO mss.exemple.fr").startswith(b"250-")
    replies = [
        client.command(b"NOOP"),
        client.command(b"DATA"),  # no MAIL yet
        client.command(b"RCPT TO:<x@y.fr>"),
        client.command(b"MAIL FROM:<a@b@c>"),
        client.command(b"FOO"),
        client.command(b"MAIL FROM:<" + doctor.address.encode() + b">"),
        client.command(b"RSET"),
        client.command(b"QUIT"),
    ]
    client.close()
    for answer in replies:
        for line in answer.split(b"\n"):
            assert ENHANCED.match(line), answer


def test_issue16_pipelined_commands_get_their_replies_in_order(
    rt: Runtime, door: SmtpServer, doctor: Mailbox
) -> None:
    patient = add_patient(rt)
    client = Raw(door.port)
    client.command(b"EHLO mss.exemple.fr")
    client.send(
        b"MAIL FROM:<" + doctor.address.encode() + b">\r\n"
        b"RCPT TO:<" + address_of(rt, patient).encode() + b">\r\n"
        b"DATA\r\n"
    )
    assert client.reply().startswith(b"250 2.1.0")
    assert client.reply().startswith(b"250 2.1.5")
    assert client.reply().startswith(b"354")
    client.send(b"Subject: en rafale\r\nMessage-ID: <p@x>\r\n\r\ntexte\r\n.\r\nQUIT\r\n")
    assert client.reply().startswith(b"250 2.0.0")
    assert client.reply().startswith(b"221 2.0.0")
    client.close()
    [conversation] = messaging.list_conversations(
        rt, patient_ctx(patient), patient.id
    ).conversations
    assert conversation.subject == "en rafale"


def _data(door: SmtpServer, sender: str, to: str, content: bytes, *, utf8: bool = False) -> bytes:
    client = Raw(door.port)
    client.command(b"EHLO mss.exemple.fr")
    option = b" SMTPUTF8" if utf8 else b""
    assert client.command(b"MAIL FROM:<" + sender.encode() + b">" + option).startswith(b"250")
    assert client.command(b"RCPT TO:<" + to.encode() + b">").startswith(b"250")
    assert client.command(b"DATA").startswith(b"354")
    client.send(content + b"\r\n.\r\n")
    answer = client.reply()
    assert client.command(b"NOOP").startswith(b"250")  # the session goes on
    client.command(b"QUIT")
    client.close()
    return answer


def test_issue16_a_bare_lf_cannot_smuggle_x_mss_mes_fin(
    rt: Runtime, door: SmtpServer, doctor: Mailbox
) -> None:
    """A header after a bare LF is a header to Python's parser and not to others: the message
    is refused whole (550 5.5.2), the conversation stays open."""
    patient = add_patient(rt)
    to = address_of(rt, patient)
    with smtplib.SMTP("127.0.0.1", door.port, timeout=10) as client:
        client.send_message(mail(doctor.address, to, message_id="<first@x>"))
    smuggled = (
        b"From: " + doctor.address.encode() + b"\r\nSubject: Suite\nX-MSS-MES: FIN\r\n"
        b"In-Reply-To: <first@x>\r\nMessage-ID: <second@x>\r\n\r\nBonjour\r\n"
    )
    answer = _data(door, doctor.address, to, smuggled)
    assert answer.startswith(b"550-5.5.2 ")
    assert answer.isascii()
    assert b"CRLF" in answer
    [conversation] = messaging.list_conversations(
        rt, patient_ctx(patient), patient.id
    ).conversations
    assert conversation.state == "open"
    assert (
        len(
            messaging.read_conversation(
                rt, patient_ctx(patient), patient.id, conversation.id
            ).messages
        )
        == 1
    )


@pytest.mark.parametrize(
    "content",
    [
        b"Subject: a\r\n\r\nligne\rsuite\r\n",
        b"Subject: a\r\n\r\nligne\nsuite\r\n",
        b"Subject: a\n\r\ncorps\r\n",
        b"Subject: a\r\n\r\nfin\r\r\n",
    ],
    ids=["cr_in_body", "lf_in_body", "lf_in_headers", "cr_before_crlf"],
)
def test_issue16_bare_cr_or_lf_anywhere_is_refused(
    rt: Runtime, door: SmtpServer, doctor: Mailbox, content: bytes
) -> None:
    patient = add_patient(rt)
    answer = _data(door, doctor.address, address_of(rt, patient), content)
    assert answer.startswith(b"550-5.5.2 ")
    assert messaging.list_conversations(rt, patient_ctx(patient), patient.id).conversations == ()


def test_issue16_bare_newline_refusal_keeps_accents_only_with_smtputf8(
    rt: Runtime, door: SmtpServer, doctor: Mailbox
) -> None:
    to = address_of(rt, add_patient(rt))
    content = b"Subject: a\r\n\r\nx\ny\r\n"
    plain = _data(door, doctor.address, to, content)
    assert plain.isascii()
    assert b"Message refuse" in plain
    negotiated = _data(door, doctor.address, to, content, utf8=True).decode("utf-8")
    french, english = negotiated.split("\n")
    assert "Message refusé" in french
    assert english.isascii()


def test_issue16_after_a_pharmacists_fin_on_his_own_mailbox_the_patient_is_not_told_to_write_again(
    rt: Runtime, door: SmtpServer
) -> None:
    """MSG-3, MSG-9: the patient may start a conversation with a pharmacy's organisational
    mailbox only; after a [FIN] from a pharmacist's personal one, he is told he can no longer
    reply — not that he may write a new message, which would then be refused."""
    pharmacy = add_establishment(rt)
    pharmacist = add_mailbox(rt, kind="PER", pro=add_pro(rt), establishment=pharmacy)
    patient = add_patient(rt)
    to = address_of(rt, patient)
    with smtplib.SMTP("127.0.0.1", door.port, timeout=10) as client:
        client.send_message(mail(pharmacist.address, to, message_id="<ph1@x>"))
        client.send_message(
            mail(pharmacist.address, to, "[FIN]", headers={"In-Reply-To": "<ph1@x>"})
        )
    ctx = patient_ctx(patient)
    [conversation] = messaging.list_conversations(rt, ctx, patient.id).conversations
    assert conversation.state == "closed"
    with pytest.raises(WritingRefused) as refused:
        messaging.reply(rt, ctx, patient.id, conversation.id, "Merci")
    assert "nouveau message" not in refused.value.fr
    assert "ne pouvez plus y répondre" in refused.value.fr
    with pytest.raises(WritingRefused):  # indeed: he may not start one there
        messaging.write_to_pharmacy(rt, ctx, patient.id, pharmacist.address, "Bonjour")


def _sent_message_id(rt: Runtime, patient_id: str) -> str:
    with rt.transaction() as session:
        found = session.scalars(
            select(Message.rfc_message_id).where(
                Message.patient_id == patient_id, Message.direction == "out"
            )
        ).first()
    assert found is not None
    return found


def _dsn(original_id: str, recipient: str, action: str = "failed") -> bytes:
    """A delivery status notification as Postfix writes one (RFC 3464)."""
    return (
        "From: MAILER-DAEMON@mx.pharmacie.fr (Mail Delivery System)\r\n"
        "To: patient\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.pharmacie.fr>\r\nAuto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nThis is the mail system.\r\n\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.pharmacie.fr\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: patient\r\nSubject: Mon ordonnance\r\nMessage-ID: {original_id}\r\n\r\n"
        "--B--\r\n"
    ).encode()


def _notices(rt: Runtime, patient_id: str) -> list[tuple[str, str]]:
    ctx = patient_ctx_of(patient_id)
    [conversation] = messaging.list_conversations(rt, ctx, patient_id).conversations
    detail = messaging.read_conversation(rt, ctx, patient_id, conversation.id)
    return [
        (m.subject, messaging.read_message(rt, ctx, patient_id, m.id).body or "")
        for m in detail.messages
        if m.direction == "notice"
    ]


def patient_ctx_of(patient_id: str) -> RequestContext:
    return RequestContext.for_patient(patient_id)


def test_issue16_a_bounce_with_the_null_reverse_path_reaches_the_conversation(
    rt: Runtime, door: SmtpServer
) -> None:
    """smtplib: ``MAIL FROM:<>`` is accepted; the DSN becomes a notice in the conversation of
    the message it reports on (RFC 5321 §4.5.5, RFC 3464); sent twice, filed once."""
    patient = add_patient(rt)
    pharmacy = add_mailbox(rt, kind="ORG", establishment=add_establishment(rt))
    messaging.write_to_pharmacy(rt, patient_ctx(patient), patient.id, pharmacy.address, "Bonjour")
    original = _sent_message_id(rt, patient.id)
    report = _dsn(original, pharmacy.address)
    with smtplib.SMTP("127.0.0.1", door.port, timeout=10) as client:
        client.ehlo()
        code, text = client.mail("")
        assert (code, text[:5]) == (250, b"2.1.0")
        assert client.rcpt(address_of(rt, patient))[0] == 250
        assert client.data(report)[0] == 250
        client.sendmail("", [address_of(rt, patient)], report)  # a retry after a lost 250
    [(subject, body)] = _notices(rt, patient.id)
    assert subject == "Message non distribué"
    assert f"n'a pas pu être distribué à {pharmacy.address}" in body
    assert "5.1.1" in body
    assert "could not be delivered" in body


def test_issue16_a_read_receipt_with_the_null_reverse_path_reaches_the_conversation(
    rt: Runtime, door: SmtpServer
) -> None:
    """aiosmtplib, an MDN as Carnet itself writes them (RFC 8098)."""
    patient = add_patient(rt)
    pharmacy = add_mailbox(rt, kind="ORG", establishment=add_establishment(rt))
    messaging.write_to_pharmacy(rt, patient_ctx(patient), patient.id, pharmacy.address, "Bonjour")
    original = _sent_message_id(rt, patient.id)
    mdn = compose_receipt(
        Receipt(
            message_id="<mdn-1@pharmacie.fr>",
            patient_address=pharmacy.address,
            patient_name="Pharmacie du Marché",
            to=address_of(rt, patient),
            original_message_id=original,
            original_subject="Ordonnance",
            date=clock.now(),
            reporting_ua="pharmacie.fr; Logiciel officinal",
        )
    )

    async def send() -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=door.port, start_tls=False) as c:
            errors, _ = await c.sendmail("", [address_of(rt, patient)], mdn)
            assert errors == {}

    asyncio.run(send())
    [(subject, body)] = _notices(rt, patient.id)
    assert subject == "Accusé de lecture"
    assert f"a été ouvert par {pharmacy.address}" in body


def test_issue16_a_null_sender_mail_about_nothing_the_patient_sent_is_refused(
    rt: Runtime, door: SmtpServer
) -> None:
    """The null reverse-path is for reports only: no way to drop text in a mailbox."""
    patient = add_patient(rt)
    with smtplib.SMTP("127.0.0.1", door.port, timeout=10) as client:
        client.ehlo()
        assert client.mail("")[0] == 250
        assert client.rcpt(address_of(rt, patient))[0] == 250
        code, text = client.data(_dsn("<never-sent@x>", "a@b.fr"))
        assert code == 554
        assert text.startswith(b"5.6.0 ")
        assert text.isascii()
        client.rset()
        client.mail("")
        assert client.rcpt("quelquun@ailleurs.fr")[0] == 550
        client.rset()
        client.mail("")
        spam = b"Subject: Gagnez\r\nMessage-ID: <s@x>\r\n\r\nCliquez\r\n"
        assert client.rcpt(address_of(rt, patient))[0] == 250
        assert client.data(spam)[0] == 554
    assert messaging.list_conversations(rt, patient_ctx(patient), patient.id).conversations == ()


@pytest.mark.parametrize(
    ("action", "kind", "subject"),
    [
        ("failed", ReportKind.FAILED, "Message non distribué"),
        ("delayed", ReportKind.DELAYED, "Distribution retardée"),
        ("delivered", ReportKind.DELIVERED, "Avis de remise"),
        ("relayed", ReportKind.DELIVERED, "Avis de remise"),
        ("unknown", ReportKind.OTHER, "Avis sur votre message"),
    ],
)
def test_issue16_reports_are_read_by_their_action(
    action: str, kind: ReportKind, subject: str
) -> None:
    report = read_report(_dsn("<o@x>", "dr@x.fr", action))
    assert report.kind is kind
    assert report.original_ids == ("<o@x>",)
    assert report.recipient == "dr@x.fr"
    assert report.message_id == "<dsn-1@mx.pharmacie.fr>"
    notice = report_notice(report.kind, "dr@x.fr", "Objet", report.detail)
    assert notice[0] == subject
    assert notice[2].isascii()


def test_issue16_replies_echoing_utf8_stay_ascii_without_smtputf8(
    rt: Runtime, door: SmtpServer, doctor: Mailbox
) -> None:
    """Whatever a client without SMTPUTF8 sends (UTF-8 commands, UTF-8 addresses echoed in
    the refusal), every byte of every reply is ASCII."""
    client = Raw(door.port)
    client.command(b"EHLO mss.exemple.fr")
    assert client.command("CLÔTURE été".encode()).startswith(b"500 5.5.2 ")
    assert client.command(b"MAIL FROM:<" + doctor.address.encode() + b">").startswith(b"250")
    refused = client.command("RCPT TO:<élève@patient.mssante.fr>".encode())
    assert refused.startswith(b"5")
    client.command(b"QUIT")
    client.close()
    assert client.transcript.isascii()


def test_issue16_a_deeply_nested_null_sender_mail_is_refused_cleanly(
    rt: Runtime, door: SmtpServer
) -> None:
    patient = add_patient(rt)
    with smtplib.SMTP("127.0.0.1", door.port, timeout=10) as client:
        client.ehlo()
        client.mail("")
        assert client.rcpt(address_of(rt, patient))[0] == 250
        code, _ = client.data(nested(5000))
        assert code == 554
        assert client.noop()[0] == 250
