"""Issue 16, « input limits before work »: a body's size is checked from its Content-Length
before a byte of it is read, and while it streams; on the JSON API and FHIR the token is checked
before the body is read. Over raw sockets: the answer comes while the client still holds most
of what it announced — the server did not wait for (nor read) the body."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import httpx
from factories import add_patient, add_pro
from live_api import Api
from web_support import Site

from carnet.population.login import demo_login
from carnet.web.deps import SESSION_COOKIE

MB = 1024 * 1024


def _connect(api: Api) -> socket.socket:
    address = urlsplit(api.url)
    connection = socket.create_connection((address.hostname or "", address.port or 80), timeout=10)
    return connection


def _head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: carnet.test",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _answer(connection: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and body of the answer (read until the server closes or the body's
    announced length is in)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(status_line.split()[1]), headers, body


def _announce(
    api: Api, method: str, path: str, headers: dict[str, str], prefix: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """Sends the head (and at most ``prefix`` of the body), then waits for the answer."""
    with _connect(api) as connection:
        connection.sendall(_head(method, path, headers) + prefix)
        return _answer(connection)


def _stream(
    api: Api, method: str, path: str, headers: dict[str, str], chunk: bytes, most: int
) -> tuple[int, dict[str, str], bytes, int]:
    """Sends the body chunked, a chunk at a time, until the server answers (or ``most`` bytes
    are sent); returns the answer and how much was sent before it."""
    with _connect(api) as connection:
        connection.sendall(_head(method, path, {**headers, "Transfer-Encoding": "chunked"}))
        sent = 0
        connection.settimeout(0.05)
        while sent < most:
            try:
                connection.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                break
            try:
                peeked = connection.recv(1, socket.MSG_PEEK)
            except (TimeoutError, BlockingIOError):
                continue
            if peeked:
                break
        connection.settimeout(10)
        status, answer_headers, body = _answer(connection)
        return status, answer_headers, body, sent


def _refusal(status: int, body: bytes, expected: int) -> dict[str, str]:
    assert status == expected, body[:300]
    parsed: dict[str, str] = json.loads(body)
    return parsed


def test_issue16_a_200_mb_multipart_upload_is_413_from_its_content_length(api: Api) -> None:
    """The announced size alone decides: 413 (not 422) before the body is sent."""
    patient = add_patient(api.rt)
    status, _, body = _announce(
        api,
        "POST",
        f"/api/v1/patients/{patient.id}/documents",
        {
            **api.as_patient(patient),
            "Content-Type": "multipart/form-data; boundary=xyz",
            "Content-Length": str(200 * MB),
        },
        b"--xyz\r\n",
    )
    refusal = _refusal(status, body, 413)
    assert refusal["error"] == "too_large"
    assert "volumineuse" in refusal["message"]
    assert "too large" in refusal["message_en"]
    status, _, body = _announce(
        api,
        "POST",
        f"/espace/{patient.id}/documents",
        {"Content-Type": "multipart/form-data; boundary=xyz", "Content-Length": str(200 * MB)},
    )
    assert status == 413, body[:300]


def test_issue16_no_token_and_a_huge_body_is_401_before_the_body_is_read(api: Api) -> None:
    """120 MB announced on FHIR with no token: 401 at once, the server reads none of it."""
    status, headers, body = _announce(
        api,
        "POST",
        "/fhir",
        {"Content-Type": "application/fhir+json", "Content-Length": str(120 * MB)},
        b'{"resourceType": "Bundle"',
    )
    assert status == 401, body[:300]
    status, headers, body = _announce(
        api,
        "POST",
        "/fhir/DocumentReference",
        {"Content-Type": "application/fhir+json", "Content-Length": str(10 * MB)},
    )
    assert status == 401, body[:300]
    assert headers["www-authenticate"] == "Bearer"
    assert json.loads(body)["resourceType"] == "OperationOutcome"


def test_issue16_an_invalid_token_with_a_streamed_body_is_401_before_it_is_read(api: Api) -> None:
    """Chunked (no announced length): the token is refused before the first chunk is read."""
    status, _, body = _announce(
        api,
        "POST",
        "/api/v1/pro/patients/x/documents",
        {
            "Authorization": "Bearer not.a.token",
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
    )
    assert _refusal(status, body, 401)["error"]


def test_issue16_a_streamed_json_body_past_its_cap_is_413_while_it_streams(api: Api) -> None:
    patient = add_patient(api.rt)
    api.rt.settings.http_max_json_bytes = 64 * 1024
    status, _, body, sent = _stream(
        api,
        "POST",
        f"/api/v1/patients/{patient.id}/requests",
        {**api.as_patient(patient), "Content-Type": "application/json"},
        b" " * 16 * 1024,
        most=8 * MB,
    )
    assert _refusal(status, body, 413)["error"] == "too_large"
    assert sent < 2 * MB, sent


def test_issue16_a_streamed_multipart_past_the_upload_cap_is_413_not_422(api: Api) -> None:
    """The cap cuts a form while it is parsed: still 413, in the door's shape."""
    patient = add_patient(api.rt)
    api.rt.settings.http_max_upload_bytes = 256 * 1024
    head = (
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n"
    )
    status, _, body, sent = _stream(
        api,
        "POST",
        f"/api/v1/patients/{patient.id}/documents",
        {**api.as_patient(patient), "Content-Type": "multipart/form-data; boundary=xyz"},
        head + b"%" * 32 * 1024,
        most=16 * MB,
    )
    assert _refusal(status, body, 413)["error"] == "too_large"
    assert sent < 4 * MB, sent


def test_issue16_uploads_have_a_bigger_cap_than_json(api: Api) -> None:
    """The same 3 MB: refused on a JSON route, read (then judged) on a document upload."""
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    big = json.dumps({"text": "x" * 3 * MB, "kind": "rectification"})
    small_route = api.client.post(
        f"/api/v1/patients/{patient.id}/requests",
        content=big,
        headers={**api.as_patient(patient), "Content-Type": "application/json"},
    )
    assert api.refusal(small_route, 413)["error"] == "too_large"
    upload_route = api.client.post(
        f"/api/v1/pro/patients/{patient.id}/documents",
        content=big,
        headers={**api.as_pro(pro), "Content-Type": "application/json"},
    )
    assert upload_route.status_code == 422, upload_route.text[:300]


def test_issue16_a_fhir_body_too_large_is_an_operation_outcome(api: Api) -> None:
    pro = add_pro(api.rt)
    api.rt.settings.http_max_json_bytes = 1024
    answer = api.client.post(
        "/fhir/Observation",
        content=b"{" + b" " * 4096 + b"}",
        headers={**api.as_pro(pro), "Content-Type": "application/fhir+json"},
    )
    assert answer.status_code == 413
    outcome = answer.json()
    assert outcome["issue"][0]["code"] == "too-costly"
    assert "volumineuse" in outcome["issue"][0]["diagnostics"]


def test_issue16_a_request_without_a_body_is_untouched(api: Api) -> None:
    patient = add_patient(api.rt)
    answer = api.client.get(
        f"/api/v1/patients/{patient.id}/documents", headers=api.as_patient(patient)
    )
    assert answer.status_code == 200
    assert isinstance(httpx.get(api.url + "/healthz").json(), dict)


def test_issue16_a_web_upload_with_no_session_is_sent_to_log_in_unread(api: Api) -> None:
    """The web pages too: 10 MB announced with no valid session, the log-in page at once."""
    patient = add_patient(api.rt)
    for cookie in ({}, {"Cookie": "carnet_session=forged"}):
        status, headers, _ = _announce(
            api,
            "POST",
            f"/espace/{patient.id}/documents",
            {
                **cookie,
                "Content-Type": "multipart/form-data; boundary=xyz",
                "Content-Length": str(10 * MB),
            },
        )
        assert status == 303
        assert headers["location"].startswith("/connexion")
    status, headers, _ = _announce(
        api,
        "POST",
        f"/pro/patients/{patient.id}/documents",
        {"Content-Type": "multipart/form-data; boundary=xyz", "Content-Length": str(10 * MB)},
    )
    assert status == 303
    assert headers["location"] == "/pro/"


def test_issue16_an_empty_body_on_a_public_route_needs_no_token(api: Api) -> None:
    """Clients that send ``Content-Length: 0`` with a GET still read the public documents."""
    answer = api.client.get("/fhir/metadata", headers={"Content-Length": "0"})
    assert answer.status_code == 200


def test_issue16_a_form_too_large_on_a_web_page_is_an_error_page(http_site: Site) -> None:
    """A browser gets a page (in French and English), not JSON."""
    patient = add_patient(http_site.rt)
    http_site.rt.settings.http_max_upload_bytes = 100_000
    opened = demo_login(http_site.rt.uow, http_site.rt.settings, patient.ins)
    with httpx.Client(base_url=http_site.url, cookies={SESSION_COOKIE: opened.token}) as client:
        answer = client.post(
            f"/espace/{patient.id}/documents",
            files={"file": ("a.pdf", b"%PDF" + b"x" * 200_000, "application/pdf")},
            data={"title": "gros"},
        )
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("text/html")
    assert "volumineuse" in answer.text
