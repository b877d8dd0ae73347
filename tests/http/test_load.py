"""Issue 19 (many people at once) through the real API: fewer round trips per request, and
clear answers when the database cannot take a request now."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import anyio.to_thread
import pytest
from factories import add_patient, add_pro, pro_ctx, upload
from live_api import Api
from sqlalchemy import create_engine, event
from support import PG_URL

from carnet.db.uow import UnitOfWork
from carnet.http.api.schemas import DocumentList, DocumentOut, documents_json
from carnet.records.reading import list_documents
from carnet.serve import THREADS_BESIDES, listening_socket, size_thread_pool
from carnet.settings import Settings


def test_issue_19_a_patient_token_is_looked_up_in_the_register_once(api: Api) -> None:
    patient = add_patient(api.rt)
    upload(api.rt, pro_ctx(add_pro(api.rt)), patient)
    looked_up: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # The register's look-up by INS (``population.service.id_of_ins``: the ``patient_ins``
        # table, keyed by what it looks up, since the schema is laid out for Citus).
        if "FROM patient_ins" in statement or "patients.ins =" in statement:
            looked_up.append(statement)

    event.listen(api.rt.uow.engine, "before_cursor_execute", seen)
    try:
        headers = api.as_patient(patient)
        url = f"/api/v1/patients/{patient.id}/documents"
        for _ in range(3):
            assert api.client.get(url, headers=headers).status_code == 200
        assert len(looked_up) == 1, "one look-up for the token, then remembered"
        again = api.as_patient(patient)  # a new token: looked up on its own
        assert api.client.get(url, headers=again).status_code == 200
        assert len(looked_up) == 2
    finally:
        event.remove(api.rt.uow.engine, "before_cursor_execute", seen)


@pytest.mark.skipif(not PG_URL, reason="a lost connection is a PostgreSQL server's event")
def test_issue_19_a_lost_database_connection_is_a_503_with_retry_after(api: Api) -> None:
    """No pre-ping on each checkout: a connection the server dropped fails the one request that
    finds it — answered 503 with Retry-After, nothing recorded — and the next one is served."""
    patient = add_patient(api.rt)
    headers = api.as_patient(patient)
    url = f"/api/v1/patients/{patient.id}/documents"
    assert api.client.get(url, headers=headers).status_code == 200  # a pooled connection
    engine = api.rt.uow.engine
    database = engine.url.database
    admin = create_engine(engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        )
    admin.dispose()
    lost = api.client.get(url, headers=headers)
    body = api.refusal(lost, 503)
    assert body["error"] == "database_unavailable"
    assert lost.headers["retry-after"] == "1"
    assert api.client.get(url, headers=headers).status_code == 200


@contextmanager
def _slot_held(api: Api) -> Iterator[None]:
    """The database's one slot taken by another request for the block's length."""
    release, held = threading.Event(), threading.Event()

    def holder() -> None:
        with api.rt.uow.transaction():
            held.set()
            release.wait(10)

    busy = threading.Thread(target=holder)
    busy.start()
    held.wait(10)
    try:
        yield
    finally:
        release.set()
        busy.join(10)


def test_issue_19_past_the_queue_limit_the_api_answers_503_with_retry_after(api: Api) -> None:
    patient = add_patient(api.rt)
    headers = api.as_patient(patient)
    url = f"/api/v1/patients/{patient.id}/documents"
    api.rt.uow = UnitOfWork(api.rt.uow.engine, max_active=1, max_waiting=0)
    slots = api.rt.uow.slots
    assert slots is not None
    assert api.client.get(url, headers=headers).status_code == 200  # the token is known now
    with _slot_held(api):
        refused = api.client.get(url, headers=headers)
        body = api.refusal(refused, 503)
        assert body["error"] == "overloaded"
        assert refused.headers["retry-after"] == "1"
        assert api.client.get("/healthz").status_code == 503, "the health check waits its turn"
    assert api.client.get(url, headers=headers).status_code == 200


def test_issue_19_a_full_queue_is_answered_before_any_work(api: Api) -> None:
    """With the queue at its bound, a request is refused at the door: a caller without any
    token gets the 503 too (no token was verified, nothing was read), static files still
    load, and once the queue drains the same request is asked for its token as usual."""
    api.rt.uow = UnitOfWork(api.rt.uow.engine, max_active=1, max_waiting=0)
    with _slot_held(api):
        assert api.rt.uow.saturated()
        refused = api.client.get("/api/v1/patients/someone/documents")  # no token at all
        assert api.refusal(refused, 503)["error"] == "overloaded"
        assert refused.headers["retry-after"] == "1"
        assert api.client.get("/static/site.css").status_code == 200
        page = api.client.get("/connexion", headers={"accept-language": "fr"})
        assert page.status_code == 503
        assert page.headers["retry-after"] == "1"
        assert "Service très sollicité" in page.text
    assert not api.rt.uow.saturated()
    assert api.client.get("/api/v1/patients/someone/documents").status_code == 401


def test_issue_19_the_thread_pool_holds_every_request_the_database_may_queue() -> None:
    """Fewer threads than the database's queue would make requests wait for a thread — in a
    queue with no bound and no 503 — instead."""

    async def sized() -> float:
        size_thread_pool(Settings(db_max_active=10, db_max_waiting=100))
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    assert asyncio.run(sized()) == 10 + 100 + THREADS_BESIDES


def test_issue_19_connections_to_the_http_door_send_without_waiting_nagle() -> None:
    """A kept-alive connection's answers are not held back by Nagle's algorithm: uvicorn
    writes the headers and the body apart, and the body waited for the client's delayed ACK
    (about 40 ms per request). asyncio sets ``TCP_NODELAY`` only on TCP sockets that say so."""

    async def accepted_nodelay() -> int:
        listening = listening_socket("127.0.0.1", 0)
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def on_connection(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connection = writer.get_extra_info("socket")
            seen.set_result(connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connection, sock=listening)
        async with server:
            _, writer = await asyncio.open_connection(*listening.getsockname()[:2])
            try:
                return await asyncio.wait_for(seen, 10)
            finally:
                writer.close()

    assert asyncio.run(accepted_nodelay()) != 0


def test_issue_19_a_listing_written_without_models_is_the_models_json(api: Api) -> None:
    """``documents_json`` writes plain dicts: byte for byte what ``DocumentList`` would say,
    for listed rows and for ORM documents, with and without their optional values."""
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    ctx = pro_ctx(pro)
    stored = [
        upload(api.rt, ctx, patient),
        upload(api.rt, ctx, patient, type_code="11502-2", masked=True, unique_id="u-2"),
        upload(api.rt, ctx, patient, invisible_patient=True, title="Lettre « privée »"),
    ]
    _, rows = list_documents(api.rt, ctx, patient.id)
    assert len(rows) == 3
    dated = [rows[0]._replace(service_date=date(2026, 1, 2), replaces_id="before"), *rows[1:]]
    for documents in (rows, stored, dated):
        model = DocumentList(
            patient_id=patient.id, documents=[DocumentOut.of(d) for d in documents]
        )
        assert bytes(documents_json(patient.id, documents).body) == model.model_dump_json().encode()
