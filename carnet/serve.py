"""``carnet serve``: HTTP, background workers (and SMTP, with messaging) in one asyncio process."""

from __future__ import annotations

import asyncio
import contextlib
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


async def serve(settings: Settings, *, host: str, port: int, smtp_port: int) -> None:
    configure_logging(settings.log_level)
    rt = await asyncio.to_thread(build_runtime, settings)
    refuse_privileged_login(rt)
    signer = await asyncio.to_thread(transparency.log_signer, settings)
    if settings.demo and await asyncio.to_thread(is_empty, rt):
        result = await asyncio.to_thread(load_demo, rt)
        print_guide(result, print, settings.public_url)
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
        await server.serve()
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


def run(settings: Settings, *, host: str, port: int, smtp_port: int) -> None:
    asyncio.run(serve(settings, host=host, port=port, smtp_port=smtp_port))
