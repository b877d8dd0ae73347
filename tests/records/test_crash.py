"""DOC-7 against the real service: ``carnet serve`` killed with SIGKILL in the middle of concurrent
uploads, restarted on the same data folder, must still hold every document it acknowledged, byte
for byte, and an intact trace log; a damaged blob is refused cleanly, never served.

Slow (subprocesses, real fsyncs): the demo population is loaded once per module into a template
folder that each test copies.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import secrets
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from process_support import Service, finish, launch

from carnet.demo.load import pdf
from carnet.demo.personas import CLAIRE, DR_MARTIN

pytestmark = pytest.mark.slow

UPLOADS = 100
CYCLES = 3


@dataclass(frozen=True)
class Demo:
    data_dir: Path
    token: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The demo population, and a token of Dr Louis Bernard, Claire's médecin traitant."""
    data_dir = tmp_path_factory.mktemp("crash-template") / "data"
    # Side by side: the token needs only the instance key, which the demo does not touch.
    token = launch(
        data_dir,
        *("token", "pro", "--rpps", DR_MARTIN.rpps, "--profession", DR_MARTIN.profession),
        *("--specialty", DR_MARTIN.specialty or ""),
    )
    loaded = launch(data_dir, "demo", "--patients", "0")
    finish(loaded)
    return Demo(data_dir, finish(token).strip())


@pytest.fixture
def service(demo: Demo, tmp_path: Path) -> Iterator[Service]:
    data_dir = tmp_path / "data"
    shutil.copytree(demo.data_dir, data_dir)
    with (tmp_path / "serve.log").open("wb") as log:
        running = Service(data_dir, log)
        try:
            yield running
        finally:
            running.stop()


def client(service: Service, demo: Demo) -> httpx.Client:
    return httpx.Client(
        base_url=service.url,
        headers={"Authorization": f"Bearer {demo.token}"},
        timeout=30,
        limits=httpx.Limits(max_connections=32),
    )


def claire_documents_url(http: httpx.Client) -> str:
    """Claire's documents, found through her INS in a body (never in a URL)."""
    found = http.post("/api/v1/pro/patients/search", json={"ins": CLAIRE.ins})
    assert found.status_code == 200, found.text
    return f"/api/v1/pro/patients/{found.json()['patient_id']}/documents"


def upload_body(unique_id: str, content: bytes) -> dict[str, object]:
    return {
        "type_code": "11488-4",
        "title": f"Compte rendu {unique_id}",
        "mime_type": "application/pdf",
        "content_base64": base64.b64encode(content).decode(),
        "unique_id": unique_id,
    }


def post_all(
    http: httpx.Client,
    url: str,
    batch: dict[str, bytes],
    on_answer: Callable[[int], None] = lambda answered: None,
) -> dict[str, int | None]:
    """Every upload at once, 16 at a time; ``on_answer`` hears how many were answered so far.

    Returns each unique id's HTTP status, or None when the connection died first.
    """

    def one(unique_id: str) -> tuple[str, int | None]:
        body = upload_body(unique_id, batch[unique_id])
        try:
            return unique_id, http.post(url, json=body).status_code
        except httpx.TransportError:
            return unique_id, None

    outcome: dict[str, int | None] = {}
    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(one, unique_id) for unique_id in batch]
        for answered, future in enumerate(as_completed(futures), start=1):
            unique_id, status = future.result()
            outcome[unique_id] = status
            on_answer(answered)
    return outcome


def read_all(http: httpx.Client, url: str) -> dict[str, tuple[int, bytes, str]]:
    """Every listed document's content read: unique id → (status, bytes, listed SHA-256)."""
    listing = http.get(url)
    assert listing.status_code == 200, listing.text
    documents = listing.json()["documents"]

    def one(document: dict[str, str]) -> tuple[str, tuple[int, bytes, str]]:
        read = http.get(f"{url}/{document['id']}/content")
        return document["unique_id"], (read.status_code, read.content, document["sha256"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(pool.map(one, documents))


def test_doc_7_acknowledged_uploads_survive_kill_9(service: Service, demo: Demo) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    sent: dict[str, bytes] = {}
    service.start()
    for cycle in range(CYCLES):
        batch = {
            f"crash-{cycle}-{n}-{secrets.token_hex(4)}": pdf(
                f"Compte rendu {cycle}.{n} {secrets.token_hex(24)}"
            )
            for n in range(UPLOADS)
        }
        assert len(set(batch.values())) == UPLOADS
        sent.update(batch)
        kill_after = rng.randrange(5, UPLOADS - 10)

        def kill_at(answered: int, kill_after: int = kill_after) -> None:
            if answered == kill_after:
                service.kill()

        with client(service, demo) as http:
            outcome = post_all(http, claire_documents_url(http), batch, kill_at)
        acknowledged = {u for u, status in outcome.items() if status is not None and status < 300}
        context = f"seed {seed}, cycle {cycle}, kill after {kill_after}"
        assert kill_after <= len(acknowledged) < UPLOADS, context
        assert {s for s in outcome.values() if s is not None} == {201}, (context, outcome)

        # The log as the crash left it, checked while the service starts again.
        verify_log = launch(service.data_dir, "verify-log")
        service.start()
        finish(verify_log)  # exits 0: every chain intact
        with client(service, demo) as http:
            stored = read_all(http, claire_documents_url(http))
        assert acknowledged <= set(stored), context
        failed = {u: status for u, (status, _, _) in stored.items() if status != 200}
        assert not failed, (context, failed)
        for unique_id, (_, content, sha256) in stored.items():
            assert hashlib.sha256(content).hexdigest() == sha256, (context, unique_id)
            if unique_id in sent:
                assert content == sent[unique_id], (context, unique_id)


def test_doc_7_damaged_blob_is_refused_cleanly(service: Service, demo: Demo) -> None:
    service.start()
    with client(service, demo) as http:
        url = claire_documents_url(http)
        documents = http.get(url).json()["documents"]
        assert len(documents) >= 2
        damaged, *others = documents
        patient_id = url.split("/")[-2]
        blob = service.data_dir / "blobs" / patient_id / damaged["id"]
        with blob.open("r+b") as handle:
            handle.seek(blob.stat().st_size // 2)
            byte = handle.read(1)
            handle.seek(-1, os.SEEK_CUR)
            handle.write(bytes([byte[0] ^ 0x01]))

        refused = http.get(f"{url}/{damaged['id']}/content")
        assert refused.status_code == 500, refused.text
        assert refused.headers["content-type"].startswith("application/json")
        body = refused.json()
        assert set(body) == {"error", "message", "message_en"}
        assert body["error"] == "integrity_failure"
        assert "altéré" in body["message"]
        assert "damaged" in body["message_en"]
        assert b"%PDF" not in refused.content

        for document in others:
            read = http.get(f"{url}/{document['id']}/content")
            assert read.status_code == 200, read.text
            assert hashlib.sha256(read.content).hexdigest() == document["sha256"]
