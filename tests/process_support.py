"""Running ``carnet`` as the operator does — a child process on a data folder — for the crash
tests (kill -9 and start again). Imported by those tests, registered nowhere."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import httpx

CARNET = str(Path(sys.executable).parent / "carnet")
#: Compiled modules of the child processes, kept for the run: each ``carnet`` would otherwise
#: compile every module again when the environment forbids writing bytecode next to the sources.
PYCACHE = Path(tempfile.gettempdir()) / f"carnet-test-pycache-{os.getuid()}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def environment(data_dir: Path, **settings: str) -> dict[str, str]:
    """The service's own defaults (SQLite and files under the folder), whatever the test run's;
    ``settings`` as ``CARNET_*`` variables."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CARNET_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env["CARNET_DATA_DIR"] = str(data_dir)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env.update({f"CARNET_{k.upper()}": v for k, v in settings.items()})
    return env


def launch(data_dir: Path, *args: str, **settings: str) -> subprocess.Popen[str]:
    """A ``carnet`` command on that folder, started; :func:`finish` waits for it."""
    return subprocess.Popen(
        [CARNET, *args, "--data-dir", str(data_dir)],
        env=environment(data_dir, **settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(command: subprocess.Popen[str], timeout: float = 60) -> str:
    """The command's output, once it has exited with 0."""
    try:
        out, err = command.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        command.kill()
        command.communicate()
        raise
    assert command.returncode == 0, (command.args, out, err)
    return out


def serve_with_smtp(data_dir: Path, port: int, smtp_port: int) -> subprocess.Popen[bytes]:
    """``carnet serve`` on both doors, once each answers (``/healthz``, the SMTP port open)."""
    doors = ["--port", str(port), "--smtp-port", str(smtp_port)]
    process = subprocess.Popen(
        [CARNET, "serve", "--data-dir", str(data_dir), *doors],
        env=environment(data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while True:
        assert process.poll() is None, "carnet serve exited"
        assert time.monotonic() < deadline, "carnet serve did not start"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                with socket.create_connection(("127.0.0.1", smtp_port), timeout=1):
                    return process
        except (httpx.TransportError, OSError):
            pass
        time.sleep(0.1)


class Service:
    """``carnet serve`` as a child process, on a fresh port at each start."""

    def __init__(self, data_dir: Path, log: IO[bytes], *args: str, **settings: str) -> None:
        self.data_dir = data_dir
        self.args = args
        self.log = log
        self.settings = settings
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [
                CARNET,
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(port),
                "--smtp-port",
                str(free_port()),
                *self.args,
            ],
            env=environment(self.data_dir, **self.settings),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "carnet serve exited; see serve.log"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError("carnet serve did not answer /healthz within 30 s")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, as in a power cut of the process."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
