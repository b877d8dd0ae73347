"""Issue 18: ``carnet serve --workers N`` — N processes answer HTTP on one port (the kernel
hands each connection to one of them), SMTP and the background jobs run in the first, and the
others stop with it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from process_support import CARNET, environment
from support import PG_URL, free_port

pytestmark = pytest.mark.skipif(
    PG_URL is not None, reason="carnet serve's embedded default is SQLite"
)


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_issue18_serve_workers_share_the_port_and_stop_with_the_first(tmp_path: Path) -> None:
    port = free_port()
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [
                CARNET,
                "serve",
                "--workers",
                "2",
                "--data-dir",
                str(tmp_path / "data"),
                "--port",
                str(port),
                "--smtp-port",
                str(free_port()),
            ],
            env=environment(tmp_path / "data"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                assert process.poll() is None, (tmp_path / "serve.log").read_text()
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            others = _children(process.pid)
            assert len(others) == 1, others
            answers = {httpx.get(f"http://127.0.0.1:{port}/healthz").status_code for _ in range(20)}
            assert answers == {200}
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in others) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in others)
