"""``carnet serve`` runs on libuv's event loop (uvloop, issue 19): its HTTP and its SMTP door,
STARTTLS included — aiosmtpd swaps the connection's protocol for TLS on the loop's own
transport, which a loop of another make must allow."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from pathlib import Path

import httpx
import uvloop
from process_support import free_port, serve_with_smtp
from support import metric_samples

from carnet.serve import LOOP_FACTORY, run_loop


def test_issue19_run_loop_runs_on_uvloop() -> None:
    seen: list[asyncio.AbstractEventLoop] = []

    async def main() -> None:
        seen.append(asyncio.get_running_loop())

    run_loop(main())
    assert LOOP_FACTORY is uvloop.new_event_loop
    assert isinstance(seen[0], uvloop.Loop)


def test_issue19_served_smtp_door_upgrades_to_tls_on_uvloop(tmp_path: Path) -> None:
    port, smtp_port = free_port(), free_port()
    process = serve_with_smtp(tmp_path, port, smtp_port)
    try:
        unverified = ssl.create_default_context()
        unverified.check_hostname = False
        unverified.verify_mode = ssl.CERT_NONE  # the door's own self-signed certificate
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
            client.ehlo("mss.exemple.fr")
            assert client.has_extn("starttls")
            code, _ = client.starttls(context=unverified)
            assert code == 220
            assert isinstance(client.sock, ssl.SSLSocket)
            client.ehlo("mss.exemple.fr")
            assert not client.has_extn("starttls")  # once upgraded, not offered again
            assert client.noop()[0] == 250
        # The HTTP door answers beside it, on the same loop.
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert metrics.status_code == 200
        # The served process settled its objects out of the collector's passes (issue 19).
        assert metric_samples(metrics.text)["carnet_gc_frozen_objects"] > 10_000
    finally:
        process.terminate()
        process.wait(15)
