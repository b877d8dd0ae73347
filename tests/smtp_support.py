"""What the messaging and SMTP tests share: directory rows, mail to send, a relay that keeps what
it receives, the SMTP door running on a real socket over a test's runtime.

Not a conftest: each test module imports what it uses (``from smtp_support import …``).
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import ipaddress
import itertools
import socket
import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from support import free_port

from carnet import clock
from carnet.identity.models import Establishment, Mailbox, Pro
from carnet.ids import new_id
from carnet.messaging.inbound import InboundMail, receive_message
from carnet.messaging.rules import patient_address
from carnet.population.models import Patient
from carnet.runtime import Runtime
from carnet.smtp.server import SmtpServer, smtp_in_thread

_serial = itertools.count(1)


def address_of(rt: Runtime, patient: Patient) -> str:
    return patient_address(patient.ins, rt.settings.patient_mail_domain)


def with_settings(rt: Runtime, **changes: Any) -> Runtime:
    """The same instance with other settings (same database, blobs and keys)."""
    return dataclasses.replace(rt, settings=rt.settings.model_copy(update=changes))


def add_establishment(
    rt: Runtime, *, kind: str = "pharmacy", name: str = "Pharmacie du Marché", city: str = "Lyon"
) -> Establishment:
    n = next(_serial)
    row = Establishment(
        id=new_id(),
        finess=f"{690000000 + n:09d}",
        name=name,
        kind=kind,
        city=city,
        postal_code="69003",
        updated_at=clock.now(),
    )
    with rt.transaction() as session:
        session.add(row)
    return row


def add_mailbox(
    rt: Runtime,
    *,
    kind: str = "PER",
    pro: Pro | None = None,
    establishment: Establishment | None = None,
    hosted_here: bool = False,
    address: str | None = None,
    name: str | None = None,
) -> Mailbox:
    n = next(_serial)
    row = Mailbox(
        address=address or f"boite{n}@exemple.mssante.fr",
        kind=kind,
        display_name=name
        or (f"Dr {pro.first_name} {pro.last_name}" if pro else None)
        or (establishment.name if establishment else f"Boîte {n}"),
        owner_rpps=pro.rpps if pro else None,
        establishment_id=establishment.id if establishment else None,
        hosted_here=hosted_here,
        updated_at=clock.now(),
    )
    with rt.transaction() as session:
        session.add(row)
    return row


def mail(
    sender: str,
    to: str | list[str],
    subject: str = "Résultats de votre bilan",
    body: str = "Bonjour, vos résultats sont normaux.",
    *,
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
) -> EmailMessage:
    """A message as a pro's MSSanté software would send it."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to) if isinstance(to, list) else to
    message["Subject"] = subject
    message["Message-ID"] = message_id or f"<{new_id()}@exemple.mssante.fr>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for filename, mime_type, content in attachments:
        maintype, _, subtype = mime_type.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message


def nested(depth: int) -> bytes:
    """A message whose text lies ``depth`` multipart levels down."""
    head = b"From: a@b.fr\r\nSubject: profond\r\nMIME-Version: 1.0\r\n"
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (n, n)
        for n in range(depth)
    )
    closing = b"".join(b"\r\n--b%d--\r\n" % n for n in reversed(range(depth)))
    return head + opening + b"Content-Type: text/plain\r\n\r\nau fond" + closing


def deliver(rt: Runtime, message: EmailMessage, sender: str, *recipients: str) -> str:
    """Receive a message as the SMTP door would after DATA; the id of the first copy."""
    delivered = receive_message(
        rt, InboundMail(sender, list(recipients), message.as_bytes(policy=email.policy.SMTP))
    )
    return delivered[0].message_id


class Raw:
    """An SMTP client at the byte level: what it sends is exactly what the server reads."""

    def __init__(self, port: int) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""
        #: Every byte the server sent, in order.
        self.transcript = b""
        assert self.reply().startswith(b"220")

    def send(self, data: bytes) -> None:
        self.socket.sendall(data)

    def reply(self) -> bytes:
        """One whole reply (its last line has a space after the code)."""
        lines = []
        while True:
            while b"\r\n" not in self.buffer:
                chunk = self.socket.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                self.buffer += chunk
                self.transcript += chunk
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            lines.append(line)
            if len(line) < 4 or line[3:4] == b" ":
                return b"\n".join(lines)

    def command(self, line: bytes) -> bytes:
        self.send(line + b"\r\n")
        return self.reply()

    def close(self) -> None:
        self.socket.close()


@dataclasses.dataclass(frozen=True)
class Seen:
    """What a relay saw of one DATA: the name in EHLO, the TLS version (``None``: in clear),
    the envelope."""

    helo: str | None
    tls: str | None
    mail_from: str
    rcpt_tos: tuple[str, ...]


class Sink:
    """A real SMTP server on 127.0.0.1 keeping what it receives (the relay, the pros' servers)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], EmailMessage]] = []
        self.seen: list[Seen] = []
        self.refuse_with: str | None = None
        self.refuse_rcpt_with: str | None = None

    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refuse_rcpt_with:
            return self.refuse_rcpt_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        ssl_object = server.transport.get_extra_info("ssl_object") if server.transport else None
        self.seen.append(
            Seen(
                session.host_name,
                ssl_object.version() if ssl_object else None,
                envelope.mail_from or "",
                tuple(envelope.rcpt_tos),
            )
        )
        if self.refuse_with:
            return self.refuse_with
        parsed = email.message_from_bytes(
            envelope.original_content or b"", policy=email.policy.default
        )
        assert isinstance(parsed, EmailMessage)
        self.received.append((envelope.mail_from or "", list(envelope.rcpt_tos), parsed))
        return "250 OK"


@contextmanager
def relay_sink(
    *,
    starttls: bool = True,
    implicit: bool = False,
    trusted: bool = True,
    cert_host: str = "127.0.0.1",
    authenticator: Any = None,
) -> Iterator[tuple[Sink, dict[str, Any]]]:
    """A relay on a free port, and the settings that point Carnet at it (``with_settings(rt,
    **relay)``). By default it offers STARTTLS and requires it before MAIL, with a certificate
    of a test authority for 127.0.0.1 that the settings trust (``trusted=False``: they trust
    another one; ``cert_host``: the certificate names another host); ``starttls=False``: a relay
    in clear; ``implicit``: TLS from the first byte."""
    handler = Sink()
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        ca = authority(Path(folder) / "ca", "Autorité du relais de test")
        cert, key = ca.server(Path(folder) / "relay", cert_host)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        options: dict[str, Any] = {}
        if implicit:
            options["ssl_context"] = context
        elif starttls:
            options.update(tls_context=context, require_starttls=True)
        if authenticator is not None:
            options.update(authenticator=authenticator, auth_require_tls=True, auth_required=True)
        controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
        controller.start()
        trust = ca.cert_file if trusted else authority(Path(folder) / "other").cert_file
        settings: dict[str, Any] = {"smtp_relay": f"127.0.0.1:{port}", "smtp_relay_ca_file": trust}
        if implicit:
            settings["smtp_relay_tls"] = "implicit"
        try:
            yield handler, settings
        finally:
            controller.stop()


@contextmanager
def running_smtp(rt: Runtime) -> Iterator[SmtpServer]:
    """The SMTP door on a free port of 127.0.0.1, over this test's runtime."""
    with smtp_in_thread(rt) as server:
        yield server


@dataclasses.dataclass(frozen=True)
class Authority:
    """A certificate authority of a test trust space, and how to have it sign a client."""

    cert_file: Path
    key: ec.EllipticCurvePrivateKey
    name: x509.Name

    def server(self, folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
        """``(certificate, key)`` of a server at ``host`` (an IP address) that this authority
        signed, ``localhost`` too."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = clock.now()
        names = [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        return self._write(folder, host, certificate, key)

    def _write(
        self,
        folder: Path,
        name: str,
        certificate: x509.Certificate,
        key: ec.EllipticCurvePrivateKey,
    ) -> tuple[Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        cert_file, key_file = folder / f"{name}.pem", folder / f"{name}.key"
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cert_file, key_file

    def client(self, folder: Path, common_name: str = "mss.exemple.fr") -> tuple[Path, Path]:
        """``(certificate, key)`` files of a client certificate this authority signed."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = clock.now()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .sign(self.key, hashes.SHA256())
        )
        return self._write(folder, common_name, certificate, key)


def authority(folder: Path, common_name: str = "Autorité MSSanté de test") -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = clock.now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_file = folder / "ca.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return Authority(cert_file, key, name)


def client_tls(cert: tuple[Path, Path] | None = None) -> ssl.SSLContext:
    """A client's TLS context that accepts the door's self-signed certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if cert is not None:
        context.load_cert_chain(*cert)
    return context
