"""``carnet verify-log``, ``carnet verify-proof``, ``carnet sign-log``, ``carnet db roles``: the
trace log's checks and the transparency log's job, from the command line (TR-3)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from carnet.audit.heads import TreeHead
from carnet.audit.proofs import check_document
from carnet.audit.signer import SignerKeyError, public_key_of, read_public_key
from carnet.audit.verify import LOG, verify_log
from carnet.runtime import build_runtime
from carnet.settings import Settings


def _key(settings: Settings | None, key_file: Path | None) -> bytes | None:
    """The key heads are checked with: the one given, else the instance's key file."""
    try:
        if key_file is not None:
            return read_public_key(key_file)
        if settings is not None and settings.resolved_log_key_file.is_file():
            return public_key_of(settings.resolved_log_key_file)
    except SignerKeyError as error:
        typer.echo(f"Clé illisible / unreadable key: {error}", err=True)
        raise typer.Exit(2) from None
    return None


def _json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        typer.echo(f"Fichier illisible / unreadable file {path}: {error}", err=True)
        raise typer.Exit(2) from None


def run_verify_log(settings: Settings, against: Path | None, key_file: Path | None) -> None:
    public_key = _key(settings, key_file)
    head = None
    if against is not None:
        try:
            head = TreeHead.from_json(_json(against))
        except ValueError as error:
            typer.echo(f"Tête illisible / unreadable head: {error}", err=True)
            raise typer.Exit(2) from None
        if public_key is None:
            typer.echo(
                "Pas de clé pour vérifier la tête (--key). / No key to check the head (--key).",
                err=True,
            )
            raise typer.Exit(2)
    elif public_key is None:
        typer.echo(
            "Attention : aucune clé, signatures des têtes non vérifiées. "
            "/ Warning: no key, heads' signatures not checked.",
            err=True,
        )
    rt = build_runtime(settings)
    with rt.transaction() as session:
        result = verify_log(session, public_key=public_key, against=head)
    if result.breach is None:
        pinned = f" ; étend la tête de taille {head.tree_size}" if head else ""
        typer.echo(
            f"Journal intègre : {result.chains} chaînes, {result.entries} traces, "
            f"{result.leaves} feuilles, {result.heads} têtes signées{pinned}. / Log intact."
        )
        return
    b = result.breach
    where = (
        f"journal, position {b.seq}"
        if b.patient_id == LOG
        else f"chaîne {b.patient_id}, entrée n° {b.seq} ({b.trace_id or '-'})"
    )
    typer.echo(
        f"Journal altéré : {where} : {b.problem}. / Log broken at "
        f"{'log position' if b.patient_id == LOG else 'chain ' + b.patient_id + ', entry'} "
        f"{b.seq}: {b.problem}.",
        err=True,
    )
    raise typer.Exit(1)


def run_verify_proof(file: Path, key_file: Path | None, settings: Settings) -> None:
    public_key = _key(settings, key_file)
    if public_key is None:
        typer.echo(
            "Pas de clé : --key FICHIER (celle de GET /api/v1/transparency/key). "
            "/ No key: --key FILE (the one GET /api/v1/transparency/key gives).",
            err=True,
        )
        raise typer.Exit(2)
    document = _json(file)
    problems = check_document(document, public_key)
    if problems:
        for problem in problems:
            typer.echo(f"Preuve refusée / proof refused: {problem}", err=True)
        raise typer.Exit(1)
    assert isinstance(document, dict)
    if document["kind"] == "inclusion":
        typer.echo(
            f"Preuve valide : la trace {document['trace_id']} est la feuille "
            f"{document['leaf_index']} de l'arbre signé de taille {document['tree_size']}. "
            "/ Valid inclusion proof."
        )
    else:
        typer.echo(
            f"Preuve valide : l'arbre de taille {document['second']} étend celui de taille "
            f"{document['first']}. / Valid consistency proof."
        )


def run_sign_log(settings: Settings) -> None:
    from carnet.transparency.service import advance

    rt = build_runtime(settings)
    head = advance(rt)
    if head is None:
        typer.echo("Rien de nouveau à signer. / Nothing new to sign.")
    else:
        typer.echo(json.dumps(head.to_json(), sort_keys=True))
