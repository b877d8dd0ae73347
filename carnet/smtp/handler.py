"""SMTP commands to messaging use cases, and refusals to SMTP replies. No rule lives here.

Each check runs the synchronous use case in a thread (``asyncio.to_thread``) — unless messaging
has its answer at hand (``known_sender``, ``known_recipient``: no I/O); ``250`` after DATA
is sent only once ``receive_message`` returned, that is once the message is durable. Replies
carry the French text then the English one, on two lines of one multi-line reply (RFC 5321
§4.2.1), with enhanced status codes (RFC 3463), in ASCII unless the client negotiated SMTPUTF8
(``smtp.replies``). Every refusal is counted (``/metrics``) and logged without an address.
"""

from __future__ import annotations

import asyncio

from aiosmtpd.smtp import SMTP, Envelope, Session

from carnet.errors import Refusal
from carnet.logs import get_logger
from carnet.messaging import service as messaging
from carnet.messaging.inbound import InboundMail
from carnet.messaging.refusals import MessageRefused, SenderRefused, Undeliverable
from carnet.messaging.rules import RecipientProblem
from carnet.relay.rules import domain_of
from carnet.runtime import Runtime
from carnet.smtp.replies import BARE_NEWLINE_TEXTS, has_bare_newline, reply, temporary

log = get_logger(__name__)

NULL_PATH = "<>"
"""``MAIL FROM:<>`` as the envelope keeps it (aiosmtpd wants a non-empty sender)."""

#: RFC 3463 for each reason a patient address receives nothing (MSG-4): a malformed INS is a bad
#: address syntax, a closed profile a disabled mailbox, an unknown or opposed one an unknown
#: mailbox; an address of another domain is no delivery we are authorised to make.
_UNDELIVERABLE_CODES = {
    RecipientProblem.INVALID: "5.1.3",
    RecipientProblem.CLOSED: "5.2.1",
    RecipientProblem.ABSENT: "5.1.1",
    RecipientProblem.NOT_HERE: "5.7.1",
}


def refusal_reply(refusal: Refusal, *, utf8: bool = False) -> tuple[str, str]:
    """The reply to a refusal of the use cases, and the reason it is counted under."""
    if isinstance(refusal, Undeliverable):
        enhanced = _UNDELIVERABLE_CODES[refusal.problem]
        return reply(550, enhanced, refusal.fr, refusal.en, utf8=utf8), refusal.problem.value
    if isinstance(refusal, SenderRefused):
        return reply(550, "5.7.1", refusal.fr, refusal.en, utf8=utf8), "sender"
    if isinstance(refusal, MessageRefused):
        return reply(554, "5.6.0", refusal.fr, refusal.en, utf8=utf8), "message"
    log.warning("smtp_refusal", code=refusal.code)
    return temporary(utf8=utf8), "temporary"


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
            if address == NULL_PATH:  # a report: judged at DATA on what it reports on
                messaging.null_sender_status(self.rt, client_certificate_verified=verified)
            elif (
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
            answer, reason = refusal_reply(refusal, utf8=envelope.smtp_utf8)
            return self._refused("mail", reason, answer, sender=address)
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
            answer = reply(
                452,
                "4.5.3",
                "Trop de destinataires pour ce message.",
                "Too many recipients for this message.",
                utf8=envelope.smtp_utf8,
            )
            return self._refused("rcpt", "too_many_recipients", answer, envelope.mail_from)
        try:
            if messaging.known_recipient(self.rt, address) is None:
                await asyncio.to_thread(messaging.recipient_status, self.rt, address)
        except Refusal as refusal:
            answer, reason = refusal_reply(refusal, utf8=envelope.smtp_utf8)
            return self._refused("rcpt", reason, answer, envelope.mail_from, rcpt=address)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_EHLO(  # noqa: N802
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        """What aiosmtpd offers, plus what it does without saying: PIPELINING (RFC 2920: it
        reads commands as they come) and ENHANCEDSTATUSCODES (RFC 2034: every reply carries
        one, ``server.CarnetSMTP.push``)."""
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", "250-ENHANCEDSTATUSCODES", responses[-1]]

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if has_bare_newline(envelope.original_content or b""):
            answer = reply(550, "5.5.2", *BARE_NEWLINE_TEXTS, utf8=envelope.smtp_utf8)
            return self._refused(
                "data",
                "bare_newline",
                answer,
                envelope.mail_from,
                recipients=len(envelope.rcpt_tos),
            )
        sender = envelope.mail_from or ""
        mail = InboundMail(
            sender="" if sender == NULL_PATH else sender,
            recipients=tuple(envelope.rcpt_tos),
            raw=envelope.original_content or b"",
        )
        try:
            await asyncio.to_thread(messaging.receive_message, self.rt, mail)
        except Refusal as refusal:
            answer, reason = refusal_reply(refusal, utf8=envelope.smtp_utf8)
            return self._refused(
                "data", reason, answer, envelope.mail_from, recipients=len(envelope.rcpt_tos)
            )
        self.rt.metrics.count("carnet_smtp_messages_accepted_total")
        return "250 2.0.0 Message stored"

    async def handle_exception(self, error: Exception) -> str:
        """aiosmtpd gives no session here: the reply is ASCII, whoever the client is."""
        log.error("smtp_session_error", error=type(error).__name__)
        self.rt.metrics.count("carnet_smtp_refused_total", stage="session", reason="error")
        return temporary()

    def _refused(
        self,
        stage: str,
        reason: str,
        answer: str,
        sender: str | None,
        *,
        rcpt: str | None = None,
        recipients: int | None = None,
    ) -> str:
        """Counted and logged, with no address in clear: the sender's domain, and keyed hashes
        (``Runtime.pseudonym``) that let an operator follow one mailbox through the log."""
        self.rt.metrics.count("carnet_smtp_refused_total", stage=stage, reason=reason)
        last = answer.rpartition("\r\n")[2]
        log.info(
            "smtp_refused",
            stage=stage,
            reason=reason,
            reply_code=int(last[:3]),
            enhanced_code=last[4:].partition(" ")[0],
            sender_domain=domain_of(sender) if sender else None,
            sender=self.rt.pseudonym(sender) if sender else None,
            rcpt=self.rt.pseudonym(rcpt) if rcpt else None,
            recipients=recipients,
        )
        return answer
