"""The real app on a real socket, in a thread: for the door tests (``live_api``)."""

from __future__ import annotations

import threading
import time

import uvicorn
from fastapi import FastAPI

from carnet.serve import HTTP_PROTOCOL


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
                http=HTTP_PROTOCOL,
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
