"""The SMTP client to the relay (``CARNET_SMTP_RELAY``): encrypted, named, and clear about failures.

One connection per message, from a worker thread (smtplib): EHLO with Carnet's own name, then
STARTTLS whenever the relay offers it — and when the mode is ``required``, nothing at all unless it
does, with the relay's certificate verified (system store or ``CARNET_SMTP_RELAY_CA_FILE``) —
or TLS from the first byte (``implicit``, port 465, RFC 8314); AUTH only over an encrypted
connection; then ``MAIL``, ``RCPT`` and ``DATA``. Whatever stops an attempt comes back as a
``RelayError`` that says whether trying again could help (``carnet.relay.rules.is_permanent``).
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from carnet.relay.rules import Stage, TlsMode, is_8bit, is_permanent, reason, tls_mode
from carnet.relay.rules import verifies_certificate as _verifies
from carnet.settings import Settings

TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class RelayConfig:
    """Where and how to reach the relay, read once from the settings."""

    host: str
    port: int
    tls: TlsMode
    helo_name: str
    ca_file: Path | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = TIMEOUT_SECONDS

    @classmethod
    def from_settings(cls, settings: Settings) -> RelayConfig | None:
        """``None`` when no relay is configured."""
        if not settings.smtp_relay:
            return None
        host, _, port = settings.smtp_relay.rpartition(":")
        if not port.isdigit():  # no port given: SMTP's own (an IPv6 literal is written [::1]:25)
            host, port = settings.smtp_relay, "25"
        number = int(port)
        return cls(
            host=host.strip("[]") or "127.0.0.1",
            port=number,
            tls=tls_mode(settings.smtp_relay_tls, number, settings.demo),
            helo_name=settings.resolved_smtp_hostname,
            ca_file=settings.smtp_relay_ca_file,
            username=settings.smtp_relay_username,
            password=(
                settings.smtp_relay_password.get_secret_value()
                if settings.smtp_relay_password
                else None
            ),
        )

    def tls_context(self) -> ssl.SSLContext:
        """TLS 1.2 at least; the certificate checked against the CA file or the system's
        store, host name included — unless the mode is opportunistic with no CA given."""
        context = ssl.create_default_context(cafile=self.ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if not _verifies(self.tls, self.ca_file is not None):
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


@dataclass(frozen=True)
class Handover:
    """The relay took the message; over which TLS version (``None``: in clear, opportunistic
    mode facing a relay without STARTTLS)."""

    tls_version: str | None


class RelayError(smtplib.SMTPException):
    """An attempt that did not hand the message over. ``permanent``: the relay refused the
    transaction with a 5xx (never retried); otherwise it may work later."""

    def __init__(self, stage: Stage, code: int | None, text: str) -> None:
        self.stage = stage
        self.code = code
        self.text = " ".join(text.split())
        self.permanent = is_permanent(stage, code)
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        return reason(self.code, self.text)


def send(config: RelayConfig, mail_from: str, recipients: Sequence[str], data: bytes) -> Handover:
    """Hand ``data`` to the relay for ``recipients``; ``mail_from`` ``""`` is the null
    reverse-path. Raises ``RelayError``."""
    smtp = _connect(config)
    try:
        tls_version = _secure(smtp, config)
        _transfer(smtp, mail_from, recipients, data)
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            smtp.quit()
        smtp.close()
    return Handover(tls_version)


def _connect(config: RelayConfig) -> smtplib.SMTP:
    try:
        if config.tls is TlsMode.IMPLICIT:
            return smtplib.SMTP_SSL(
                config.host,
                config.port,
                local_hostname=config.helo_name,
                timeout=config.timeout,
                context=config.tls_context(),
            )
        return smtplib.SMTP(
            config.host, config.port, local_hostname=config.helo_name, timeout=config.timeout
        )
    except ssl.SSLError as error:
        raise _tls_failure(error) from None
    except (OSError, smtplib.SMTPException) as error:
        raise _failure(Stage.CONNECT, error) from None


def _secure(smtp: smtplib.SMTP, config: RelayConfig) -> str | None:
    """EHLO, STARTTLS (and EHLO again), AUTH: the TLS version in use, ``None`` in clear."""
    stage = Stage.CONNECT
    try:
        smtp.ehlo_or_helo_if_needed()
        if config.tls is not TlsMode.IMPLICIT:
            stage = Stage.TLS
            if smtp.has_extn("starttls"):
                smtp.starttls(context=config.tls_context())
                smtp.ehlo()
            elif config.tls is TlsMode.REQUIRED:
                raise RelayError(
                    Stage.TLS, None, "the relay offers no STARTTLS (CARNET_SMTP_RELAY_TLS=required)"
                )
        version = smtp.sock.version() if isinstance(smtp.sock, ssl.SSLSocket) else None
        if config.username:
            stage = Stage.AUTH
            if version is None:
                raise RelayError(Stage.AUTH, None, "no log-in over an unencrypted connection")
            smtp.login(config.username, config.password or "")
        return version
    except ssl.SSLError as error:
        raise _tls_failure(error) from None
    except (OSError, smtplib.SMTPException) as error:
        raise _failure(stage, error) from None


def _transfer(smtp: smtplib.SMTP, mail_from: str, recipients: Sequence[str], data: bytes) -> None:
    options = []
    if smtp.has_extn("size"):
        options.append(f"SIZE={len(data)}")
    if is_8bit(data) and smtp.has_extn("8bitmime"):
        options.append("BODY=8BITMIME")
    stage = Stage.MAIL
    try:
        code, text = smtp.mail(mail_from, options)
        if code != 250:
            raise RelayError(stage, code, _text(text))
        stage = Stage.RCPT
        for recipient in recipients:
            code, text = smtp.rcpt(recipient)
            if code not in (250, 251):
                raise RelayError(stage, code, _text(text))
        stage = Stage.DATA
        code, text = smtp.data(data)
        if code != 250:
            raise RelayError(stage, code, _text(text))
    except (OSError, smtplib.SMTPException) as error:
        raise _failure(stage, error) from None


def _failure(stage: Stage, error: BaseException) -> RelayError:
    if isinstance(error, RelayError):
        return error
    if isinstance(error, smtplib.SMTPResponseException):
        return RelayError(stage, error.smtp_code, _text(error.smtp_error))
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return RelayError(stage, None, "connection closed by the relay")
    if isinstance(error, OSError):
        return RelayError(stage, None, f"{type(error).__name__}: {error.strerror or error}")
    return RelayError(stage, None, f"{type(error).__name__}: {error}")


def _tls_failure(error: ssl.SSLError) -> RelayError:
    if isinstance(error, ssl.SSLCertVerificationError):
        return RelayError(
            Stage.TLS, None, f"the relay's certificate is not trusted: {error.verify_message}"
        )
    return RelayError(Stage.TLS, None, f"TLS: {error.reason or error}")


def _text(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else text
