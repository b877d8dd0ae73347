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
from smtp_support import Raw, add_establishment, add_mailbox, address_of, mail, running_smtp

from carnet.identity.models import Mailbox
from carnet.messaging import service as messaging
from carnet.messaging.refusals import WritingRefused
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
