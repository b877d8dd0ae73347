"""``carnet serve --workers N`` (INTERFACES: one server uses its cores): the extra processes
answer HTTP on the same port — shown by pausing the first process and still being answered —
each on a listening socket of its own (``SO_REUSEPORT``: the kernel spreads the connections),
and go away with it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from process_support import Service
from support import PG_URL, metric_samples

from carnet.serve import shared_among
from carnet.settings import Settings

pytestmark = pytest.mark.skipif(PG_URL is not None, reason="the CLI's embedded default is SQLite")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _listening_sockets(port: int) -> int:
    """How many sockets listen on ``port`` (``/proc/net/tcp``: state 0A is LISTEN)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                count += 1
    return count


def test_serve_workers_a_second_process_answers_http_on_the_same_port(tmp_path: Path) -> None:
    with (tmp_path / "serve.log").open("wb") as log:
        service = Service(tmp_path / "data", log, "--workers", "2")
        service.start()
        assert service.process is not None
        first = service.process.pid
        try:
            deadline = time.monotonic() + 60
            while True:  # the extra process needs its own start-up
                os.kill(first, signal.SIGSTOP)
                try:
                    answer = httpx.get(f"{service.url}/metrics", timeout=2)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "no second process answered"
                finally:
                    os.kill(first, signal.SIGCONT)
                time.sleep(0.5)
            assert answer.status_code == 200
            # issue 19: it settled its objects out of the collector's passes, as the first does
            samples = metric_samples(answer.text)
            assert samples["carnet_gc_frozen_objects"] > 10_000
            # issue 18: it took its share of the database's budget (SQLite: one writer)
            assert samples['carnet_db_waiting{of="limit"}'] == 32  # 64 / 2
            assert samples['carnet_db_transactions{of="limit"}'] == 1
            assert _children(first), "the extra HTTP process is the first one's child"
            port = int(service.url.rsplit(":", 1)[1])
            assert _listening_sockets(port) == 2, "each process listens on a socket of its own"
        finally:
            os.kill(first, signal.SIGCONT)
            children = _children(first)
            service.stop()
        deadline = time.monotonic() + 15
        while any(Path(f"/proc/{pid}").exists() for pid in children):
            assert time.monotonic() < deadline, "an HTTP process outlived carnet serve"
            time.sleep(0.1)


def test_serve_workers_share_the_database_budget() -> None:
    """Issue 18: CARNET_DB_MAX_ACTIVE and _WAITING are the server's; each of N processes takes
    its share, rounded up (at least one transaction at once), and one process all of it."""
    settings = Settings(db_max_active=10, db_max_waiting=64)
    assert shared_among(settings, 1) is settings
    halves = shared_among(settings, 2)
    assert (halves.db_max_active, halves.db_max_waiting) == (5, 32)
    thirds = shared_among(settings, 3)
    assert (thirds.db_max_active, thirds.db_max_waiting) == (4, 22)
    few = shared_among(Settings(db_max_active=1, db_max_waiting=0), 4)
    assert (few.db_max_active, few.db_max_waiting) == (1, 0)
    assert (settings.db_max_active, settings.db_max_waiting) == (10, 64)  # unchanged
