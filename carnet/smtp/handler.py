"""SMTP commands to messaging use cases, and refusals to SMTP replies. No rule lives here.

Each check runs the synchronous use case in a thread (``asyncio.to_thread``) — unless messaging
has its answer at hand (``known_sender``, ``known_recipient``: no I/O); ``250`` after DATA
is sent only once ``receive_message`` returned, that is once the message is durable. Replies
carry the French text then the English one, on two lines of one multi-line reply (RFC 5321
§4.2.1), with enhanced status codes (RFC 3463).
"""

from __future__ import annotations

import asyncio
import re

from aiosmtpd.smtp import SMTP, Envelope, Session

from carnet.errors import Refusal
from carnet.logs import get_logger
from carnet.messaging import service as messaging
from carnet.messaging.inbound import InboundMail
from carnet.messaging.refusals import MessageRefused, SenderRefused, Undeliverable
from carnet.messaging.rules import RecipientProblem
from carnet.runtime import Runtime

log = get_logger(__name__)
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")

TEMPORARY = (
    "451-4.3.0 Erreur temporaire du serveur, réessayez plus tard.\r\n"
    "451 4.3.0 Temporary server error, please try again later."
)


def reply(code: int, enhanced: str, fr: str, en: str) -> str:
    fr, en = _UNPRINTABLE.sub(" ", fr), _UNPRINTABLE.sub(" ", en)
    return f"{code}-{enhanced} {fr}\r\n{code} {enhanced} {en}"


def refusal_reply(refusal: Refusal) -> str:
    if isinstance(refusal, Undeliverable):
        if refusal.problem is RecipientProblem.NOT_HERE:
            return reply(550, "5.7.1", refusal.fr, refusal.en)
        return reply(550, "5.1.1", refusal.fr, refusal.en)
    if isinstance(refusal, SenderRefused):
        return reply(550, "5.7.1", refusal.fr, refusal.en)
    if isinstance(refusal, MessageRefused):
        return reply(554, "5.6.0", refusal.fr, refusal.en)
    log.warning("smtp_refusal", code=refusal.code)
    return TEMPORARY


def _client_certificate_verified(session: Session) -> bool:
    """The TLS layer verified a client certificate against the configured CA (CERT_OPTIONAL:
    a certificate that does not verify fails the handshake; none gives no ``peercert``)."""
    return bool(session.ssl and session.ssl.get("peercert"))


class MssanteHandler:
    """aiosmtpd hooks (https://aiosmtpd.aio-libs.org/en/latest/handlers.html)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        verified = _client_certificate_verified(session)
        try:
            if (
                messaging.known_sender(self.rt, address, client_certificate_verified=verified)
                is None
            ):
                await asyncio.to_thread(
                    messaging.sender_status,
                    self.rt,
                    address,
                    client_certificate_verified=verified,
                )
        except Refusal as refusal:
            return refusal_reply(refusal)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(  # noqa: N802
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in envelope.rcpt_tos:
            return "250 2.1.5 OK"
        if len(envelope.rcpt_tos) >= self.rt.settings.smtp_max_recipients:
            return reply(
                452,
                "4.5.3",
                "Trop de destinataires pour ce message.",
                "Too many recipients for this message.",
            )
        try:
            if messaging.known_recipient(self.rt, address) is None:
                await asyncio.to_thread(messaging.recipient_status, self.rt, address)
        except Refusal as refusal:
            return refusal_reply(refusal)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        mail = InboundMail(
            sender=envelope.mail_from or "",
            recipients=tuple(envelope.rcpt_tos),
            raw=envelope.original_content or b"",
        )
        try:
            await asyncio.to_thread(messaging.receive_message, self.rt, mail)
        except Refusal as refusal:
            return refusal_reply(refusal)
        return "250 2.0.0 Message stored"

    async def handle_exception(self, error: Exception) -> str:
        log.error("smtp_session_error", error=type(error).__name__)
        return TEMPORARY
