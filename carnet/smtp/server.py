"""Starting and stopping the SMTP door, inside ``carnet serve``'s event loop or a thread of its own.

ESMTP with SIZE, 8BITMIME, SMTPUTF8 and STARTTLS (aiosmtpd). Limits per connection: line length,
message size, recipients (in the handler), an idle timeout that also bounds DATA, and a cap on
the connection's whole life. DATA ends only at ``<CRLF>.<CRLF>`` (aiosmtpd ≥ 1.4.5 reads lines up
to CRLF), so a bare ``\\n.\\n`` inside a message never starts a second one (SMTP smuggling,
https://sec-consult.com/blog/detail/smtp-smuggling-spoofing-e-mails-worldwide/).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.smtp import SMTP

from carnet.runtime import Runtime
from carnet.settings import Settings
from carnet.smtp.handler import NULL_PATH, MssanteHandler
from carnet.smtp.replies import ascii_text, with_enhanced_codes
from carnet.smtp.tls import server_context

IDENT = "Carnet MSSante ESMTP"  # ASCII: the greeting goes to every client
WORKER_THREADS = 32

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
#: ``<dot-atom@domain>`` and its parameters, as nearly every MAIL FROM and RCPT TO is written.
_PLAIN_PATH = re.compile(
    rf"[ \t]*<({_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*)>(?:[ \t]+([^ \t(][^(]*?))?[ \t]*"
)

#: The null reverse-path (RFC 5321 §4.5.5): bounces and read receipts come with it.
_NULL_PATH = re.compile(r"[ \t]*<>(?:[ \t]+([^ \t(][^(]*?))?[ \t]*")


class CarnetSMTP(SMTP):
    """aiosmtpd's protocol with the per-connection limits of the settings."""

    local_part_limit = 64  # RFC 5321 §4.5.3.1.1

    def __init__(
        self,
        handler: MssanteHandler,
        settings: Settings,
        hostname: str,
        tls_context: ssl.SSLContext | None,
        loop: asyncio.AbstractEventLoop,
        connections: set[CarnetSMTP],
    ) -> None:
        self.line_length_limit = settings.smtp_max_line_bytes
        super().__init__(
            handler,
            data_size_limit=settings.smtp_max_message_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=hostname,
            ident=IDENT,
            tls_context=tls_context,
            require_starttls=settings.smtp_require_tls,
            timeout=settings.smtp_timeout_seconds,
            loop=loop,
        )
        self._in_ehlo = False
        self._data_utf8 = False
        self._life_seconds = settings.smtp_session_max_seconds
        self._life: asyncio.TimerHandle | None = None
        self._connections = connections

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd parses a path with the e-mail package's header parser (a third of the CPU
        of a received message); the plain form is matched directly, anything else (quoted
        local parts, address literals, comments, UTF-8) goes to aiosmtpd's parser as before."""
        null = _NULL_PATH.fullmatch(arg)
        if null is not None:  # MAIL FROM:<>, for reports (the handler refuses it at RCPT TO)
            return NULL_PATH, null.group(1) or ""
        plain = _PLAIN_PATH.fullmatch(arg)
        if plain is None:
            return super()._getaddr(arg)
        address = plain.group(1)
        if len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, plain.group(2) or ""

    async def smtp_EHLO(self, hostname: str) -> None:  # noqa: N802 - aiosmtpd's name
        self._in_ehlo = True
        try:
            await super().smtp_EHLO(hostname)
        finally:
            self._in_ehlo = False

    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 - aiosmtpd's name
        """aiosmtpd resets the envelope before it sends DATA's reply: the transaction's
        SMTPUTF8 is kept for that reply."""
        self._data_utf8 = bool(self.envelope and self.envelope.smtp_utf8)
        try:
            await super().smtp_DATA(arg)
        finally:
            self._data_utf8 = False

    async def push(self, status: Any) -> None:
        """Every reply after EHLO with an enhanced status code (ENHANCEDSTATUSCODES, RFC 2034
        §4), aiosmtpd's own included; the EHLO reply itself and 3xx go as they are. In ASCII
        unless the transaction negotiated SMTPUTF8 (RFC 6531)."""
        extended = self.session is not None and self.session.extended_smtp
        if isinstance(status, str) and extended and not self._in_ehlo:
            status = with_enhanced_codes(status)
        utf8 = self._data_utf8 or bool(self.envelope and self.envelope.smtp_utf8)
        if isinstance(status, str) and not utf8:
            status = ascii_text(status)  # aiosmtpd echoes commands: UTF-8 only if negotiated
        await super().push(status)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self._life is None
        super().connection_made(transport)
        if first:  # STARTTLS calls this again on the same connection
            self._connections.add(self)
            self._life = self.loop.call_later(self._life_seconds, self.close)

    def connection_lost(self, error: Exception | None) -> None:
        if self._life is not None:
            self._life.cancel()
        self._connections.discard(self)
        super().connection_lost(error)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _quiet_library_logs() -> None:
    """aiosmtpd logs every command at INFO, recipients' addresses (INS) included: personal data
    stays out of the logs (carnet.logs), so only its warnings and errors pass."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)


class SmtpServer:
    """A listening SMTP door; ``stop`` closes the socket and the open connections."""

    def __init__(self, server: asyncio.Server, connections: set[CarnetSMTP]) -> None:
        self.server = server
        self.connections = connections

    @property
    def port(self) -> int:
        sockets = self.server.sockets
        port: int = sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        self.server.close()
        for connection in list(self.connections):
            connection.close()
        await self.server.wait_closed()


async def start_smtp(rt: Runtime, host: str, port: int) -> SmtpServer:
    _quiet_library_logs()
    settings = rt.settings
    hostname = settings.smtp_hostname or settings.patient_mail_domain
    loop = asyncio.get_running_loop()
    # Each session waits in a thread for its checks and for the disk: enough threads that
    # concurrent messages overlap their fsyncs and share a commit (messaging.filing).
    loop.set_default_executor(ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="carnet"))
    context = await asyncio.to_thread(server_context, settings, hostname)
    handler = MssanteHandler(rt)
    connections: set[CarnetSMTP] = set()
    server = await loop.create_server(
        lambda: CarnetSMTP(handler, settings, hostname, context, loop, connections),
        host=host,
        port=port,
    )
    return SmtpServer(server, connections)


@contextlib.contextmanager
def smtp_in_thread(rt: Runtime, host: str = "127.0.0.1", port: int = 0) -> Iterator[SmtpServer]:
    """The door in a thread with its own event loop (tests, benchmarks): yields once listening."""
    loop = asyncio.new_event_loop()
    started: dict[str, Any] = {}
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            started["server"] = loop.run_until_complete(start_smtp(rt, host, port))
        except BaseException as error:
            started["error"] = error
            ready.set()
            return
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="carnet-smtp", daemon=True)
    thread.start()
    ready.wait(30)
    if "error" in started:
        raise started["error"]
    server: SmtpServer = started["server"]
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
