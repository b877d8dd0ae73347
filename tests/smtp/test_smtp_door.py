"""The SMTP door over real sockets: real mail sent with smtplib and aiosmtplib to the running
server, each rule checked by its ID (INTERFACES.md, SMTP)."""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
import ssl
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import SMTP as SMTP_POLICY
from email.policy import default
from pathlib import Path

import aiosmtplib
import pytest
from factories import add_patient, add_pro, patient_ctx
from smtp_support import (
    add_establishment,
    add_mailbox,
    address_of,
    authority,
    client_tls,
    mail,
    relay_sink,
    running_smtp,
    with_settings,
)
from sqlalchemy import select

from carnet.identity.ins import make_ins
from carnet.identity.models import Mailbox
from carnet.keys.service import key_by_id
from carnet.messaging import service as messaging
from carnet.messaging import store
from carnet.messaging.delivery import deliver_due
from carnet.messaging.models import Message
from carnet.population.models import Patient
from carnet.population.rules import ProfileState
from carnet.runtime import Runtime
from carnet.smtp.server import SmtpServer

TEXT_START = "Le message que vous avez envoyé à l'adresse \"{}\" n'a pas pu être distribué, car "


@pytest.fixture
def door(rt: Runtime) -> Iterator[SmtpServer]:
    with running_smtp(rt) as server:
        yield server


@pytest.fixture
def doctor(rt: Runtime) -> Mailbox:
    return add_mailbox(rt, pro=add_pro(rt))


def _messages(rt: Runtime, patient: Patient) -> list[Message]:
    with rt.transaction() as session:
        return list(session.scalars(select(Message).where(Message.patient_id == patient.id)))


def _client(door: SmtpServer) -> smtplib.SMTP:
    return smtplib.SMTP("127.0.0.1", door.port, local_hostname="mss.exemple.fr", timeout=10)


def test_esmtp_offers_size_8bitmime_smtputf8_starttls(door: SmtpServer) -> None:
    with _client(door) as client:
        code, _ = client.ehlo()
        assert code == 250
        assert client.esmtp_features["size"] == str(20 * 1024 * 1024)
        for feature in ("8bitmime", "smtputf8", "starttls"):
            assert feature in client.esmtp_features


@pytest.mark.parametrize(
    ("case", "enhanced", "ending"),
    [
        ("too_short", "5.1.3", "cette adresse Mon espace santé est invalidé."),
        ("wrong_key", "5.1.3", "cette adresse Mon espace santé est invalidé."),
        ("unknown", "5.1.1", "cette adresse Mon espace santé n'existe pas."),
        ("opposed", "5.1.1", "cette adresse Mon espace santé n'existe pas."),
        ("closed", "5.2.1", "la messagerie Mon espace santé de votre destinataire est clôturée."),
    ],
)
def test_msg_4_refused_at_rcpt_with_the_exact_text(
    rt: Runtime, door: SmtpServer, doctor: Mailbox, case: str, enhanced: str, ending: str
) -> None:
    """To a client that negotiated SMTPUTF8 the French line is the seed's, accents and all; the
    RFC 3463 code says which MSG-4 case it is (bad syntax, unknown, disabled)."""
    domain = rt.settings.patient_mail_domain
    good = add_patient(rt).ins
    address = {
        "too_short": lambda: f"{good[:14]}@{domain}",
        "wrong_key": lambda: f"{good[:13]}{(int(good[13:]) + 1) % 100:02d}@{domain}",
        "unknown": lambda: f"{make_ins('1991275999999')}@{domain}",
        "opposed": lambda: address_of(rt, add_patient(rt, state=ProfileState.OPPOSED)),
        "closed": lambda: address_of(rt, add_patient(rt, state=ProfileState.CLOSED)),
    }[case]()
    with _client(door) as client:
        client.ehlo()
        assert client.mail(doctor.address, ["SMTPUTF8"])[0] == 250
        code, text = client.rcpt(address)
    assert code == 550
    french, english = text.decode("utf-8").splitlines()
    assert french == f"{enhanced} " + TEXT_START.format(address) + ending
    assert english.startswith(f'{enhanced} The message you sent to "{address}"')
    assert english.isascii()


def test_msg_4_with_aiosmtplib_too(rt: Runtime, door: SmtpServer, doctor: Mailbox) -> None:
    closed = address_of(rt, add_patient(rt, state=ProfileState.CLOSED))
    message = mail(doctor.address, closed)

    async def send() -> None:
        await aiosmtplib.send(message, hostname="127.0.0.1", port=door.port, start_tls=False)

    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        asyncio.run(send())
    [recipient] = refused.value.recipients
    assert recipient.code == 550
    assert recipient.message.isascii()  # aiosmtplib sent no SMTPUTF8 for this ASCII message
    assert (
        f"l'adresse \"{closed}\" n'a pas pu etre distribue, car la messagerie" in recipient.message
    )


def test_msg_2_outside_the_trust_space_refused_at_mail_from(rt: Runtime, door: SmtpServer) -> None:
    patient = add_patient(rt)
    with _client(door) as client:
        client.ehlo()
        code, text = client.mail("docteur@gmail.example")
    assert code == 550
    assert "espace de confiance MSSante" in text.decode("ascii")
    assert "MSSante trust space" in text.decode("ascii")

    async def send() -> None:
        await aiosmtplib.send(
            mail("docteur@gmail.example", address_of(rt, patient)),
            hostname="127.0.0.1",
            port=door.port,
            start_tls=False,
        )

    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        asyncio.run(send())
    assert refused.value.code == 550
    assert _messages(rt, patient) == []


@pytest.mark.parametrize("kind", ["PER", "ORG", "APP", "CAB"])
def test_msg_2_msg_7_every_kind_of_directory_mailbox_sends(
    rt: Runtime, door: SmtpServer, kind: str
) -> None:
    patient = add_patient(rt)
    sender = add_mailbox(rt, kind=kind, establishment=add_establishment(rt, kind="laboratory"))

    async def send() -> None:
        await aiosmtplib.send(
            mail(sender.address, address_of(rt, patient), "Rappel de vaccination"),
            hostname="127.0.0.1",
            port=door.port,
            start_tls=False,
        )

    asyncio.run(send())
    [stored] = _messages(rt, patient)
    assert stored.counterpart == sender.address


def _raw(rt: Runtime, stored: Message) -> bytes:
    with rt.transaction() as session:
        key = key_by_id(session, rt.master_key, stored.patient_id, stored.key_id)
    return store.raw_message(
        rt,
        key,
        stored.patient_id,
        stored.id,
        sealed=stored.raw_sealed,
        blob=stored.raw_blob_key,
        sha256=stored.raw_sha256,
    )


def test_250_only_once_the_message_is_durable(
    rt: Runtime, door: SmtpServer, doctor: Mailbox
) -> None:
    """A small message keeps its raw bytes sealed in its row (durable with the commit before
    the 250); a large one in a blob, fsync'd before that commit. Both are kept as received."""
    patient = add_patient(rt)
    small = mail(doctor.address, address_of(rt, patient))
    scan = ("scanner.pdf", "application/pdf", b"%PDF-1.4\n" + bytes(range(256)) * 400)
    large = mail(doctor.address, address_of(rt, patient), attachments=[scan])
    with _client(door) as client:
        assert client.send_message(small) == {}
        [stored] = _messages(rt, patient)  # before QUIT: the row is committed already
        assert client.send_message(large) == {}
    kept = {m.rfc_message_id: m for m in _messages(rt, patient)}
    inline, blob = kept[small["Message-ID"]], kept[large["Message-ID"]]
    assert stored.id == inline.id
    assert inline.raw_sealed is not None
    assert inline.raw_blob_key is None
    assert b"vos r" not in inline.raw_sealed  # sealed, not stored in clear
    assert blob.raw_sealed is None
    assert blob.raw_blob_key is not None
    assert rt.blobs.exists(blob.raw_blob_key)
    assert blob.raw_size > store.RAW_INLINE_MAX >= inline.raw_size
    for message, row in ((small, inline), (large, blob)):
        raw = _raw(rt, row)
        assert hashlib.sha256(raw).hexdigest() == row.raw_sha256
        assert BytesParser(policy=default).parsebytes(raw)["Message-ID"] == message["Message-ID"]


def test_one_message_for_two_patients_is_filed_for_each(
    rt: Runtime, door: SmtpServer, doctor: Mailbox
) -> None:
    first, second = add_patient(rt), add_patient(rt, state=ProfileState.CREATED)
    recipients = [address_of(rt, first), address_of(rt, second)]
    with _client(door) as client:
        client.send_message(mail(doctor.address, recipients))
    assert len(_messages(rt, first)) == len(_messages(rt, second)) == 1


def test_msg_4_a_profile_closed_between_rcpt_and_data_is_refused_at_data(
    rt: Runtime, door: SmtpServer, doctor: Mailbox
) -> None:
    patient = add_patient(rt)
    with _client(door) as client:
        client.ehlo()
        client.mail(doctor.address)
        assert client.rcpt(address_of(rt, patient))[0] == 250
        with rt.transaction() as session:
            row = session.get(Patient, patient.id)
            assert row is not None
            row.state = ProfileState.CLOSED.value
        code, text = client.data(
            mail(doctor.address, address_of(rt, patient)).as_bytes(policy=SMTP_POLICY)
        )
    assert code == 550
    assert text.startswith(b"5.2.1 ")
    assert "est cloturee." in text.decode("ascii")
    assert _messages(rt, patient) == []


def test_size_beyond_the_limit_is_552(rt: Runtime, doctor: Mailbox) -> None:
    small = with_settings(rt, smtp_max_message_bytes=10_000)
    patient = add_patient(rt)
    with running_smtp(small) as door, _client(door) as client:
        client.ehlo()
        assert client.esmtp_features["size"] == "10000"
        code, _ = client.mail(doctor.address, ["SIZE=20000"])
        assert code == 552
        client.rset()
        client.mail(doctor.address)
        client.rcpt(address_of(rt, patient))
        code, _ = client.data(b"Subject: gros\r\n\r\n" + (b"x" * 900 + b"\r\n") * 30)
        assert code == 552
        client.rset()
        assert client.noop()[0] == 250
    assert _messages(rt, patient) == []


def test_starttls_with_the_embedded_self_signed_certificate(
    rt: Runtime, door: SmtpServer, doctor: Mailbox
) -> None:
    patient = add_patient(rt)

    async def send() -> None:
        await aiosmtplib.send(
            mail(doctor.address, address_of(rt, patient)),
            hostname="127.0.0.1",
            port=door.port,
            start_tls=True,
            tls_context=client_tls(),
        )

    asyncio.run(send())
    assert len(_messages(rt, patient)) == 1
    assert (rt.settings.data_dir / "smtp" / "tls-cert.pem").is_file()


def test_msg_2_a_client_certificate_of_the_trust_space_when_configured(
    rt: Runtime, doctor: Mailbox, tmp_path: Path
) -> None:
    trust = authority(tmp_path / "ca")
    strict = with_settings(rt, smtp_client_ca_file=trust.cert_file)
    patient = add_patient(rt)
    good = trust.client(tmp_path / "good")
    stranger = authority(tmp_path / "other", "Autre autorité").client(tmp_path / "bad")
    with running_smtp(strict) as door:
        with _client(door) as plain:
            plain.ehlo()
            code, text = plain.mail(doctor.address)
            assert code == 550
            assert "certificat client" in text.decode()
        with _client(door) as no_certificate:
            no_certificate.starttls(context=client_tls())
            no_certificate.ehlo()
            assert no_certificate.mail(doctor.address)[0] == 550
        with _client(door) as certified:
            certified.starttls(context=client_tls(good))
            assert certified.send_message(mail(doctor.address, address_of(rt, patient))) == {}
        forged = _client(door)
        with pytest.raises((smtplib.SMTPException, OSError)):
            _starttls_and_send(forged, client_tls(stranger), doctor.address)
        forged.close()
    assert len(_messages(rt, patient)) == 1


def _starttls_and_send(client: smtplib.SMTP, context: ssl.SSLContext, sender: str) -> None:
    client.starttls(context=context)
    client.ehlo()
    client.mail(sender)


def test_8bitmime_and_smtputf8(rt: Runtime, door: SmtpServer, doctor: Mailbox) -> None:
    patient = add_patient(rt)
    raw = (
        f"From: {doctor.address}\r\nTo: {address_of(rt, patient)}\r\n"
        "Subject: Vos résultats d'échographie\r\nMessage-ID: <utf8@x>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Échographie normale, à bientôt.\r\n"
    ).encode()
    with _client(door) as client:
        client.ehlo()
        client.sendmail(
            doctor.address, [address_of(rt, patient)], raw, ["SMTPUTF8", "BODY=8BITMIME"]
        )
    [stored] = _messages(rt, patient)
    opened = messaging.read_message(rt, patient_ctx(patient), patient.id, stored.id)
    assert (opened.subject, opened.body) == (
        "Vos résultats d'échographie",
        "Échographie normale, à bientôt.",
    )


def test_msg_3_fin_and_the_header_over_smtp(rt: Runtime, door: SmtpServer, doctor: Mailbox) -> None:
    patient = add_patient(rt)
    to = address_of(rt, patient)

    async def conversation() -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=door.port, start_tls=False) as client:
            await client.send_message(mail(doctor.address, to, message_id="<one@x>"))
            await client.send_message(
                mail(doctor.address, to, "[FIN]", headers={"In-Reply-To": "<one@x>"})
            )
            await client.send_message(mail(doctor.address, to, message_id="<two@x>"))
            await client.send_message(
                mail(
                    doctor.address,
                    to,
                    "Au revoir",
                    headers={"References": "<two@x>", "X-MSS-MES": "FIN"},
                )
            )

    asyncio.run(conversation())
    mailbox = messaging.list_conversations(rt, patient_ctx(patient), patient.id)
    assert [c.state for c in mailbox.conversations] == ["closed", "closed"]


def test_msg_5_a_profile_not_yet_activated_receives(
    rt: Runtime, door: SmtpServer, doctor: Mailbox
) -> None:
    patient = add_patient(rt, state=ProfileState.CREATED)
    with _client(door) as client:
        assert client.send_message(mail(doctor.address, address_of(rt, patient))) == {}
    assert len(_messages(rt, patient)) == 1


def test_msg_2_msg_6_end_to_end_answer_and_receipt_through_the_relay(
    rt: Runtime, doctor: Mailbox
) -> None:
    patient = add_patient(rt)
    to = address_of(rt, patient)
    with relay_sink() as (sink, relay):
        live = with_settings(rt, **relay)
        with running_smtp(live) as door, _client(door) as client:
            client.send_message(
                mail(
                    doctor.address,
                    to,
                    message_id="<ask@medecin>",
                    headers={"Disposition-Notification-To": doctor.address},
                )
            )
            [conversation] = messaging.list_conversations(
                live, patient_ctx(patient), patient.id
            ).conversations
            [heading] = messaging.read_conversation(
                live, patient_ctx(patient), patient.id, conversation.id
            ).messages
            messaging.read_message(live, patient_ctx(patient), patient.id, heading.id)
            messaging.reply(live, patient_ctx(patient), patient.id, conversation.id, "Merci")
            assert deliver_due(live).sent == 2
            kinds = {r[2].get_content_type(): r for r in sink.received}
            assert set(kinds) == {"multipart/report", "text/plain"}
            answer = kinds["text/plain"]
            assert answer[2]["In-Reply-To"] == "<ask@medecin>"
            # The pro answers the answer: it joins the same conversation.
            client.send_message(
                mail(
                    doctor.address, to, "Re: Re:", headers={"In-Reply-To": answer[2]["Message-ID"]}
                )
            )
    mailbox = messaging.list_conversations(rt, patient_ctx(patient), patient.id)
    assert len(mailbox.conversations) == 1


def test_tls_can_be_required_before_mail(rt: Runtime, doctor: Mailbox) -> None:
    patient = add_patient(rt)
    with running_smtp(with_settings(rt, smtp_require_tls=True)) as door, _client(door) as client:
        client.ehlo()
        assert client.mail(doctor.address)[0] == 530
        client.starttls(context=client_tls())
        client.ehlo()
        assert client.mail(doctor.address)[0] == 250
        assert client.rcpt(address_of(rt, patient))[0] == 250
        assert client.data(b"Subject: chiffre\r\n\r\nsous TLS\r\n")[0] == 250
    assert len(_messages(rt, patient)) == 1
