"""``carnet serve``: HTTP, background workers (and SMTP, with messaging) in one asyncio process —
and, with ``--workers N``, N-1 more processes answering HTTP on the same listening socket, so that
one server uses its cores (the kernel spreads the connections between the processes).

The first process keeps everything that must run once: migrations, the demo load, SMTP, the
outbox, the transparency log, the daily jobs and the export builder. The others only answer
HTTP; what they share goes through the database (web sessions, rate limits of record), and what
is per process is said where it lives (metrics counters, caches)."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import socket
from collections.abc import Callable, Coroutine
from datetime import timedelta
from multiprocessing.process import BaseProcess
from typing import Any

import anyio.to_thread
import uvicorn

from carnet import clock, interpreter
from carnet.audit.signer import FileSigner
from carnet.db.roles import privileged_login
from carnet.demo.guide import print_guide
from carnet.demo.load import is_empty, load_demo
from carnet.http.app import create_app
from carnet.lifecycle.export import resume_exports
from carnet.lifecycle.jobs import done_today, run_jobs
from carnet.logs import configure_logging, get_logger
from carnet.messaging.delivery import run_worker as outgoing_mail_worker
from carnet.notify.service import deliver_pending, smtp_mailer
from carnet.relay.client import RelayConfig
from carnet.runtime import Runtime, build_runtime
from carnet.settings import Settings
from carnet.smtp.server import start_smtp
from carnet.transparency import service as transparency

log = get_logger(__name__)

#: uvicorn's HTTP/1.1 parser in C (httptools) rather than its pure-Python one (h11): about
#: 0.2 ms of CPU less per request (issue 19). The door tests' server uses the same.
HTTP_PROTOCOL = "httptools"

#: The event loop: libuv's (uvloop) where it is installed, as uvicorn itself would choose it
#: when it runs the loop — here we run it, for SMTP and the workers too. Its sockets, timers
#: and the wake-ups of the request threads' answers cost less CPU than asyncio's own loop
#: (issue 19: ~0.05 ms a request). aiosmtpd's STARTTLS runs on it (tests/cli/test_serve_loop.py);
#: outgoing mail uses smtplib in worker threads, whatever the loop.
try:
    import uvloop

    LOOP_FACTORY: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
except ImportError:  # pragma: no cover - Windows, where uvloop is not installed
    LOOP_FACTORY = asyncio.new_event_loop

#: Threads beyond the database's active and waiting requests: requests that need no database,
#: and the background workers' own ``to_thread`` calls.
THREADS_BESIDES = 16


async def outbox_worker(rt: Runtime, every_seconds: float = 2.0) -> None:
    """Delivers notifications after their acts committed; retries with back-off (notify.rules)."""
    settings = rt.settings
    mailer = smtp_mailer(settings) if settings.smtp_relay else None
    give_up_after = timedelta(hours=settings.smtp_give_up_hours)
    while True:
        try:
            await asyncio.to_thread(
                deliver_pending,
                rt.uow,
                mailer,
                settings.mail_from,
                give_up_after=give_up_after,
                metrics=rt.metrics,
            )
        except Exception:
            log.exception("outbox_worker_failed")
        await asyncio.sleep(every_seconds)


async def log_worker(rt: Runtime, signer: FileSigner) -> None:
    """The transparency log's job (TR-3): sequences new traces and signs a head, in batches, so
    that no request waits on the log; each new head goes to the witness file."""
    while True:
        try:
            await asyncio.to_thread(transparency.advance, rt, signer)
        except Exception:
            log.exception("log_worker_failed")
        await asyncio.sleep(rt.settings.log_interval_seconds)


async def jobs_worker(rt: Runtime, every_seconds: float = 300.0) -> None:
    """The daily jobs (LC-3, LC-5, LC-7, DOC-3, LC-6), once a day from ``CARNET_JOBS_HOUR``
    (UTC): a day whose run did not finish (a crash, a stop) is run again — each job is
    idempotent."""
    while True:
        try:
            now = clock.now()
            if now.hour >= rt.settings.jobs_hour and not await asyncio.to_thread(
                done_today, rt, now.date()
            ):
                await asyncio.to_thread(run_jobs, rt, now.date())
        except Exception:
            log.exception("jobs_worker_failed")
        await asyncio.sleep(every_seconds)


async def export_worker(rt: Runtime) -> None:
    """LC-6: exports waiting for a builder — those a killed builder left, once its lease ran
    out — are built (a new request starts its own at once)."""
    while True:
        try:
            await asyncio.to_thread(resume_exports, rt)
        except Exception:
            log.exception("export_worker_failed")
        await asyncio.sleep(max(1.0, rt.settings.export_lease_seconds / 2))


class PrivilegedLogin(SystemExit):
    """``carnet serve`` connected as a database owner or superuser, without ``--allow-owner``."""


def refuse_privileged_login(rt: Runtime) -> None:
    """TR-3: a server that may alter the trace tables could also silence their defences."""
    reason = privileged_login(rt.uow.engine)
    if reason and not rt.settings.allow_owner:
        raise PrivilegedLogin(
            f"Refus de servir connecté en {'superutilisateur' if reason == 'superuser' else 'propriétaire'}"
            " de la base : connectez-vous avec un utilisateur du rôle applicatif (carnet db roles"
            " --app-login NOM), ou --allow-owner pour un essai. / Refusing to serve as the"
            f" database's {reason}: log in as a member of the application role (carnet db roles"
            " --app-login NAME), or pass --allow-owner for a trial."
        )


async def serve(
    settings: Settings, *, host: str, port: int, smtp_port: int, workers: int = 1
) -> None:
    configure_logging(settings.log_level)
    settings = shared_among(settings, workers)
    rt = await asyncio.to_thread(build_runtime, settings)
    refuse_privileged_login(rt)
    signer = await asyncio.to_thread(transparency.log_signer, settings)
    if settings.demo and await asyncio.to_thread(is_empty, rt):
        result = await asyncio.to_thread(load_demo, rt)
        print_guide(result, print, settings.public_url)
    config = uvicorn.Config(
        create_app(rt),
        host=host,
        port=port,
        http=HTTP_PROTOCOL,
        log_config=None,
        access_log=False,
    )
    size_thread_pool(settings)
    listening = listening_socket(host, port, share_port=workers > 1)
    bound = listening.getsockname()[1]
    others = [_start_http_worker(settings, host, bound) for _ in range(workers - 1)]
    server = uvicorn.Server(config)
    _log_relay(settings)
    worker = asyncio.create_task(outbox_worker(rt))
    mail_worker = asyncio.create_task(outgoing_mail_worker(rt))
    transparency_worker = asyncio.create_task(log_worker(rt, signer))
    daily = asyncio.create_task(jobs_worker(rt))
    exports = asyncio.create_task(export_worker(rt))
    smtp = await start_smtp(rt, host, smtp_port)
    lines = [
        f"Carnet écoute sur / listening on http://{host}:{bound}/  (santé : /healthz, API : /docs)",
        f"SMTP (MSSanté) : {host}:{smtp.port}",
    ]
    if workers > 1:
        lines.append(f"Processus HTTP / HTTP processes: {workers}")
    print("\n".join(lines), flush=True)
    interpreter.settle()  # issue 19: the server's own objects out of the collector's passes
    try:
        await server.serve(sockets=[listening])
    finally:
        _stop(others)
        await smtp.stop()
        for task in (worker, mail_worker, transparency_worker, daily, exports):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def shared_among(settings: Settings, processes: int) -> Settings:
    """The database's budget, ``CARNET_DB_MAX_ACTIVE`` transactions at once and
    ``CARNET_DB_MAX_WAITING`` requests waiting, is the server's: with ``--workers N`` each
    process takes its share, rounded up (issue 18). Each process keeps its own queue; counted
    per process, two processes ran twice the transactions the operator allowed, on the same
    cores: no more requests served a second, and a longer tail (bench/README.md)."""
    if processes <= 1:
        return settings
    return settings.model_copy(
        update={
            "db_max_active": -(-settings.db_max_active // processes),
            "db_max_waiting": -(-settings.db_max_waiting // processes),
        }
    )


def listening_socket(host: str, port: int, *, share_port: bool = False) -> socket.socket:
    """The HTTP door's socket, bound as uvicorn's ``Config.bind_socket`` binds it, but made as
    TCP by name (``IPPROTO_TCP``): asyncio turns Nagle's algorithm off (``TCP_NODELAY``) only
    on connections whose socket says it is TCP, and uvicorn's leaves the protocol at 0. With
    Nagle on, an answer written in two parts (headers, then body) waited for the client's
    delayed acknowledgement: about 40 ms on every request but the first of a kept-alive
    connection (issue 19).

    ``share_port`` (``--workers`` above 1): each HTTP process binds a socket of its own to the
    port (``SO_REUSEPORT``) and the kernel spreads new connections over them. On one shared
    socket, whichever process woke first took the connection, and kept-alive clients stayed
    wherever they had landed: two processes often served as one (issue 18)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if share_port:
            listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listening.bind((host, port))
    except OSError as error:
        listening.close()
        raise SystemExit(f"cannot listen on {host}:{port}: {error.strerror}") from None
    return listening


def size_thread_pool(settings: Settings) -> None:
    """Enough worker threads for every request the database may run or queue (issue 19).

    Sync routes run in AnyIO's pool (40 threads by default). With fewer threads than the
    database's queue allows, requests would wait for a thread instead — in a queue with no
    bound and no 503 — and ``CARNET_DB_MAX_WAITING`` would never be reached. Threads waiting
    for their turn sleep on an event: they cost memory, not CPU."""
    wanted = settings.db_max_active + settings.db_max_waiting + THREADS_BESIDES
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = max(limiter.total_tokens, wanted)


def _log_relay(settings: Settings) -> None:
    """Where mail leaves, and how it is protected, once at start (the operator's first check)."""
    relay = RelayConfig.from_settings(settings)
    if relay is None:
        log.warning("mail_relay_not_configured")
        return
    log.info(
        "mail_relay",
        host=relay.host,
        port=relay.port,
        tls=relay.tls.value,
        ca_file=str(relay.ca_file) if relay.ca_file else "system",
        authenticated=relay.username is not None,
        ehlo=relay.helo_name,
    )


def _start_http_worker(settings: Settings, host: str, port: int) -> BaseProcess:
    """A process that answers HTTP only, on the first process's port. Spawned, not forked: a
    fork would copy the first process's database connections and threads."""
    process = multiprocessing.get_context("spawn").Process(
        target=_http_worker, args=(settings, host, port), name="carnet-http", daemon=True
    )
    process.start()
    return process


def _http_worker(settings: Settings, host: str, port: int) -> None:
    """The body of an extra HTTP process: its own socket on the shared port, its own runtime
    (the first process migrated already), the same application, no SMTP and no background job."""
    configure_logging(settings.log_level)
    listening = listening_socket(host, port, share_port=True)
    rt = build_runtime(settings, migrate=False)
    config = uvicorn.Config(create_app(rt), http=HTTP_PROTOCOL, log_config=None, access_log=False)
    server = uvicorn.Server(config)

    async def serve_while_parent_lives() -> None:
        size_thread_pool(settings)
        watch = asyncio.create_task(_end_with_parent(server, os.getppid()))
        interpreter.settle()
        try:
            await server.serve(sockets=[listening])
        finally:
            watch.cancel()

    run_loop(serve_while_parent_lives())


async def _end_with_parent(server: uvicorn.Server, parent: int) -> None:
    """An extra process ends (after its requests under way) when the first one is gone, however
    it went — a SIGKILL runs no handler of the first process's, so the child watches."""
    while os.getppid() == parent:
        await asyncio.sleep(0.5)
    server.should_exit = True


def _stop(processes: list[BaseProcess], grace_seconds: float = 10.0) -> None:
    """Stops the extra HTTP processes: SIGTERM lets uvicorn finish the requests under way."""
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(grace_seconds)
        if process.is_alive():
            process.kill()


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """``asyncio.run`` on ``LOOP_FACTORY``'s loop."""
    with asyncio.Runner(loop_factory=LOOP_FACTORY) as runner:
        runner.run(main)


def run(settings: Settings, *, host: str, port: int, smtp_port: int, workers: int = 1) -> None:
    run_loop(serve(settings, host=host, port=port, smtp_port=smtp_port, workers=workers))
