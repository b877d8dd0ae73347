"""``carnet serve``: HTTP, background workers (and SMTP, with messaging) in one asyncio process;
with ``--workers N``, N-1 more processes answer HTTP on the same socket (issue 18)."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import socket
import threading
import time
from datetime import timedelta

import uvicorn

from carnet import clock
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
    settings: Settings,
    *,
    host: str,
    port: int,
    smtp_port: int,
    sock: socket.socket | None = None,
) -> None:
    configure_logging(settings.log_level)
    rt = await asyncio.to_thread(build_runtime, settings)
    refuse_privileged_login(rt)
    signer = await asyncio.to_thread(transparency.log_signer, settings)
    if settings.demo and await asyncio.to_thread(is_empty, rt):
        result = await asyncio.to_thread(load_demo, rt)
        print_guide(result, print)
    app = create_app(rt)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
    )
    _log_relay(settings)
    worker = asyncio.create_task(outbox_worker(rt))
    mail_worker = asyncio.create_task(outgoing_mail_worker(rt))
    transparency_worker = asyncio.create_task(log_worker(rt, signer))
    daily = asyncio.create_task(jobs_worker(rt))
    exports = asyncio.create_task(export_worker(rt))
    smtp = await start_smtp(rt, host, smtp_port)
    print(
        f"Carnet écoute sur / listening on http://{host}:{port}/  (santé : /healthz, API : /docs)",
        f"\nSMTP (MSSanté) : {host}:{smtp.port}",
        flush=True,
    )
    try:
        await server.serve(sockets=[sock] if sock is not None else None)
    finally:
        await smtp.stop()
        for task in (worker, mail_worker, transparency_worker, daily, exports):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


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


async def serve_http(settings: Settings, sock: socket.socket) -> None:
    """An HTTP-only worker of ``--workers N``: the same application on the shared socket; the
    SMTP door, the outboxes, the log and the daily jobs run in the first process only."""
    configure_logging(settings.log_level)
    rt = await asyncio.to_thread(build_runtime, settings, migrate=False)
    refuse_privileged_login(rt)
    server = uvicorn.Server(uvicorn.Config(create_app(rt), log_config=None, access_log=False))
    await server.serve(sockets=[sock])


def _http_worker(settings: Settings, sock: socket.socket, first: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the first process stops the others
    threading.Thread(target=_follow, args=(first,), daemon=True).start()
    asyncio.run(serve_http(settings, sock))


def _follow(first: int) -> None:
    """Stop (gracefully) once the first process is gone: uvicorn ends it by the signal it
    received, so it may not live to stop the others itself."""
    while os.getppid() == first:
        time.sleep(1)
    os.kill(os.getpid(), signal.SIGTERM)


def run(settings: Settings, *, host: str, port: int, smtp_port: int, workers: int = 1) -> None:
    """One process (``workers`` = 1), or ``workers`` processes sharing one listening socket: the
    kernel hands each connection to one of them, so a server uses its cores. The first process
    migrates before the others start, and stops them when it stops."""
    if workers <= 1:
        asyncio.run(serve(settings, host=host, port=port, smtp_port=smtp_port))
        return
    configure_logging(settings.log_level)
    build_runtime(settings).uow.engine.dispose()  # migrated once, before anyone serves
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    context = multiprocessing.get_context("fork")
    others = [
        context.Process(target=_http_worker, args=(settings, sock, os.getpid()), daemon=True)
        for _ in range(workers - 1)
    ]
    for process in others:
        process.start()
    log.info("http_workers", processes=workers, first=os.getpid())
    try:
        asyncio.run(serve(settings, host=host, port=port, smtp_port=smtp_port, sock=sock))
    finally:
        for process in others:
            process.terminate()
        for process in others:
            process.join(timeout=10)
        sock.close()
