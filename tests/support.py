"""Helpers shared by the tests: the test database, free ports, a live server on a real socket."""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import UTC, datetime

import uvicorn
from fastapi import FastAPI

from carnet.access.matrix import load_matrix

#: Set to run the suite on PostgreSQL (``make test`` does when one answers).
PG_URL = os.environ.get("CARNET_TEST_DATABASE_URL")
#: The fixed clock's time in every test.
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
#: The shipped stand-in matrix (ACC-1), for tests of the pure decision.
DEFAULT_MATRIX = load_matrix()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LiveServer:
    """The real app on a real socket; the runtime is swapped per test."""

    def __init__(self, app: FastAPI, port: int) -> None:
        self.app = app
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=port,
                log_config=None,
                access_log=False,
                lifespan="off",
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(5)
