"""Reply texts that survive any relay (MSG-4): ASCII to a client that did not negotiate SMTPUTF8,
the seeds' exact French to one that did; every refusal counted and logged with no address."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator

import pytest
import structlog
from factories import add_patient, add_pro
from hypothesis import given
from hypothesis import strategies as st
from smtp_support import Raw, add_mailbox, address_of, nested, running_smtp, with_settings
from structlog.typing import EventDict

from carnet.identity.ins import make_ins
from carnet.identity.models import Mailbox
from carnet.logs import drop_personal_data
from carnet.population.rules import ProfileState
from carnet.runtime import Runtime
from carnet.smtp.replies import ascii_text, reply
from carnet.smtp.server import SmtpServer


@pytest.fixture
def door(rt: Runtime) -> Iterator[SmtpServer]:
    with running_smtp(with_settings(rt, smtp_max_recipients=2)) as server:
        yield server


@pytest.fixture
def doctor(rt: Runtime) -> Mailbox:
    return add_mailbox(rt, pro=add_pro(rt))


@pytest.fixture
def logs() -> Iterator[list[EventDict]]:
    with structlog.testing.capture_logs(processors=[drop_personal_data]) as captured:
        yield captured


def _every_refusal(rt: Runtime, door: SmtpServer, doctor: Mailbox, mail_from: bytes) -> Raw:
    """One session through each refusal of the door: a sender outside the trust space, the
    four MSG-4 cases, too many recipients, a message refused after DATA."""
    domain = rt.settings.patient_mail_domain
    good = add_patient(rt)
    closed = add_patient(rt, state=ProfileState.CLOSED)
    client = Raw(door.port)
    client.command(b"EHLO mss.exemple.fr")
    assert client.command(b"MAIL FROM:<docteur@gmail.example>" + mail_from).startswith(b"550")
    assert client.command(b"MAIL FROM:<" + doctor.address.encode() + b">" + mail_from)[:3] == b"250"
    for address in (
        f"{good.ins[:14]}@{domain}",
        f"{make_ins('1991275999999')}@{domain}",
        address_of(rt, closed),
        "quelqu.un@ailleurs.fr",
    ):
        assert client.command(f"RCPT TO:<{address}>".encode()).startswith(b"550")
    for patient in (good, add_patient(rt)):
        assert client.command(f"RCPT TO:<{address_of(rt, patient)}>".encode())[:3] == b"250"
    assert client.command(f"RCPT TO:<{address_of(rt, add_patient(rt))}>".encode())[:3] == b"452"
    assert client.command(b"DATA")[:3] == b"354"
    client.send(nested(5000).replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\n")
    assert client.reply()[:3] == b"554"
    client.command(b"QUIT")
    client.close()
    return client


def test_msg_4_a_client_without_smtputf8_gets_every_reply_line_in_ascii(
    rt: Runtime, door: SmtpServer, doctor: Mailbox
) -> None:
    transcript = _every_refusal(rt, door, doctor, b"").transcript
    assert transcript.isascii()
    lines = transcript.decode("ascii").split("\r\n")
    assert "550-5.2.1 Le message que vous avez envoye a l'adresse" in "\n".join(lines)
    assert any(line.endswith("est cloturee.") for line in lines)
    assert any(line.endswith("est invalide.") for line in lines)
    assert "?" not in transcript.decode("ascii")


def test_msg_4_a_client_with_smtputf8_gets_the_seed_text_and_an_ascii_english_line(
    rt: Runtime, door: SmtpServer, doctor: Mailbox
) -> None:
    transcript = _every_refusal(rt, door, doctor, b" SMTPUTF8").transcript.decode("utf-8")
    lines = transcript.split("\r\n")
    french = [line for line in lines if line.startswith("550-")]
    english = [line for line in lines if line.startswith("550 ")]
    assert any(line.endswith("de votre destinataire est clôturée.") for line in french)
    assert any(line.endswith("cette adresse Mon espace santé est invalidé.") for line in french)
    assert any("l'espace de confiance MSSanté" in line for line in french)
    assert all(line.isascii() for line in english)
    assert len(french) == len(english) == 5


def test_msg_4_refusals_are_counted_and_logged_without_an_address(
    rt: Runtime, door: SmtpServer, doctor: Mailbox, logs: list[EventDict]
) -> None:
    _every_refusal(rt, door, doctor, b"")
    refused = [e for e in logs if e["event"] == "smtp_refused"]
    reasons = sorted((e["stage"], e["reason"], e["enhanced_code"]) for e in refused)
    assert reasons == [
        ("data", "message", "5.6.0"),
        ("mail", "sender", "5.7.1"),
        ("rcpt", "absent", "5.1.1"),
        ("rcpt", "closed", "5.2.1"),
        ("rcpt", "invalid", "5.1.3"),
        ("rcpt", "not_here", "5.7.1"),
        ("rcpt", "too_many_recipients", "4.5.3"),
    ]
    text = json.dumps(refused)
    assert "@" not in text
    assert (
        rt.settings.patient_mail_domain not in text
    )  # no recipient's address, not even its domain
    [closed] = [e for e in refused if e["reason"] == "closed"]
    assert len(closed["rcpt"]) == 16  # a keyed hash: one mailbox can be followed, not read
    assert closed["sender_domain"] == doctor.address.partition("@")[2]
    metrics = rt.metrics
    assert metrics.value("carnet_smtp_refused_total", stage="rcpt", reason="closed") == 1
    assert metrics.value("carnet_smtp_refused_total", stage="data", reason="message") == 1
    assert metrics.value("carnet_smtp_messages_accepted_total") == 0


def test_reply_the_english_line_is_always_ascii() -> None:
    answer = reply(550, "5.2.1", "clôturée", "Mon espace santé « MSSanté »", utf8=True)
    assert answer == '550-5.2.1 clôturée\r\n550 5.2.1 Mon espace sante " MSSante "'
    assert reply(550, "5.2.1", "a\r\nb", "c\x00d") == "550-5.2.1 a  b\r\n550 5.2.1 c d"


@pytest.mark.parametrize(
    ("text", "ascii"),
    [
        ("clôturée", "cloturee"),
        ("invalidé", "invalide"),
        ("Œuvre d’art – « Noël »…", 'OEuvre d\'art - " Noel "...'),
        ("Søren Łódź", "Soren Lodz"),
        ("医院", "??"),
    ],
)
def test_reply_ascii_form_drops_accents(text: str, ascii: str) -> None:
    assert ascii_text(text) == ascii


@given(st.text(alphabet=st.characters(min_codepoint=0xC0, max_codepoint=0xFF)))
def test_reply_ascii_form_of_latin_1_letters_never_has_a_question_mark(text: str) -> None:
    folded = ascii_text(text)
    assert folded.isascii()
    assert "?" not in folded
    letters = [c for c in text if unicodedata.category(c).startswith("L")]
    assert len(folded) >= len(letters)
