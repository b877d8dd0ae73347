"""Reading and writing messages with the standard library's ``email`` package. Pure.

Reading (RFC 5322, RFC 2045–2049, RFC 6532): whatever bytes come, the result is a ``ParsedMail``
or an ``Unreadable`` refusal (too deep, too many parts) — never another exception. Text that is
not valid UTF-8 is decoded from its declared charset, else as Windows-1252, never dropped.
Writing: answers with their threading headers, and read receipts (RFC 8098,
https://www.rfc-editor.org/rfc/rfc8098).
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import functools
import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.header import decode_header, make_header
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage, Message
from email.utils import format_datetime, formataddr, getaddresses, parseaddr
from html.parser import HTMLParser
from typing import Any

#: Containers (multipart/*, message/*) a message may declare: deeper nesting is refused before
#: parsing, since the standard parser recurses once per level.
MAX_CONTAINERS = 100
MAX_ATTACHMENTS = 100
MAX_LEAVES = 1000
MAX_SUBJECT = 500
MAX_BODY = 1_000_000
MAX_NAME = 200
_CONTAINER = re.compile(rb"content-type[ \t]*:[ \t\r\n]*(multipart|message)/", re.IGNORECASE)
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FOLD = re.compile(r"\r?\n[ \t]*")


class _RememberingRegistry(HeaderRegistry):
    """``policy.default``'s header classes, each distinct header value parsed once: sending
    servers repeat the same Content-Type, Content-Transfer-Encoding… message after message, and
    parsing them is most of the parser's time. Header objects are immutable; the memory is
    bounded (least recently used values go first)."""

    def __init__(self) -> None:
        super().__init__()
        self._parsed = functools.lru_cache(maxsize=4096)(super().__call__)

    def __call__(self, name: str, value: str) -> BaseHeader:
        parsed: BaseHeader = self._parsed(name, value)
        return parsed


_POLICY = email.policy.default.clone(header_factory=_RememberingRegistry())
_OUT = email.policy.SMTP.clone(cte_type="7bit")


class Unreadable(Exception):
    """The message cannot be taken in as it is: the sender is told why (fr, en)."""

    def __init__(self, fr: str, en: str) -> None:
        super().__init__(en)
        self.fr = fr
        self.en = en


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    mime_type: str
    content: bytes


@dataclass(frozen=True)
class ParsedMail:
    subject: str
    body: str
    author_name: str
    author_address: str
    message_id: str | None
    in_reply_to: str | None
    references: str | None
    mss_mes: tuple[str, ...]
    receipt_to: str | None
    attachments: tuple[ParsedAttachment, ...] = field(default=())


def clean_text(text: str, limit: int | None = None) -> str:
    """Readable, storable text: surrogates (undecodable bytes) replaced, NUL and other control
    characters removed, line ends as ``\\n``."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def _recover(raw: str) -> str:
    """A header as received (8-bit bytes kept as surrogates): UTF-8 (RFC 6532), else cp1252."""
    data = raw.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def decoded_header(raw: str | None, limit: int = MAX_SUBJECT) -> str:
    """Unfolded, RFC 2047 words decoded; on any defect, the text as it came."""
    if raw is None:
        return ""
    text = _FOLD.sub(" ", _recover(raw))
    with contextlib.suppress(Exception):  # hostile encodings: keep the undecoded text
        text = str(make_header(decode_header(text)))
    return clean_text(text, limit).replace("\n", " ").strip()


def _decode_text(data: bytes, charset: str | None) -> str:
    for candidate in (charset, "utf-8"):
        if candidate:
            try:
                return data.decode(candidate)
            except (LookupError, UnicodeDecodeError):
                continue
    return data.decode("cp1252", "replace")


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in ("br", "p", "div", "li", "tr"):
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return re.sub(r"\n\s*\n+", "\n\n", "".join(parser.chunks)).strip()


def _payload(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _filename(part: Message, number: int, mime_type: str) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    name = clean_text(name or "").replace("\n", " ")
    name = re.split(r"[\\/]", name)[-1].strip(" .")[:MAX_NAME]
    if not name:
        name = f"piece-jointe-{number}{mimetypes.guess_extension(mime_type) or '.bin'}"
    return name


def _inner_bytes(part: Message) -> bytes:
    inner = part.get_payload(0) if part.is_multipart() else None
    if not isinstance(inner, Message):
        return _payload(part)
    try:
        return inner.as_bytes(policy=_POLICY)
    except Exception:
        return str(inner.get_payload()).encode("utf-8", "replace")


class _Walk:
    """Iterative, bounded: text of the body, files as attachments."""

    def __init__(self) -> None:
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[ParsedAttachment] = []
        self.leaves = 0

    def run(self, root: Message) -> None:
        stack: list[Message] = [root]
        while stack:
            part = stack.pop()
            mime_type, params = _content_type(part)
            if mime_type == "message/rfc822":
                self._attach(part, mime_type, _inner_bytes(part))
            elif part.is_multipart():
                children = [c for c in part.get_payload() if isinstance(c, Message)]
                if mime_type == "multipart/alternative" and children:
                    children = [_best_alternative(children)]
                stack.extend(reversed(children))
            else:
                self._leaf(part, mime_type, params)

    def _leaf(self, part: Message, mime_type: str, params: dict[str, str]) -> None:
        self.leaves += 1
        if self.leaves > MAX_LEAVES:
            raise Unreadable(
                "Message refusé : il compte trop de parties MIME.",
                "Message refused: it has too many MIME parts.",
            )
        disposition = (part.get_content_disposition() or "inline").lower()
        named = "name" in params or (
            disposition != "inline" and part.get_param("filename", header="content-disposition")
        )
        if disposition != "attachment" and not named and mime_type in ("text/plain", "text/html"):
            text = _decode_text(_payload(part), params.get("charset"))
            (self.plain if mime_type == "text/plain" else self.html).append(text)
            return
        self._attach(part, mime_type, _payload(part))

    def _attach(self, part: Message, mime_type: str, content: bytes) -> None:
        if len(self.attachments) >= MAX_ATTACHMENTS:
            raise Unreadable(
                f"Message refusé : plus de {MAX_ATTACHMENTS} pièces jointes.",
                f"Message refused: more than {MAX_ATTACHMENTS} attachments.",
            )
        number = len(self.attachments) + 1
        self.attachments.append(
            ParsedAttachment(_filename(part, number, mime_type), mime_type, content)
        )


def _content_type(part: Message) -> tuple[str, dict[str, str]]:
    """The part's type and parameters, from one reading of its Content-Type header (each reading
    of a header parses it again under ``policy.default``)."""
    header: Any = part.get("content-type")
    if header is None:
        return part.get_default_type(), {}
    try:
        mime_type = str(header.content_type).lower()
        params = {str(k).lower(): str(v) for k, v in header.params.items()}
    except Exception:  # a header the registry could not make sense of: the plain reading
        return part.get_content_type()[:100], {}
    if mime_type.count("/") != 1:
        mime_type = "text/plain"
    return mime_type[:100], params


def _best_alternative(children: list[Message]) -> Message:
    """The plain text of an alternative when there is one (what the patient's view shows)."""
    for child in children:
        if child.get_content_type() == "text/plain":
            return child
    return children[-1]


def too_nested(raw: bytes) -> bool:
    """More MIME containers than any real message has: refused before the parser recurses."""
    return len(_CONTAINER.findall(raw)) > MAX_CONTAINERS


def parse(raw: bytes) -> ParsedMail:
    if too_nested(raw):
        raise Unreadable(
            "Message refusé : structure MIME trop imbriquée.",
            "Message refused: MIME structure nested too deeply.",
        )
    try:
        message = email.message_from_bytes(raw, policy=_POLICY)
    except RecursionError:
        raise Unreadable(
            "Message refusé : structure MIME trop imbriquée.",
            "Message refused: MIME structure nested too deeply.",
        ) from None
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        headers.setdefault(name.lower(), []).append(str(value))

    def first(name: str) -> str | None:
        values = headers.get(name)
        return values[0] if values else None

    walk = _Walk()
    walk.run(message)
    if walk.plain:
        body = "\n\n".join(walk.plain)
    else:
        body = "\n\n".join(html_to_text(h) for h in walk.html)
    author_name, author_address = parseaddr(decoded_header(first("from"), 998))
    receipt_to = None
    if first("disposition-notification-to"):
        found = [a for _, a in getaddresses([decoded_header(first("disposition-notification-to"))])]
        receipt_to = next((a for a in found if "@" in a), None)
    return ParsedMail(
        subject=decoded_header(first("subject")),
        body=clean_text(body, MAX_BODY).strip("\n"),
        author_name=author_name[:MAX_NAME],
        author_address=author_address[:320],
        message_id=_FOLD.sub("", _recover(first("message-id") or "")) or None,
        in_reply_to=_FOLD.sub(" ", _recover(first("in-reply-to") or "")) or None,
        references=_FOLD.sub(" ", _recover(" ".join(headers.get("references", [])))) or None,
        mss_mes=tuple(_recover(v) for v in headers.get("x-mss-mes", [])),
        receipt_to=receipt_to[:320] if receipt_to else None,
        attachments=tuple(walk.attachments),
    )


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def make_message_id(token: str, domain: str) -> str:
    return f"<{token}@{domain}>"


@dataclass(frozen=True)
class Outgoing:
    message_id: str
    mail_from: str
    from_name: str
    to: str
    to_name: str
    subject: str
    body: str
    date: datetime
    in_reply_to: str | None = None
    references: Sequence[str] = ()
    attachments: Sequence[ParsedAttachment] = ()


def _address(name: str, address: str) -> str:
    return formataddr((name, address)) if name else address


def compose(out: Outgoing) -> bytes:
    """A patient's message, ready for SMTP: CRLF, 7-bit, threading headers set."""
    message = EmailMessage(policy=_OUT)
    message["From"] = _address(out.from_name, out.mail_from)
    message["To"] = _address(out.to_name, out.to)
    message["Subject"] = out.subject
    message["Date"] = format_datetime(out.date)
    message["Message-ID"] = out.message_id
    if out.in_reply_to:
        message["In-Reply-To"] = out.in_reply_to
    if out.references:
        message["References"] = " ".join(out.references)
    message.set_content(out.body or "", cte="quoted-printable")
    for attachment in out.attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        message.add_attachment(
            attachment.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return message.as_bytes()


@dataclass(frozen=True)
class Receipt:
    """An MDN (RFC 8098): the patient displayed the message ``original_message_id``."""

    message_id: str
    patient_address: str
    patient_name: str
    to: str
    original_message_id: str
    original_subject: str
    date: datetime
    reporting_ua: str


def compose_receipt(receipt: Receipt) -> bytes:
    """``multipart/report; report-type=disposition-notification``: a human part, then the
    machine part. The patient opened it himself; the MDN goes without asking him each time:
    ``manual-action/MDN-sent-automatically; displayed`` (RFC 8098 §3.2.6)."""
    message = EmailMessage(policy=_OUT)
    message["From"] = _address(receipt.patient_name, receipt.patient_address)
    message["To"] = receipt.to
    message["Subject"] = f"Accusé de lecture : {receipt.original_subject}"[:MAX_SUBJECT]
    message["Date"] = format_datetime(receipt.date)
    message["Message-ID"] = receipt.message_id
    message["In-Reply-To"] = receipt.original_message_id
    message["References"] = receipt.original_message_id
    message["Auto-Submitted"] = "auto-replied"
    message.set_content(
        "Le message que vous avez envoyé a été ouvert par son destinataire dans Mon espace "
        "santé.\nThe message you sent was opened by its recipient.\n",
        cte="quoted-printable",
    )
    fields = EmailMessage(policy=_OUT)
    fields["Content-Type"] = "message/disposition-notification"
    fields.set_payload(
        f"Reporting-UA: {receipt.reporting_ua}\r\n"
        f"Final-Recipient: rfc822;{receipt.patient_address}\r\n"
        f"Original-Message-ID: {receipt.original_message_id}\r\n"
        "Disposition: manual-action/MDN-sent-automatically; displayed\r\n"
    )
    message.make_mixed()
    message.attach(fields)
    message.set_type("multipart/report")
    message.set_param("report-type", "disposition-notification")
    return message.as_bytes()
