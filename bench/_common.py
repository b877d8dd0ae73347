"""What the benchmarks share: their options, a throw-away instance, raw SQLite, the result table.

Not a benchmark itself (``make bench`` runs it as a no-op). Each script imports it from its own
folder, which Python puts first on ``sys.path`` when the script is run as a file.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing
import os
import pstats
import resource
import signal
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from sqlalchemy import make_url

from carnet import clock
from carnet.auth.instance import issue_patient_token, load_or_create_instance_key
from carnet.identity.models import Pro
from carnet.ids import new_id
from carnet.population import login
from carnet.population.models import Patient
from carnet.population.rules import ProfileState
from carnet.runtime import Runtime, build_runtime
from carnet.settings import Settings

if TYPE_CHECKING:
    import psycopg
    from starlette.types import ASGIApp


@dataclass(frozen=True)
class Result:
    """One line of the table. ``ours`` and ``baseline`` are already formatted with their unit;
    ``passed`` is ``None`` for a line printed for information (no target set for it yet)."""

    what: str
    ours: str
    baseline: str
    ratio: str
    target: str
    passed: bool | None


def options(
    description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small smoke run (CI, < 20 s)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--profile", action="store_true", help="then profile our side and print the top entries"
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="where to make the temporary folder (default: the system's); use a real disk, "
        "since fsync on tmpfs costs nothing",
    )
    parser.add_argument(
        "--database",
        default=None,
        metavar="URL",
        help="a PostgreSQL (or Citus coordinator) server, e.g. postgresql://postgres@127.0.0.1:5432/"
        "postgres: the bench makes its own database there, with its baseline on the same server, "
        "and drops it (default: SQLite in the temporary folder)",
    )
    parser.add_argument(
        "--citus-workers",
        type=int,
        default=None,
        metavar="N",
        help="on a Citus cluster, the bench's database on its first N workers only",
    )
    if extra is not None:
        extra(parser)
    return parser.parse_args()


@contextmanager
def database_on(server: str | None, citus_workers: int | None = None) -> Iterator[str | None]:
    """A fresh database on ``server`` (every node of a Citus cluster, or its first
    ``citus_workers``), its URL; dropped after. ``None`` when no server is given (the embedded
    SQLite)."""
    if server is None:
        yield None
        return
    from sqlalchemy import make_url

    from carnet.db.citus import create_database, drop_database

    name = f"carnet_bench_{os.urandom(4).hex()}"
    create_database(server, name, worker_count=citus_workers)
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        drop_database(server, name)


@contextmanager
def interrupted_by_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP raise ``KeyboardInterrupt`` meanwhile, as Ctrl-C does: a bench killed
    or left by its terminal still runs its ``finally`` blocks, so ``database_on`` drops the
    database it made (gigabytes, for ``scale.py --full``) instead of leaving it on the server."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextmanager
def temporary_folder(parent: Path | None) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="carnet-bench-", dir=parent) as name:
        yield Path(name)


def settings_in(folder: Path, database_url: str | None = None) -> Settings:
    """Embedded defaults (SQLite file, or ``database_url``; file blobs, key file) under
    ``folder``, whatever the environment says."""
    return Settings(
        data_dir=folder,
        database_url=database_url,
        blob_url=None,
        s3_endpoint_url=None,
        master_key_file=None,
        instance_key_file=None,
    )


def runtime_in(folder: Path, *, migrate: bool = True, database_url: str | None = None) -> Runtime:
    """An instance in ``folder`` (its database ``database_url`` if given), freshly migrated
    unless told it already is."""
    return build_runtime(settings_in(folder, database_url), migrate=migrate)


def bare_url(url: str) -> str:
    """``url`` as psycopg takes it: a baseline talks to the server without SQLAlchemy, whose
    driver suffix (``postgresql+psycopg``) psycopg does not know."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def connect_pg(url: str, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    """A bare psycopg connection to the database ``url`` names (a baseline's)."""
    import psycopg

    return psycopg.connect(bare_url(url), autocommit=autocommit)


def database_label(url: str | None) -> str:
    """What the header says of the database (no password)."""
    return "SQLite (embedded)" if url is None else make_url(url).render_as_string(True)


def database_file(folder: Path) -> Path:
    return folder / "carnet.db"


def connect_raw(path: Path) -> sqlite3.Connection:
    """A bare sqlite3 connection with the settings of carnet's engine (WAL, synchronous=FULL),
    in autocommit: the caller writes ``BEGIN IMMEDIATE`` and ``COMMIT`` as carnet does."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA busy_timeout=30000")
    return connection


def sql_datetime(value: datetime) -> str:
    """How SQLAlchemy's SQLite dialect stores a datetime (``UtcDateTime`` columns)."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def sql_date(value: date) -> str:
    return value.isoformat()


def mail(sender: str, recipient: str, subject: str, message_id: str, body: str) -> bytes:
    """A plain-text letter from Dr Bernard's software as it reaches the SMTP door: CRLF lines,
    UTF-8, nothing to dot-stuff (``body`` written with ``\\n``)."""
    return (
        f"From: Dr Louis Bernard <{sender}>\r\nTo: <{recipient}>\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{message_id}>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n" + body.replace("\n", "\r\n")
    ).encode()


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def timed(action: Callable[[], object], times: int = 1) -> list[float]:
    """Seconds of each of ``times`` calls."""
    seconds = []
    for _ in range(times):
        began = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - began)
    return seconds


def alternate(
    sides: Sequence[Callable[[], object]], times: int, *, rounds: int, warm_up: int
) -> list[list[float]]:
    """Seconds of each call of each side: ``warm_up`` untimed calls each, then ``times`` calls
    each in ``rounds`` turns, so that a slow spell of a shared disk or CPU hits every side."""
    for side in sides:
        timed(side, warm_up)
    seconds: list[list[float]] = [[] for _ in sides]
    for turn in range(rounds):
        share = times // rounds + (turn < times % rounds)
        for side, taken in zip(sides, seconds, strict=True):
            taken += timed(side, share)
    return seconds


@contextmanager
def serving(app: ASGIApp, start_seconds: float = 10) -> Iterator[str]:
    """``app`` on a real loopback socket (uvicorn in a thread, a port of the system's choice),
    as a client would meet it; its base URL. Stopped after. The process's objects are then
    settled out of the garbage collector's passes, as ``carnet serve`` settles its own once
    built (``interpreter.settle``): without it a full pass over the bench's whole process
    stopped the server every second or so."""
    import uvicorn

    from carnet import interpreter

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_seconds
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    interpreter.settle()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def activated_patient(
    ins: str,
    *,
    email: str | None = "claire@example.org",
    birth_names: str = "MARTIN",
    first_names: str = "Claire",
    birth_date: date = date(1985, 1, 1),
) -> Patient:
    """An adult's activated profile, written through the ORM so that its look-ups
    (``patient_ins``) follow: the benches act as this patient or upload into his record."""
    now = clock.now()
    return Patient(
        id=new_id(),
        ins=ins,
        ins_status="VALI",
        birth_names=birth_names,
        first_names=first_names,
        used_name=None,
        sex="F",
        birth_date=birth_date,
        birth_place="75056",
        email=email,
        phone=None,
        state=ProfileState.ACTIVATED.value,
        password_hash=None,
        created_at=now,
        updated_at=now,
        activated_at=now,
        closed_at=None,
        opposed_at=None,
    )


def a_pro(rpps: str, profession: str = "10", specialty: str | None = "SM26") -> Pro:
    """A pro in the directory (a médecin unless told), the author or reader of the bench."""
    return Pro(
        rpps=rpps,
        last_name="Bernard",
        first_name="Louis",
        civility="Dr",
        profession=profession,
        specialty=specialty,
        samu_regulator=False,
        updated_at=clock.now(),
    )


@dataclass(frozen=True)
class Run:
    """One measured side of a bulk import, as its child process saw it."""

    rows: int
    batch: int
    seconds: float
    cpu_seconds: float
    start_rss_mb: float
    peak_rss_mb: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _child(side: Callable[..., Run], args: tuple[Any, ...], sender: Any) -> None:
    sender.send(side(*args))


def in_child(side: Callable[..., Run], *args: Any) -> Run:
    """``side(*args)`` in a child process (forked where the system can, so it pays no start-up):
    its peak RSS is its own, and starts from the same RSS as the other side's."""
    forks = "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork") if forks else multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(side, args, sender))
    child.start()
    sender.close()
    try:
        result: Run | None = receiver.recv()
    except EOFError:
        result = None
    child.join()
    if result is None or child.exitcode != 0:
        raise SystemExit(f"the {side.__name__} child failed (exit code {child.exitcode})")
    return result


def fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def print_profile(run: Callable[[], object], title: str, top: int = 25) -> None:
    """Run ``run`` under cProfile; print its top entries by cumulative, then by own time."""
    profiler = cProfile.Profile()
    profiler.runcall(run)
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(top)
        print(f"\n--- profile of {title}, by {order} ---")
        print(out.getvalue().split("\n\n", 1)[-1].rstrip())


def print_header(title: str, facts: Sequence[tuple[str, object]]) -> None:
    print(title)
    for name, value in facts:
        print(f"  {name}: {value}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"  python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs, load average {load:.1f} (other work skews both sides)"
    )


def finish(results: Sequence[Result], *, strict: bool) -> int:
    """Print the table; the exit code is 1 only with ``--strict`` and a missed target."""
    header = ("what", "ours", "baseline", "ratio", "target", "result")
    verdicts = {True: "PASS", False: "FAIL", None: "-"}
    lines = [(r.what, r.ours, r.baseline, r.ratio, r.target, verdicts[r.passed]) for r in results]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    print()
    for row in [header, tuple("-" * w for w in widths), *lines]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    failed = any(r.passed is False for r in results)
    return 1 if strict and failed else 0


if __name__ == "__main__":
    print("bench/_common.py is shared code; run one of the other scripts.")


def patient_headers(rt: Runtime, ins: str) -> tuple[dict[str, str], dict[str, str]]:
    """The patient's headers on the two doors a page bench compares: the web session's cookie
    (the demo's one-click log-in) and a bearer token for the JSON API."""
    demo = rt.settings.model_copy(update={"demo": True})
    cookie = login.demo_login(rt.uow, demo, ins).token
    key = load_or_create_instance_key(rt.settings.resolved_instance_key_file)
    bearer = issue_patient_token(key, ins=ins, ttl_seconds=3600)
    return {"Cookie": f"carnet_session={cookie}"}, {"Authorization": f"Bearer {bearer}"}
