"""A crash while 50 SMTP clients send: every message that got its 250 is in its mailbox exactly
once after a restart (``kill -9`` of a real ``carnet serve``)."""

from __future__ import annotations

import signal
import smtplib
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from factories import add_patient, add_pro
from process_support import serve_with_smtp
from smtp_support import add_mailbox, address_of
from sqlalchemy import create_engine, select
from support import PG_URL, free_port

from carnet.ids import new_id
from carnet.messaging.models import Message
from carnet.population.rules import ProfileState
from carnet.runtime import build_runtime
from carnet.settings import Settings

CLIENTS = 50


def _population(data: Path) -> tuple[str, list[str]]:
    """A sender of the directory and five patients' addresses, written before the server starts."""
    rt = build_runtime(Settings(data_dir=data))
    try:
        sender = add_mailbox(rt, pro=add_pro(rt)).address
        states = [ProfileState.ACTIVATED] * 4 + [ProfileState.CREATED]
        return sender, [address_of(rt, add_patient(rt, state=state)) for state in states]
    finally:
        rt.uow.engine.dispose()


def _message(sender: str, to: str, message_id: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: Suivi\r\nMessage-ID: {message_id}\r\n\r\n"
        "Bonjour, voici le suivi.\r\n"
    ).encode()


@pytest.mark.slow
@pytest.mark.skipif(PG_URL is not None, reason="carnet serve's embedded default is SQLite")
def test_msg_1_every_250_survives_a_kill_9_exactly_once(tmp_path: Path) -> None:
    data, port, smtp_port = tmp_path / "data", free_port(), free_port()
    sender, recipients = _population(data)
    server = serve_with_smtp(data, port, smtp_port)
    acked: list[str] = []
    lock = threading.Lock()
    crashed = threading.Event()

    def client(number: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp:
                while not crashed.is_set():
                    message_id = f"<{new_id()}@crash.test>"
                    to = recipients[number % len(recipients)]
                    smtp.sendmail(sender, [to], _message(sender, to, message_id))
                    with lock:
                        acked.append(message_id)
        except (smtplib.SMTPException, OSError):
            return

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(acked) < 2 * CLIENTS and time.monotonic() < deadline:
            time.sleep(0.02)
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        crashed.set()
        for thread in threads:
            thread.join(30)
    finally:
        if server.poll() is None:
            server.kill()
    assert len(acked) >= CLIENTS, "too few messages before the crash to prove anything"

    restarted = serve_with_smtp(data, port, smtp_port)
    try:
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp:
            after = f"<{new_id()}@crash.test>"
            smtp.sendmail(sender, recipients[:1], _message(sender, recipients[0], after))
    finally:
        restarted.terminate()
        restarted.wait(20)
    engine = create_engine(f"sqlite:///{data / 'carnet.db'}")
    try:
        with engine.connect() as connection:
            stored = Counter(connection.scalars(select(Message.rfc_message_id)).all())
    finally:
        engine.dispose()
    missing = [m for m in acked if stored[m] != 1]
    assert missing == [], f"{len(missing)} acknowledged messages not stored exactly once"
    assert stored[after] == 1
    assert all(count == 1 for count in stored.values())
