"""Hostile input at the SMTP door: a clean refusal or a stored message, never a crash or a hang.

Raw sockets where the bytes matter (SMTP smuggling), smtplib elsewhere; every test ends by
checking that the server still answers.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator

import pytest
from factories import add_patient, add_pro, patient_ctx
from smtp_support import Raw, add_mailbox, address_of, nested, running_smtp, with_settings
from sqlalchemy import select

from carnet.identity.ins import make_ins
from carnet.identity.models import Mailbox
from carnet.messaging import service as messaging
from carnet.messaging.models import Message
from carnet.population.models import Patient
from carnet.runtime import Runtime
from carnet.smtp.server import SmtpServer


@pytest.fixture
def door(rt: Runtime) -> Iterator[SmtpServer]:
    with running_smtp(rt) as server:
        yield server


@pytest.fixture
def doctor(rt: Runtime) -> Mailbox:
    return add_mailbox(rt, pro=add_pro(rt))


def _messages(rt: Runtime, patient: Patient | None = None) -> list[Message]:
    query = select(Message)
    if patient is not None:
        query = query.where(Message.patient_id == patient.id)
    with rt.transaction() as session:
        return list(session.scalars(query))


def _keep_talking(client: Raw, seconds: float = 10) -> None:
    """NOOP every tenth of a second: never idle, until the server closes."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        client.command(b"NOOP")
        time.sleep(0.1)


def _still_answers(door: SmtpServer) -> None:
    with smtplib.SMTP("127.0.0.1", door.port, timeout=10) as client:
        assert client.noop()[0] == 250


@pytest.mark.parametrize("terminator", [b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r", b"\r\n.\r"])
def test_smtp_smuggling_never_yields_a_second_message(
    rt: Runtime, door: SmtpServer, doctor: Mailbox, terminator: bytes
) -> None:
    patient, victim = add_patient(rt), add_patient(rt)
    client = Raw(door.port)
    assert client.command(b"EHLO mss.exemple.fr").startswith(b"250")
    assert client.command(b"MAIL FROM:<" + doctor.address.encode() + b">").startswith(b"250")
    assert client.command(b"RCPT TO:<" + address_of(rt, patient).encode() + b">").startswith(b"250")
    assert client.command(b"DATA").startswith(b"354")
    smuggled = (
        b"MAIL FROM:<" + doctor.address.encode() + b">\r\n"
        b"RCPT TO:<" + address_of(rt, victim).encode() + b">\r\n"
        b"DATA\r\nSubject: smuggled\r\n\r\nfaux\r\n"
    )
    client.send(
        b"Subject: vrai\r\nMessage-ID: <vrai@x>\r\n\r\ntexte" + terminator + smuggled + b".\r\n"
    )
    # Each terminator holds a bare CR or LF: the message is refused whole (issue 16, as
    # Postfix's smtpd_forbid_bare_newline), and never read as two.
    assert client.reply().startswith(b"550-5.5.2")
    assert client.command(b"QUIT").startswith(b"221")
    client.close()
    assert _messages(rt, victim) == []
    assert _messages(rt, patient) == []
    _still_answers(door)


def test_over_long_lines_are_refused_cleanly(
    rt: Runtime, door: SmtpServer, doctor: Mailbox
) -> None:
    patient = add_patient(rt)
    client = Raw(door.port)
    client.command(b"EHLO mss.exemple.fr")
    assert client.command(b"NOOP " + b"x" * 100_000).startswith(b"500")
    client.command(b"MAIL FROM:<" + doctor.address.encode() + b">")
    client.command(b"RCPT TO:<" + address_of(rt, patient).encode() + b">")
    assert client.command(b"DATA").startswith(b"354")
    client.send(b"Subject: long\r\n\r\n" + b"y" * 2_000_000 + b"\r\nfin\r\n.\r\n")
    assert client.reply().startswith(b"500")
    assert client.command(b"NOOP").startswith(b"250")
    client.close()
    assert _messages(rt, patient) == []
    _still_answers(door)


def test_a_thousand_recipients(rt: Runtime, doctor: Mailbox) -> None:
    limit = 20
    patients = [add_patient(rt) for _ in range(limit + 5)]
    domain = rt.settings.patient_mail_domain
    unknown = [f"{make_ins(f'1991275{n:06d}')}@{domain}" for n in range(1000 - len(patients))]
    started = time.monotonic()
    with (
        running_smtp(with_settings(rt, smtp_max_recipients=limit)) as door,
        smtplib.SMTP("127.0.0.1", door.port, timeout=30) as client,
    ):
        client.ehlo()
        client.mail(doctor.address)
        codes = [client.rcpt(address_of(rt, p))[0] for p in patients]
        codes += [client.rcpt(address)[0] for address in unknown]
        assert codes[:limit] == [250] * limit
        assert set(codes[limit:]) == {452}
        code, _ = client.data(b"Subject: circulaire\r\n\r\nBonjour\r\n")
        assert code == 250
        assert client.noop()[0] == 250
    assert time.monotonic() - started < 30
    assert len(_messages(rt)) == limit


@pytest.mark.parametrize(("depth", "stored"), [(40, True), (5000, False)])
def test_deeply_nested_mime(
    rt: Runtime, door: SmtpServer, doctor: Mailbox, depth: int, stored: bool
) -> None:
    patient = add_patient(rt)
    started = time.monotonic()
    with smtplib.SMTP("127.0.0.1", door.port, timeout=30) as client:
        client.ehlo()
        client.mail(doctor.address)
        client.rcpt(address_of(rt, patient))
        code, text = client.data(nested(depth))
    assert time.monotonic() - started < 10
    if stored:
        assert code == 250
        assert len(_messages(rt, patient)) == 1
    else:
        assert code == 554
        assert "trop imbriquee" in text.decode("ascii")  # no SMTPUTF8: ASCII French
        assert _messages(rt, patient) == []
    _still_answers(door)


@pytest.mark.parametrize(
    "body",
    [
        b"Subject: R\xe9sultats\r\nContent-Type: text/plain\r\n\r\nCaf\xe9 \xff\xfe\x00 cr\xe8me\r\n",
        b"Subject: x\r\nContent-Type: text/plain; charset=klingon\r\n\r\n\xc3\x28 \xa0\xa1\r\n",
        b"Subject: =?utf-8?b?invalide!!?=\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@not base64@@@\r\n",
        b"\xff\xfe\xfd\r\n\r\n\x00\x01\x02",
        b"",
    ],
)
def test_non_utf8_and_broken_bodies_are_stored(
    rt: Runtime, door: SmtpServer, doctor: Mailbox, body: bytes
) -> None:
    patient = add_patient(rt)
    with smtplib.SMTP("127.0.0.1", door.port, timeout=10) as client:
        client.ehlo()
        client.mail(doctor.address, ["BODY=8BITMIME"])
        client.rcpt(address_of(rt, patient))
        code, _ = client.data(body)
    assert code == 250
    [stored] = _messages(rt, patient)
    opened = messaging.read_message(rt, patient_ctx(patient), patient.id, stored.id)
    assert "\x00" not in (opened.body or "")
    _still_answers(door)


@pytest.fixture
def impatient(rt: Runtime) -> Iterator[SmtpServer]:
    with running_smtp(with_settings(rt, smtp_timeout_seconds=0.5)) as server:
        yield server


def test_a_silent_client_is_disconnected(impatient: SmtpServer) -> None:
    client = Raw(impatient.port)
    started = time.monotonic()
    with pytest.raises(ConnectionError):
        client.reply()
    assert time.monotonic() - started < 5
    client.close()


def test_a_connection_is_closed_at_the_end_of_its_life(rt: Runtime) -> None:
    with running_smtp(with_settings(rt, smtp_session_max_seconds=0.5)) as door:
        client = Raw(door.port)
        started = time.monotonic()
        with pytest.raises((ConnectionError, OSError)):
            _keep_talking(client)
        assert time.monotonic() - started < 5
        client.close()


def test_a_client_stalling_in_data_is_disconnected(
    rt: Runtime, impatient: SmtpServer, doctor: Mailbox
) -> None:
    door = impatient
    patient = add_patient(rt)
    client = Raw(door.port)
    client.command(b"EHLO mss.exemple.fr")
    client.command(b"MAIL FROM:<" + doctor.address.encode() + b">")
    client.command(b"RCPT TO:<" + address_of(rt, patient).encode() + b">")
    client.command(b"DATA")
    client.send(b"Subject: lent\r\n\r\ndebut")
    started = time.monotonic()
    with pytest.raises((ConnectionError, OSError)):
        client.reply()
    assert time.monotonic() - started < 5
    client.close()
    assert _messages(rt, patient) == []
    _still_answers(door)


def test_garbage_commands_and_bad_addresses(rt: Runtime, door: SmtpServer, doctor: Mailbox) -> None:
    client = Raw(door.port)
    client.command(b"EHLO mss.exemple.fr")
    assert client.command(b"\xff\xfe\x00").startswith(b"500")
    assert client.command(b"MAIL FROM:<a@b@c>").startswith(b"5")
    assert client.command(b"MAIL FROM:<>").startswith(b"250")  # reports (issue 16)
    assert client.command(b"RSET").startswith(b"250")
    client.command(b"MAIL FROM:<" + doctor.address.encode() + b">")
    assert client.command(b"RCPT TO:<" + b"9" * 80 + b"@patient.mssante.fr>").startswith(b"5")
    assert client.command(b"RCPT TO:<\xc3\xa9l\xc3\xa8ve@patient.mssante.fr>").startswith(b"550")
    assert client.command(b"RCPT TO:<quelquun@ailleurs.fr>").startswith(b"550-5.7.1")
    client.close()
    _still_answers(door)
