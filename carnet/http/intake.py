"""What a request's body goes through before any route reads a byte of it (issue 16).

A pure ASGI middleware, so that nothing is read before it has decided:

- the body's size: refused (413) from ``Content-Length`` at once, and while it streams when the
  length is not announced or lies; uploads (multipart forms, the JSON API's document uploads,
  FHIR ITI-65 and ITI-105) have their own, larger cap (``CARNET_HTTP_MAX_UPLOAD_BYTES``);
- on the JSON API and FHIR, the bearer token: verified before the body is read, so a caller with
  no valid token never makes the server read (let alone parse) what he sends. The verified
  claims are kept for the route's dependency (``deps.claims_of``), which then does not
  verify again; on the web pages, an upload (multipart) is read only with a valid session
  (else the log-in page, as the page itself would answer);
- JSON bodies on those doors: their nesting depth, counted before they are parsed
  (``CARNET_HTTP_MAX_JSON_DEPTH``): the parser recurses, and 100,000 brackets would exhaust it.

Before all that, any request (static files aside) finding the database's queue at its bound is
answered 503 with Retry-After (issue 19): it would be refused anyway, and refusing it first
spares the token's verification and the rest of its way to the queue.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from carnet.db.uow import overloaded
from carnet.errors import Invalid, Refusal
from carnet.http.deps import CLAIMS_STATE, bearer_token
from carnet.settings import Settings
from carnet.web.deps import login_redirect

UPLOAD_PATHS = re.compile(
    r"^(/fhir/?|/fhir/DocumentReference|/api/v1/pro/patients/[^/]+/documents(/[^/]+/replace)?)$"
)
"""Routes whose JSON body carries a document (base64): they get the upload cap."""

PUBLIC_BODY_PATHS = frozenset({"/api/v1/activation/code-request"})
"""The only routes of the JSON API and FHIR that read a body without a token."""

FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})
BEARER_DOORS = ("/api/", "/fhir")
SESSION_PAGES = ("/espace/", "/pro/")
"""Pages behind a log-in: an upload there is read only from someone logged in."""

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class Answered(Exception):
    """An answer a page gives before the body is read (the log-in page, for an upload with no
    valid session)."""

    def __init__(self, response: Response) -> None:
        super().__init__("answered")
        self.response = response


class TooLarge(Refusal):
    """A body beyond its route's cap: refused before it is read, or as soon as it passes it."""

    code = "too_large"
    status = 413

    def __init__(self, cap: int) -> None:
        megabytes = f"{cap / (1024 * 1024):.3g}"
        super().__init__(
            f"Requête trop volumineuse : {megabytes} Mo au plus.",
            f"Request too large: {megabytes} MB at most.",
        )


class Malformed(Invalid):
    """A body that cannot be read at all (its shape, not its content): 400."""

    status = 400


def too_deep(limit: int) -> Malformed:
    return Malformed(
        f"Corps JSON refusé : profondeur d'imbrication supérieure à {limit}.",
        f"JSON body refused: nesting depth beyond {limit}.",
        code="json_too_deep",
    )


def json_depth_exceeds(data: bytes, limit: int) -> bool:
    """Whether arrays and objects nest deeper than ``limit`` in ``data`` (brackets inside
    strings do not count). Linear, no recursion; a body with fewer opening brackets than the
    limit is answered by two counts in C."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    depth = 0
    for byte in brackets:
        if byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _cap(settings: Settings, path: str, content_type: str) -> int:
    if content_type == "multipart/form-data" or UPLOAD_PATHS.match(path):
        return settings.http_max_upload_bytes
    return settings.http_max_json_bytes


def _announced_length(headers: Headers) -> int | None:
    value = headers.get("content-length")
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        length = -1
    if length < 0:
        raise Malformed(
            "En-tête Content-Length illisible.",
            "Unreadable Content-Length header.",
            code="bad_content_length",
        )
    return length


Answer = Callable[[Scope, Receive, Send, Refusal], Awaitable[None]]


class Intake:
    """The ASGI middleware; ``answer`` sends a refusal in the door's shape (``http.errors``)."""

    def __init__(self, app: ASGIApp, answer: Answer) -> None:
        self.app = app
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not scope["path"].startswith("/static/") and scope["app"].state.runtime.uow.saturated():
            await self.answer(scope, receive, send, overloaded())  # before any work (issue 19)
            return
        headers = Headers(scope=scope)
        if headers.get("content-length", "0") == "0" and "transfer-encoding" not in headers:
            await self.app(scope, receive, send)  # no body: nothing to guard
            return
        try:
            receive = await self._admit(scope, receive, headers)
        except Refusal as refusal:
            await self.answer(scope, receive, send, refusal)
            return
        except Answered as answered:
            answered.response.headers["Connection"] = "close"
            await answered.response(scope, receive, send)
            return
        except ClientDisconnect:
            return
        await self.app(scope, receive, send)

    async def _admit(self, scope: Scope, receive: Receive, headers: Headers) -> Receive:
        """The ``receive`` the app gets, once everything that needs no body has been checked."""
        settings: Settings = scope["app"].state.runtime.settings
        path: str = scope["path"]
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        cap = _cap(settings, path, content_type)
        door = path.startswith(BEARER_DOORS)
        if door and path not in PUBLIC_BODY_PATHS:
            verifier = scope["app"].state.verifier
            claims = await verifier.verify_async(bearer_token(headers.get("authorization")))
            scope.setdefault("state", {})[CLAIMS_STATE] = claims
        length = _announced_length(headers)
        if length is not None and length > cap:
            raise TooLarge(cap)
        if content_type == "multipart/form-data" and path.startswith(SESSION_PAGES):
            redirect = await login_redirect(Request(scope, receive))
            if redirect is not None:
                raise Answered(redirect)
        capped = _capped(receive, cap, scope)
        if not door or content_type in FORM_TYPES:
            return capped
        body = await _read_all(capped)
        if json_depth_exceeds(body, settings.http_max_json_depth):
            raise too_deep(settings.http_max_json_depth)
        return _replay(body, receive)


def _capped(receive: Receive, cap: int, scope: Scope) -> Receive:
    """``receive``, refusing (``TooLarge``) as soon as the body passes ``cap``; the scope
    remembers it, for a parser that would turn the refusal into its own error."""
    seen = 0

    async def receiving() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > cap:
                scope[TOO_LARGE_SCOPE] = cap
                raise TooLarge(cap)
        return message

    return receiving


TOO_LARGE_SCOPE = "carnet.too_large"


async def _read_all(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, then whatever the connection says next (a disconnect)."""
    sent = False

    async def replaying() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replaying
