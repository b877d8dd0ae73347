"""The operator's commands about the profile's life: the daily jobs, reopening, new activation
codes, the patients' requests, checking a deletion certificate."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import typer

from carnet import clock
from carnet.lifecycle import certificate, requests, service
from carnet.lifecycle.jobs import run_jobs
from carnet.population.service import Letter
from carnet.runtime import build_runtime
from carnet.settings import Settings


def run_jobs_command(settings: Settings, today: date | None) -> None:
    """``--today`` moves the clock to that day (a run for a day missed, or a rehearsal)."""
    if today is not None:
        clock.set_clock(clock.FixedClock(datetime.combine(today, datetime.min.time(), UTC)))
    rt = build_runtime(settings)
    summary = run_jobs(rt, clock.today())
    for name, count in summary.items():
        typer.echo(f"{name} : {count}")
    from carnet.notify.service import deliver_pending, smtp_mailer
    from carnet.transparency.service import advance

    mailer = smtp_mailer(settings) if settings.smtp_relay else None
    delivered = deliver_pending(
        rt.uow,
        mailer,
        settings.mail_from,
        give_up_after=timedelta(hours=settings.smtp_give_up_hours),
        metrics=rt.metrics,
    )
    typer.echo(f"{delivered} notifications livrées.")
    head = advance(rt)
    typer.echo(f"Journal : tête de taille {head.tree_size} signée." if head else "Journal à jour.")


def _print_letter(settings: Settings, letter: Letter) -> None:
    typer.echo(
        f"Code d'activation / activation code: {letter.code} (jusqu'au / until "
        f"{letter.expires.isoformat()}). Courrier / letter: {settings.data_dir / 'letters'}"
    )


def run_reopen(settings: Settings, ins: str) -> None:
    rt = build_runtime(settings)
    letter = service.reopen_profile(rt, ins)
    typer.echo("Profil rouvert / profile reopened.")
    _print_letter(settings, letter)


def run_reissue(settings: Settings, ins: str) -> None:
    rt = build_runtime(settings)
    _print_letter(settings, service.reissue_code(rt, ins))


def run_requests(settings: Settings, *, include_done: bool, done: str | None) -> None:
    rt = build_runtime(settings)
    if done:
        requests.mark_done(rt, done)
        typer.echo("Demande traitée / request done.")
        return
    lines = requests.list_requests(rt, include_done=include_done)
    if not lines:
        typer.echo("Aucune demande en attente / no pending request.")
    for r in lines:
        state = f"traitée {r.done_at:%Y-%m-%d}" if r.done_at else "en attente"
        typer.echo(
            f"{r.id}  {r.created_at:%Y-%m-%d %H:%M}  {r.kind:<16} {r.ins}  "
            f"{r.first_names} {r.birth_names}  [{state}]"
        )
        if r.text:
            typer.echo(f"    {r.text}")


def run_verify_certificate(settings: Settings, file: Path, key: Path | None) -> None:
    from carnet.audit.signer import SignerKeyError, public_key_of, read_public_key

    try:
        public = read_public_key(key) if key else public_key_of(settings.resolved_log_key_file)
        found = certificate.loads(file.read_text(encoding="utf-8"))
    except (SignerKeyError, ValueError) as error:
        typer.echo(f"Erreur / error: {error}", err=True)
        raise typer.Exit(2) from None
    problem = certificate.check(found, public)
    if problem:
        typer.echo(f"Certificat invalide / invalid certificate: {problem}", err=True)
        raise typer.Exit(1)
    body = found["certificate"]
    typer.echo(
        f"Certificat valide / valid certificate: {body.get('id')}, "
        f"détruit le / destroyed at {body.get('destroyed_at')}."
    )
