"""The operator's command line (INTERFACES.md)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from carnet.settings import Settings, describe_settings

app = typer.Typer(
    help="Carnet : dossier médical partagé et messagerie sécurisée de santé.", no_args_is_help=True
)
db_app = typer.Typer(help="Base de données / database.", no_args_is_help=True)
population_app = typer.Typer(
    help="Registre de population / population register.", no_args_is_help=True
)
directory_app = typer.Typer(help="Annuaire des professionnels / directory.", no_args_is_help=True)
token_app = typer.Typer(help="Jetons d'accès / access tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(population_app, name="population")
app.add_typer(directory_app, name="directory")
app.add_typer(token_app, name="token")
mail_app = typer.Typer(help="Courriel sortant / outgoing mail.", no_args_is_help=True)
app.add_typer(mail_app, name="mail")
matrix_app = typer.Typer(help="Matrice d'habilitation / habilitation matrix.", no_args_is_help=True)
app.add_typer(matrix_app, name="matrix")
care_app = typer.Typer(
    help="Soins remboursés et vaccinations / reimbursed care and vaccinations.",
    no_args_is_help=True,
)
app.add_typer(care_app, name="care")

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Dossier des données (défaut ./var).")
]


def _settings(data_dir: Path | None = None, **overrides: object) -> Settings:
    settings = Settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    if overrides:
        settings = settings.model_copy(update=overrides)
    return settings


def _fail(refusal: Exception) -> None:
    from carnet.errors import Refusal

    if isinstance(refusal, Refusal):
        typer.echo(f"Erreur : {refusal.fr}\nError: {refusal.en}", err=True)
        raise typer.Exit(2)
    raise refusal


@app.command(epilog="Variables d'environnement / environment:\n\n" + describe_settings())
def serve(
    host: Annotated[str, typer.Option(help="Adresse d'écoute.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port HTTP.")] = 8000,
    smtp_port: Annotated[int, typer.Option(help="Port SMTP (MSSanté).")] = 2525,
    data_dir: DataDir = None,
    demo: Annotated[
        bool, typer.Option(help="Charge la population de démonstration si la base est vide.")
    ] = False,
    allow_owner: Annotated[
        bool,
        typer.Option(
            help="Accepte de servir connecté en propriétaire de la base ou superutilisateur."
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Processus HTTP (le premier porte aussi SMTP et les tâches de fond) /"
            " HTTP processes (the first also runs SMTP and the background jobs).",
        ),
    ] = 1,
) -> None:
    """HTTP (web, API JSON, FHIR), SMTP et tâches de fond ; --workers N pour N processus HTTP."""
    from carnet.auth.provider import OidcConfigError
    from carnet.auth.verify import check_oidc_settings
    from carnet.serve import run

    overrides: dict[str, object] = {"demo": demo}
    if allow_owner:
        overrides["allow_owner"] = True
    settings = _settings(data_dir, **overrides)
    try:
        check_oidc_settings(settings)
    except OidcConfigError as error:
        typer.echo(f"OpenID Connect : configuration refusée / refused: {error}", err=True)
        raise typer.Exit(2) from None
    run(settings, host=host, port=port, smtp_port=smtp_port, workers=workers)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Applique les migrations / applies migrations."""
    from carnet.runtime import build_runtime

    build_runtime(_settings(data_dir))
    typer.echo("Base à jour / database up to date.")


@app.command()
def demo(
    patients: Annotated[int, typer.Option(help="Patients synthétiques en plus des personas.")] = 20,
    data_dir: DataDir = None,
) -> None:
    """Charge la population de démonstration / loads the demo population."""
    from carnet.demo.guide import print_guide
    from carnet.demo.load import is_empty, load_demo
    from carnet.runtime import build_runtime

    rt = build_runtime(_settings(data_dir))
    if not is_empty(rt):
        typer.echo(
            "La base n'est pas vide : démo déjà chargée ? / The store is not empty.", err=True
        )
        raise typer.Exit(1)
    result = load_demo(rt, patients)
    print_guide(result, typer.echo, rt.settings.public_url)


@population_app.command("import")
def population_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV de l'opérateur.")],
    letters: Annotated[
        Path | None, typer.Option(help="Où écrire les codes d'activation (CSV, 0600).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Crée, met à jour ou marque opposés les profils, de façon idempotente."""
    from carnet.cli.population import run_import

    try:
        run_import(_settings(data_dir), file, letters)
    except Exception as error:
        _fail(error)


@care_app.command("import")
def care_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV de l'opérateur.")],
    data_dir: DataDir = None,
) -> None:
    """Verse l'historique des soins remboursés et les vaccinations, de façon idempotente."""
    from carnet.cli.care import run_care_import

    try:
        run_care_import(_settings(data_dir), file)
    except Exception as error:
        _fail(error)


@directory_app.command("import")
def directory_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Extraction de l'Annuaire Santé.")
    ],
    data_dir: DataDir = None,
) -> None:
    """Charge les professionnels, structures et BAL MSSanté."""
    from carnet.context import RequestContext
    from carnet.identity.directory import import_directory, read_directory
    from carnet.runtime import build_runtime

    rt = build_runtime(_settings(data_dir))
    with file.open(encoding="utf-8-sig", newline="") as handle:
        report = import_directory(rt.uow, RequestContext.operator(), read_directory(handle))
    typer.echo(
        f"{report.pros} professionnels, {report.establishments} structures, {report.mailboxes} BAL ajoutés."
    )
    for line, fr, en in report.errors:
        typer.echo(f"ligne {line} : {fr} / {en}", err=True)
    if report.errors:
        raise typer.Exit(1)


@token_app.command("pro")
def token_pro(
    rpps: Annotated[str, typer.Option(help="RPPS (11 chiffres).")],
    profession: Annotated[str, typer.Option(help="Code profession TRE_G15.")] = "10",
    specialty: Annotated[str | None, typer.Option(help="Savoir-faire TRE_R38, ex. SM26.")] = None,
    level: Annotated[str, typer.Option(help="cps, e-cps ou cpe.")] = "cps",
    data_dir: DataDir = None,
) -> None:
    """Affiche un jeton signé par l'instance pour ce professionnel."""
    from carnet.auth.instance import issue_pro_token, load_or_create_instance_key
    from carnet.context import AuthLevel

    settings = _settings(data_dir)
    try:
        key = load_or_create_instance_key(settings.resolved_instance_key_file)
        typer.echo(
            issue_pro_token(
                key,
                rpps=rpps,
                profession=profession,
                specialty=specialty,
                level=AuthLevel(level),
                ttl_seconds=settings.token_ttl_seconds,
            )
        )
    except Exception as error:
        _fail(error)


@token_app.command("patient")
def token_patient(
    ins: Annotated[str, typer.Option(help="Matricule INS (15 caractères).")],
    data_dir: DataDir = None,
) -> None:
    """Affiche un jeton signé par l'instance pour ce patient."""
    from carnet.auth.instance import issue_patient_token, load_or_create_instance_key
    from carnet.identity.ins import validate_ins

    settings = _settings(data_dir)
    try:
        key = load_or_create_instance_key(settings.resolved_instance_key_file)
        typer.echo(
            issue_patient_token(key, ins=validate_ins(ins), ttl_seconds=settings.token_ttl_seconds)
        )
    except Exception as error:
        _fail(error)


@matrix_app.command("load")
def matrix_load(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, help="CSV : profession,specialty,<types…>."),
    ],
    data_dir: DataDir = None,
) -> None:
    """Charge la matrice d'habilitation officielle (ACC-1) à la place de celle fournie."""
    import shutil

    from carnet.access.matrix import load_matrix, matrix_path

    settings = _settings(data_dir)
    try:
        matrix = load_matrix(file)
    except Exception as error:
        _fail(error)
        return
    target = matrix_path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(file, target.with_suffix(".tmp"))
    target.with_suffix(".tmp").replace(target)
    typer.echo(
        f"Matrice chargée : {len(matrix.cells)} lignes, {len(matrix.types)} types de documents."
    )


KeyFile = Annotated[
    Path | None,
    typer.Option(
        "--key",
        exists=True,
        dir_okay=False,
        help="Clé publique du journal (JSON de /api/v1/transparency/key ou PEM) ; "
        "défaut : celle de l'instance.",
    ),
]


@app.command("verify-log")
def verify_log_command(
    against: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="Tête signée obtenue plus tôt (JSON) à étendre."
        ),
    ] = None,
    key: KeyFile = None,
    data_dir: DataDir = None,
) -> None:
    """Vérifie l'intégrité du journal des traces ; nomme la première entrée fautive."""
    from carnet.cli.transparency import run_verify_log

    run_verify_log(_settings(data_dir), against, key)


@app.command("verify-proof")
def verify_proof_command(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Preuve (JSON) à vérifier.")
    ],
    key: KeyFile = None,
    data_dir: DataDir = None,
) -> None:
    """Vérifie une preuve d'inclusion ou de cohérence et sa tête signée, sans base de données."""
    from carnet.cli.transparency import run_verify_proof

    run_verify_proof(file, key, _settings(data_dir))


@app.command("sign-log")
def sign_log_command(data_dir: DataDir = None) -> None:
    """Place les traces en attente dans l'arbre et signe une tête (carnet serve le fait seul)."""
    from carnet.cli.transparency import run_sign_log

    run_sign_log(_settings(data_dir))


@db_app.command("roles")
def db_roles(
    app_login: Annotated[
        str | None,
        typer.Option(help="Crée (ou met à jour) un utilisateur de connexion du rôle applicatif."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """PostgreSQL : crée les rôles propriétaire et applicatif et leurs droits (TR-3)."""
    from carnet.db.engine import make_engine
    from carnet.db.roles import add_app_login, apply_roles, role_names

    settings = _settings(data_dir)
    engine = make_engine(settings.resolved_database_url)
    if engine.dialect.name != "postgresql":
        typer.echo("SQLite : pas de rôles. / SQLite has no roles.")
        return
    password = (
        typer.prompt("Mot de passe / password", hide_input=True, confirmation_prompt=True)
        if app_login
        else None
    )
    with engine.begin() as connection:
        if not apply_roles(connection):
            typer.echo(
                "Il faut un utilisateur CREATEROLE ou superutilisateur. "
                "/ A CREATEROLE or superuser login is needed.",
                err=True,
            )
            raise typer.Exit(2)
        owner, application = role_names(connection)
        if app_login and password:
            add_app_login(connection, app_login, password)
    typer.echo(f"Rôles / roles: {owner} (propriétaire / owner), {application} (application).")


@app.command("jobs")
def jobs(
    action: Annotated[str, typer.Argument(help="run")] = "run",
    today: Annotated[str | None, typer.Option(help="Date du jour simulée (AAAA-MM-JJ).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Les tâches quotidiennes : majorité à 18 ans, conservation et suppression des archives,
    relevés annuels, documents dont le délai est passé, exports ; puis les notifications en
    attente et le journal. Idempotentes : relancer après un arrêt reprend ce qui restait."""
    from carnet.cli.lifecycle import run_jobs_command

    if action != "run":
        typer.echo("Action inconnue (run) / unknown action (run).", err=True)
        raise typer.Exit(2)
    try:
        run_jobs_command(_settings(data_dir), date.fromisoformat(today) if today else None)
    except Exception as error:
        _fail(error)


@population_app.command("reopen")
def population_reopen(
    ins: Annotated[str, typer.Argument(help="Matricule INS (15 caractères).")],
    data_dir: DataDir = None,
) -> None:
    """Rouvre un profil clôturé (ou opposé, à la demande de la personne) : nouveau courrier
    d'activation ; les archives reviennent (LC-5)."""
    from carnet.cli.lifecycle import run_reopen

    try:
        run_reopen(_settings(data_dir), ins)
    except Exception as error:
        _fail(error)


@population_app.command("reissue-code")
def population_reissue_code(
    ins: Annotated[str, typer.Argument(help="Matricule INS (15 caractères).")],
    data_dir: DataDir = None,
) -> None:
    """Émet un nouveau code d'activation (courrier perdu, code expiré ou épuisé) (LC-4)."""
    from carnet.cli.lifecycle import run_reissue

    try:
        run_reissue(_settings(data_dir), ins)
    except Exception as error:
        _fail(error)


@population_app.command("requests")
def population_requests(
    all_: Annotated[bool, typer.Option("--all", help="Aussi les demandes déjà traitées.")] = False,
    done: Annotated[
        str | None, typer.Option("--done", help="Marque cette demande (son numéro) traitée.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Les demandes des usagers : code d'activation, rectification, limitation, opposition
    (LC-4, LC-6), les plus anciennes d'abord."""
    from carnet.cli.lifecycle import run_requests

    try:
        run_requests(_settings(data_dir), include_done=all_, done=done)
    except Exception as error:
        _fail(error)


@app.command("verify-certificate")
def verify_certificate_command(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Certificat de suppression (JSON).")
    ],
    key: Annotated[
        Path | None,
        typer.Option(
            "--key",
            exists=True,
            dir_okay=False,
            help="Clé publique du journal (JSON de /api/v1/transparency/key ou PEM) ; "
            "défaut : celle de l'instance.",
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Vérifie un certificat de suppression (LC-5) : signé par la clé du journal, inaltéré."""
    from carnet.cli.lifecycle import run_verify_certificate

    run_verify_certificate(_settings(data_dir), file, key)


@mail_app.command("queue")
def mail_queue(
    failed: Annotated[
        bool, typer.Option("--failed", help="Les envois abandonnés des derniers jours.")
    ] = False,
    days: Annotated[int, typer.Option(help="Avec --failed : combien de jours en arrière.")] = 7,
    limit: Annotated[int, typer.Option(help="Lignes au plus, par file.")] = 200,
    data_dir: DataDir = None,
) -> None:
    """Ce qui attend le relais SMTP, et pourquoi / what waits for the SMTP relay, and why."""
    from datetime import timedelta

    from carnet import clock
    from carnet.cli.mail import print_queue
    from carnet.messaging.queries import outgoing_queue
    from carnet.notify.queries import email_queue
    from carnet.runtime import build_runtime

    rt = build_runtime(_settings(data_dir))
    since = clock.now() - timedelta(days=days) if failed else None
    with rt.transaction() as session:
        rows = [*outgoing_queue(session, since, limit), *email_queue(session, since, limit)]
    print_queue(rows, failed=failed, now=clock.now(), echo=typer.echo)


def main() -> None:  # pragma: no cover
    sys.exit(app())
