"""Many people at once (issue 19): a bounded load on one ``carnet serve`` process, over loopback.

The server runs as a child process (``carnet serve``, one process, on a fresh instance: SQLite
under a temporary folder, or a fresh database on the PostgreSQL server of ``--database``). An
async HTTP client (httpx) keeps 1, 8 and 32 requests in flight (``--full``: 128 too) for a few
seconds per workload:

- ``healthz``: ``GET /healthz``, the floor every other line is compared with;
- ``listing``: a pro's listing of the busy patient's record (20 documents);
- ``mixed``: pro listings and document reads, patients' own listings, history and document
  contents, uploads by the pro, and messages from the pro's MSSanté server to patients'
  mailboxes through the SMTP door (one SMTP connection per client, kept open; a message counts
  from ``MAIL FROM`` to the 250 after its data) — a third of them on the busy patient, the rest
  over many;
- ``spread`` (asked for by name): the same mix over the many patients only, none on the busy
  one, whose traced requests take his chain's head in turn.

For each it prints requests/s, p50/p99/p99.9, the server's CPU seconds per request (its own
``utime + stime`` from ``/proc/<pid>/stat``, threads and workers included, so the transparency
log's sequencing counts too), the statuses seen, and ratios to ``/healthz`` under the same number
of clients. The client's own CPU is printed too: on a 2-core machine it competes with the
server. Targets (issue 19): the listing ≤ 1.5 ms of server CPU; at 32 clients p99 ≤ 4 × p50;
at 128 clients nothing but 200 or 503 with ``Retry-After``, and p99 ≤ 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import resource
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from json import dumps as json_dumps
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from _common import Result, finish, mail, print_header, settings_in, temporary_folder
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from carnet.auth.instance import issue_patient_token, issue_pro_token, load_or_create_instance_key
from carnet.context import AuthLevel, RequestContext
from carnet.demo import personas as p
from carnet.demo.load import DEMO_PASSWORD, load_demo, pdf, population_rows
from carnet.lifecycle.activation import activate_profile
from carnet.messaging.rules import patient_address
from carnet.population.service import patient_by_ins
from carnet.records.reading import list_documents
from carnet.records.service import NewDocument, upload_document
from carnet.runtime import build_runtime
from carnet.settings import Settings

BUSY_DOCUMENTS = 20
MANY_DOCUMENTS = 3
PATIENTS_FULL, PATIENTS_QUICK = 40, 10
SECONDS_FULL, SECONDS_QUICK = 5.0, 1.5
CLIENTS, CLIENTS_FULL = (1, 8, 32), (1, 8, 32, 128)
CPU_TARGET_MS = 1.5
TAIL_TARGET = 4.0  # p99 ≤ 4 × p50 at 32 clients
P99_AT_128_S = 1.0
PRO = p.DR_MARTIN
TICK = os.sysconf("SC_CLK_TCK")
IDLE_SECONDS = 3.0


@dataclass
class Seeded:
    """What the workload needs to know of the instance: ids and tokens."""

    busy: str
    busy_documents: list[str]
    many: list[str]
    many_documents: dict[str, list[str]]
    pro_token: str
    patient_tokens: dict[str, str]
    #: The pro's MSSanté address, and each patient's citizen mailbox (MSG-1).
    mail_from: str
    mailboxes: dict[str, str]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def fresh_database(url: str | None) -> Iterator[str | None]:
    """A PostgreSQL database of its own on ``url``'s server (dropped after), or ``None``."""
    if url is None:
        yield None
        return
    parsed = make_url(url).set(drivername="postgresql+psycopg")
    name = f"carnet_load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed(settings: Settings, patients: int) -> Seeded:
    """The demo population, ``patients`` more activated ones with a few documents each by the
    same pro, and the busy patient (the demo's Claire) brought to 20 documents."""
    rt = build_runtime(settings, migrate=True)
    result = load_demo(rt, extra_patients=patients * 2)  # some are minors: left out
    pro = RequestContext.for_pro(PRO.rpps, PRO.profession, PRO.specialty)
    personas = {x.ins for x in p.PATIENTS}
    born = {
        str(row["ins"]): str(row["birth_date"])
        for row in population_rows(patients * 2)
        if row["ins"] not in personas
    }
    many: list[str] = []
    many_documents: dict[str, list[str]] = {}
    tokens: dict[str, str] = {}
    mailboxes: dict[str, str] = {}
    key = load_or_create_instance_key(settings.resolved_instance_key_file)
    content = pdf("Compte rendu de consultation " * 20)
    adults = [x for x in result.letters.values() if born.get(x.ins, "9999") < "2000-01-01"]
    for n, letter in enumerate(adults):
        patient = activate_profile(
            rt,
            RequestContext.operator(),
            code=letter.code,
            birth_date=date.fromisoformat(born[letter.ins]),
            email=f"load{n}@example.org",
            password=DEMO_PASSWORD,
            emergency_samu=True,
        )
        list_documents(rt, pro, patient.id, declares_consent=True)
        docs = [
            upload_document(
                rt,
                pro,
                NewDocument(
                    "11488-4", f"Consultation {i}", "application/pdf", content, f"m{n}-{i}"
                ),
                patient_id=patient.id,
            ).id
            for i in range(MANY_DOCUMENTS)
        ]
        many.append(patient.id)
        many_documents[patient.id] = docs
        tokens[patient.id] = issue_patient_token(key, ins=letter.ins, ttl_seconds=3600)
        mailboxes[patient.id] = patient_address(letter.ins, settings.patient_mail_domain)
        if len(many) == patients:
            break
    with rt.transaction() as session:
        claire = patient_by_ins(session, p.CLAIRE.ins)
        assert claire is not None
        busy = claire.id
    _, existing = list_documents(rt, pro, busy)
    for i in range(BUSY_DOCUMENTS - len(existing)):
        upload_document(
            rt,
            pro,
            NewDocument("11488-4", f"Suivi {i}", "application/pdf", content, f"busy-{i}"),
            patient_id=busy,
        )
    _, rows = list_documents(rt, RequestContext.for_patient(busy), busy)  # those he may read
    tokens[busy] = issue_patient_token(key, ins=p.CLAIRE.ins, ttl_seconds=3600)
    mailboxes[busy] = patient_address(p.CLAIRE.ins, settings.patient_mail_domain)
    pro_token = issue_pro_token(
        key,
        rpps=PRO.rpps,
        profession=PRO.profession,
        specialty=PRO.specialty,
        level=AuthLevel.CPS,
        ttl_seconds=3600,
    )
    rt.uow.engine.dispose()
    return Seeded(
        busy, [r.id for r in rows], many, many_documents, pro_token, tokens, PRO.mailbox, mailboxes
    )


@contextmanager
def server(
    folder: Path, database: str | None, workers: int = 1
) -> Iterator[tuple[subprocess.Popen[bytes], str, int]]:
    """``carnet serve`` in a child process (``--workers``: its extra HTTP processes are its
    children), until it answers ``/healthz``; its URL and its SMTP door's port."""
    port, smtp = _port(), _port()
    env = dict(os.environ, CARNET_LOG_LEVEL="WARNING")
    command = [
        str(Path(sys.executable).parent / "carnet"),
        "serve",
        "--data-dir",
        str(folder),
        "--port",
        str(port),
        "--smtp-port",
        str(smtp),
        "--workers",
        str(workers),
    ]
    if database is not None:
        env["CARNET_DATABASE_URL"] = database
        command.append("--allow-owner")  # a throw-away database the bench owns
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)  # noqa: S603 - our own CLI
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if child.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.1)
        yield child, url, smtp
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
    return found


def cpu_seconds(pid: int) -> float:
    """``utime + stime`` of the server, all its threads, and of its live worker processes
    (``carnet serve --workers``), from ``/proc/<pid>/stat``."""
    total = 0
    for one in (pid, *_children(pid)):
        try:
            fields = _stat(one)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def settle(pid: int, quiet_ms_per_s: float = 50.0, at_most: float = 60.0) -> None:
    """Waits for start-up work to end — imports and app building in the extra workers (~5 s of
    CPU each), the log's first batch — before the idle rate is measured: measured too early, a
    starting worker read as a 1 s/s idle cost."""
    deadline = time.monotonic() + at_most
    time.sleep(2)
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(1)
        if (cpu_seconds(pid) - before) * 1e3 < quiet_ms_per_s:
            return


@dataclass(frozen=True)
class Answer:
    status_code: int
    headers: dict[str, str]


class Wire:
    """One simulated client: one kept-alive HTTP/1.1 connection, one request at a time, over
    asyncio's streams. httpx's pool cost this process 3–13 ms of CPU a request at 32–128
    connections — as much as the server's, on the same two cores — so at 128 clients the
    client, not the server, was measured; this costs some tens of microseconds. It reads what
    our server sends: a status line, headers, a body by ``Content-Length`` or chunks."""

    def __init__(self, host: str, port: int, smtp_port: int = 0) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.mail = MailWire(host, smtp_port)

    async def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return await self.request("GET", path, headers or {}, b"")

    async def post(self, path: str, headers: dict[str, str], json: object) -> Answer:
        body = json_dumps(json).encode()
        return await self.request(
            "POST", path, headers | {"Content-Type": "application/json"}, body
        )

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body)
        try:
            status = int((await self.reader.readline()).split()[1])
            answer = Answer(status, {})
            while (line := await self.reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                answer.headers[name.strip().lower()] = value.strip()
            if answer.headers.get("transfer-encoding") == "chunked":
                while size := int((await self.reader.readline()).split(b";")[0], 16):
                    await self.reader.readexactly(size + 2)
                await self.reader.readline()  # the empty line after the last chunk
            elif length := int(answer.headers.get("content-length", "0")):
                await self.reader.readexactly(length)
        except (OSError, IndexError, ValueError, asyncio.IncompleteReadError):
            self.close()
            raise ConnectionError("the answer was cut or malformed") from None
        if answer.headers.get("connection") == "close":
            self.close()
        return answer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None
        self.mail.close()


class MailWire:
    """The same client's SMTP connection to the door, opened at its first message and kept:
    ``MAIL FROM``, ``RCPT TO`` and ``DATA`` sent together (the door offers ``PIPELINING``),
    then the message. Its answer is the last reply's code (250 once the message is durable)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, sender: str, recipient: str, message: bytes) -> Answer:
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
                await self._reply()  # 220
                self.writer.write(b"EHLO load.medecin.mssante.fr\r\n")
                await self._reply()
            assert self.writer is not None
            self.writer.write(f"MAIL FROM:<{sender}>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode())
            for expected in (250, 250, 354):
                code = await self._reply()
                if code != expected:
                    self.close()  # the rest of the pipelined commands answered anyway
                    return Answer(code, {})
            self.writer.write(message + b"\r\n.\r\n")
            return Answer(await self._reply(), {})
        except (OSError, ValueError, asyncio.IncompleteReadError):
            self.close()
            raise ConnectionError("the SMTP reply was cut or malformed") from None

    async def _reply(self) -> int:
        """The code of one reply, read to its last line (``250 `` after ``250-`` lines)."""
        assert self.reader is not None
        while True:
            line = await self.reader.readline()
            if len(line) < 4:
                raise ConnectionError("the SMTP connection closed")
            if line[3:4] != b"-":
                return int(line[:3])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


LETTER = "Bonjour,\nVoici le compte rendu de votre consultation.\nDr Bernard\n" * 8


def mail_of(sender: str, recipient: str, rng: random.Random) -> bytes:
    message_id = f"load-{rng.getrandbits(64):x}@medecin.mssante.fr"
    return mail(sender, recipient, "Compte rendu", message_id, LETTER)


Call = Callable[[Wire, random.Random], Awaitable[Answer]]


def workloads(s: Seeded) -> dict[str, Call]:
    pro = {"Authorization": f"Bearer {s.pro_token}"}
    body = base64.b64encode(pdf("Résultat " * 40)).decode()

    def pro_h() -> dict[str, str]:
        return pro

    def patient_h(pid: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {s.patient_tokens[pid]}"}

    def anyone(rng: random.Random) -> tuple[str, list[str]]:
        if rng.random() < 1 / 3:
            return s.busy, s.busy_documents
        pid = rng.choice(s.many)
        return pid, s.many_documents[pid]

    async def healthz(c: Wire, rng: random.Random) -> Answer:
        return await c.get("/healthz")

    async def listing(c: Wire, rng: random.Random) -> Answer:
        return await c.get(f"/api/v1/pro/patients/{s.busy}/documents", headers=pro_h())

    def many_only(rng: random.Random) -> tuple[str, list[str]]:
        pid = rng.choice(s.many)
        return pid, s.many_documents[pid]

    async def mixed(c: Wire, rng: random.Random) -> Answer:
        return await mix(c, rng, anyone)

    async def spread(c: Wire, rng: random.Random) -> Answer:
        return await mix(c, rng, many_only)

    async def mix(
        c: Wire, rng: random.Random, pick: Callable[[random.Random], tuple[str, list[str]]]
    ) -> Answer:
        pid, docs = pick(rng)
        roll = rng.random()
        if roll < 0.30:
            return await c.get(f"/api/v1/pro/patients/{pid}/documents", headers=pro_h())
        if roll < 0.45:
            doc = rng.choice(docs)
            return await c.get(f"/api/v1/pro/patients/{pid}/documents/{doc}", headers=pro_h())
        if roll < 0.65:
            return await c.get(f"/api/v1/patients/{pid}/documents", headers=patient_h(pid))
        if roll < 0.78:
            return await c.get(f"/api/v1/patients/{pid}/history", headers=patient_h(pid))
        if roll < 0.92:
            doc = rng.choice(docs)
            return await c.get(
                f"/api/v1/patients/{pid}/documents/{doc}/content", headers=patient_h(pid)
            )
        if roll >= 0.96:  # a message from the pro's MSSanté server (MSG-1)
            to = s.mailboxes[pid]
            return await c.mail.send(s.mail_from, to, mail_of(s.mail_from, to, rng))
        target = rng.choice(s.many)  # uploads go to the many: the busy record stays at 20
        return await c.post(
            f"/api/v1/pro/patients/{target}/documents",
            headers=pro_h(),
            json={
                "type_code": "11502-2",
                "title": "Bilan",
                "mime_type": "application/pdf",
                "content_base64": body,
                "unique_id": uuid.uuid4().hex,
            },
        )

    return {"healthz": healthz, "listing": listing, "mixed": mixed, "spread": spread}


@dataclass
class Run:
    """One workload at one number of clients."""

    workload: str
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    missing_retry_after: int = 0
    #: The SMTP messages' own latencies (a 250), inside ``latencies``.
    mail_latencies: list[float] = field(default_factory=list)
    idle_cpu: float = 0.0  # the server's CPU seconds per second with no request at all

    @property
    def count(self) -> int:
        return len(self.latencies)

    def quantile(self, q: float) -> float:
        return quantile(self.latencies, q)

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.server_cpu / self.count * 1e3 if self.count else float("nan")

    @property
    def net_cpu_ms(self) -> float:
        """Less what the background workers burn anyway (measured idle before the runs)."""
        spent = self.server_cpu - self.idle_cpu * self.seconds
        return spent / self.count * 1e3 if self.count else float("nan")


async def drive(
    url: str,
    pid: int,
    name: str,
    call: Call,
    clients: int,
    seconds: float,
    *,
    smtp_port: int = 0,
    honour_retry_after: bool = True,
) -> Run:
    """``clients`` loops, each one request at a time on its own connection, for ``seconds``
    (after a short warm-up). A client told 503 with ``Retry-After`` waits that long before its
    next request, as the answer asks (``honour_retry_after=False``: it asks again at once, the
    worst case of a client that ignores it)."""
    address = urlsplit(url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    run = Run(name, clients, seconds)
    stop = 0.0
    measuring = False

    async def loop(n: int) -> None:
        rng = random.Random(n)
        wire = Wire(host, port, smtp_port)
        try:
            while True:
                began = time.perf_counter()
                if stop and began >= stop:
                    return
                try:
                    answer = await asyncio.wait_for(call(wire, rng), 60)
                    status = str(answer.status_code)
                    retry_after = answer.headers.get("retry-after")
                    if answer.status_code == 503 and retry_after is None:
                        run.missing_retry_after += 1
                except (ConnectionError, TimeoutError) as error:
                    wire.close()
                    status, retry_after = type(error).__name__, None
                if measuring and began < stop:
                    took = time.perf_counter() - began
                    run.latencies.append(took)
                    run.statuses[status] += 1
                    if status == "250":
                        run.mail_latencies.append(took)
                if honour_retry_after and status == "503" and retry_after:
                    await asyncio.sleep(float(retry_after))
        finally:
            wire.close()

    tasks = [asyncio.create_task(loop(n)) for n in range(clients)]
    await asyncio.sleep(min(1.0, seconds / 3))  # warm-up: connections, caches
    cpu0, mine0 = cpu_seconds(pid), _own_cpu()
    measuring, began = True, time.perf_counter()
    stop = began + seconds
    await asyncio.sleep(seconds)
    run.server_cpu, run.client_cpu = cpu_seconds(pid) - cpu0, _own_cpu() - mine0
    run.seconds = time.perf_counter() - began
    await asyncio.gather(*tasks)
    return run


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}"


def print_runs(runs: list[Run]) -> None:
    floor = {r.clients: r for r in runs if r.workload == "healthz"}
    header = (
        "clients",
        "workload",
        "req/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "p99/p50",
        "CPU ms/req",
        "net of idle",
        "client CPU ms/req",
        "x healthz CPU",
        "x healthz p50",
        "statuses",
    )
    rows = []
    for r in runs:
        h = floor.get(r.clients)
        rows.append(
            (
                str(r.clients),
                r.workload,
                f"{r.rate:.0f}",
                _ms(r.quantile(0.5)),
                _ms(r.quantile(0.99)),
                _ms(r.quantile(0.999)),
                f"{r.quantile(0.99) / r.quantile(0.5):.1f}",
                f"{r.cpu_ms:.2f}",
                f"{r.net_cpu_ms:.2f}",
                f"{r.client_cpu / r.count * 1e3:.2f}" if r.count else "-",
                f"{r.cpu_ms / h.cpu_ms:.1f}" if h and h.count else "-",
                f"{r.quantile(0.5) / h.quantile(0.5):.1f}" if h and h.count else "-",
                " ".join(f"{k}:{v}" for k, v in sorted(r.statuses.items())),
            )
        )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    print()
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def judge(runs: list[Run]) -> list[Result]:
    results: list[Result] = []
    floor = {r.clients: r for r in runs if r.workload == "healthz"}
    for r in runs:
        h = floor.get(r.clients)
        if r.workload == "listing" and r.clients == 1:
            results.append(
                Result(
                    "pro listing, 20 documents, CPU per request (1 client, net of idle)",
                    f"{r.net_cpu_ms:.2f} ms",
                    f"{h.net_cpu_ms:.2f} ms (healthz)" if h else "-",
                    f"{r.net_cpu_ms / h.net_cpu_ms:.1f}x" if h else "-",
                    f"<= {CPU_TARGET_MS} ms",
                    r.net_cpu_ms <= CPU_TARGET_MS,
                )
            )
        if r.workload != "healthz" and r.clients == 32:
            ratio = r.quantile(0.99) / r.quantile(0.5)
            results.append(
                Result(
                    f"{r.workload}, 32 clients, p99 / p50",
                    f"{_ms(r.quantile(0.99))} ms",
                    f"{_ms(r.quantile(0.5))} ms (p50)",
                    f"{ratio:.1f}x",
                    f"<= {TAIL_TARGET}x",
                    ratio <= TAIL_TARGET,
                )
            )
        if r.workload != "healthz" and r.clients == 128:
            others = {k: v for k, v in r.statuses.items() if k not in {"200", "201", "250", "503"}}
            ok = not others and not r.missing_retry_after and r.quantile(0.99) <= P99_AT_128_S
            results.append(
                Result(
                    f"{r.workload}, 128 clients",
                    f"p99 {_ms(r.quantile(0.99))} ms, 503: {r.statuses.get('503', 0)}",
                    f"other: {sum(others.values())}",
                    "-",
                    f"200/201/250 or 503+Retry-After, p99 <= {P99_AT_128_S:g} s",
                    ok,
                )
            )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--full", action="store_true", help="128 clients too")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--database", default=None, help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--dir", type=Path, default=None, help="where the temporary folder goes")
    parser.add_argument("--seconds", type=float, default=None, help="measured time per line")
    parser.add_argument(
        "--workloads", default="healthz,listing,mixed", help="comma-separated subset"
    )
    parser.add_argument("--clients", default=None, help="comma-separated, e.g. 1,32")
    parser.add_argument(
        "--workers", type=int, default=1, help="carnet serve --workers N (issue 18: 1 against 2)"
    )
    parser.add_argument(
        "--ignore-retry-after",
        action="store_true",
        help="clients told 503 ask again at once (default: they wait as Retry-After says)",
    )
    args = parser.parse_args()
    seconds = args.seconds or (SECONDS_QUICK if args.quick else SECONDS_FULL)
    patients = PATIENTS_QUICK if args.quick else PATIENTS_FULL
    levels: tuple[int, ...] = CLIENTS_FULL if args.full else CLIENTS
    if args.clients:
        levels = tuple(int(x) for x in args.clients.split(","))
    chosen = [w.strip() for w in args.workloads.split(",")]
    if "healthz" not in chosen:
        chosen.insert(0, "healthz")  # the floor every ratio needs
    with temporary_folder(args.dir) as folder, fresh_database(args.database) as database:
        settings = settings_in(folder).model_copy(update={"database_url": database})
        began = time.perf_counter()
        seeded = seed(settings, patients)
        print_header(
            "Load: one carnet serve process under 1…N clients in flight (loopback)",
            [
                ("server", f"carnet serve --workers {args.workers}"),
                (
                    "clients told 503",
                    "ask again at once" if args.ignore_retry_after else "wait as Retry-After says",
                ),
                ("database", "PostgreSQL" if database else "SQLite (WAL, synchronous=FULL)"),
                (
                    "patients",
                    f"{len(seeded.many)} with {MANY_DOCUMENTS} documents each, and a busy one "
                    f"with {len(seeded.busy_documents)} (seeded in {time.perf_counter() - began:.1f} s)",
                ),
                ("measured", f"{seconds:g} s per line after a warm-up; clients {levels}"),
            ],
        )
        calls = workloads(seeded)
        runs: list[Run] = []
        with server(folder, database, args.workers) as (child, url, smtp_port):
            settle(child.pid)
            idle0 = cpu_seconds(child.pid)
            time.sleep(IDLE_SECONDS)
            idle = (cpu_seconds(child.pid) - idle0) / IDLE_SECONDS
            print(
                f"  server CPU while idle (background workers): {idle * 1e3:.1f} ms/s "
                "(the 'net of idle' column subtracts it)",
                flush=True,
            )
            for clients in levels:
                for name in chosen:
                    run = asyncio.run(
                        drive(
                            url,
                            child.pid,
                            name,
                            calls[name],
                            clients,
                            seconds,
                            smtp_port=smtp_port,
                            honour_retry_after=not args.ignore_retry_after,
                        )
                    )
                    run.idle_cpu = idle
                    runs.append(run)
                    print(
                        f"  {clients:>3} clients {name:<8} {run.rate:7.0f} req/s  "
                        f"p50 {_ms(run.quantile(0.5))} ms  p99 {_ms(run.quantile(0.99))} ms  "
                        f"CPU {run.cpu_ms:.2f} ms/req ({run.net_cpu_ms:.2f} net of idle)",
                        flush=True,
                    )
                    if messages := run.mail_latencies:
                        print(
                            f"      of which {len(messages)} SMTP messages: "
                            f"p50 {_ms(quantile(messages, 0.5))} ms  "
                            f"p99 {_ms(quantile(messages, 0.99))} ms",
                            flush=True,
                        )
        print_runs(runs)
    print(f"  uptime: {Path('/proc/loadavg').read_text().strip()}")
    return finish(judge(runs), strict=args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
