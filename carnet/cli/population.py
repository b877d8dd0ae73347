"""``carnet population import``: streamed, with a progress bar, a report, and the letters file."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TransferSpeedColumn

from carnet import clock
from carnet.context import RequestContext
from carnet.errors import Conflict
from carnet.lifecycle.feed import import_population
from carnet.lifecycle.letters import letters_folder
from carnet.population.feed import read_feed
from carnet.population.service import ImportReport, Letter
from carnet.runtime import build_runtime
from carnet.settings import Settings


def open_letters(path: Path) -> int:
    """This import's own letters file, never an earlier one's: an operator running an import
    again after a crash, with the same ``--letters``, would otherwise have emptied the file
    that held the codes of the profiles the first run committed."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise Conflict(
            f"Le fichier de courriers {path} existe déjà : il peut tenir des codes d'un import "
            "précédent. Choisissez un autre fichier (--letters).",
            f"The letters file {path} already exists: it may hold an earlier import's codes. "
            "Choose another file (--letters).",
            code="letters_file_exists",
        ) from None


def run_import(settings: Settings, file: Path, letters_path: Path | None) -> None:
    if letters_path is None:
        folder = letters_folder(settings)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        letters_path = folder / f"activation-{clock.now():%Y%m%dT%H%M%S}.csv"
    fd = open_letters(letters_path)  # before anything is changed: a refusal changes nothing
    try:
        rt = build_runtime(settings)
    except BaseException:
        os.close(fd)
        letters_path.unlink()  # nothing was imported: the same command may run again as it is
        raise
    size = file.stat().st_size
    with (
        os.fdopen(fd, "w", newline="", encoding="utf-8") as out,
        file.open(encoding="utf-8-sig", newline="") as handle,
    ):
        writer = csv.writer(out)
        writer.writerow(["ins", "first_names", "birth_names", "activation_code", "expires"])

        def on_letter(letter: Letter) -> None:
            writer.writerow(
                [letter.ins, letter.first_names, letter.birth_names, letter.code, letter.expires]
            )

        with Progress(
            TextColumn("Import"), BarColumn(), TransferSpeedColumn(), transient=True
        ) as progress:
            task = progress.add_task("import", total=size)

            read = [0]

            def counted(lines: Iterable[str]) -> Iterator[str]:
                for line in lines:
                    read[0] += len(line.encode())
                    yield line

            def on_batch(_: ImportReport) -> None:
                # The batch's letters on disk before the next batch: its profiles are
                # committed, and a code printed nowhere opens a space nobody can reach.
                out.flush()
                os.fsync(out.fileno())
                progress.update(task, completed=read[0])

            report = import_population(
                rt,
                RequestContext.operator(),
                read_feed(counted(handle)),
                code_days=settings.activation_code_days,
                on_letter=on_letter,
                on_batch=on_batch,
            )
        out.flush()
        os.fsync(out.fileno())  # the header, when no batch was read
    typer.echo(
        f"{report.created} créés (dont {report.opposed} opposés), {report.updated} mis à jour, "
        f"{report.unchanged} inchangés, {len(report.errors)} erreurs. Codes d'activation : {letters_path}"
    )
    for error in report.errors:
        typer.echo(f"ligne {error.line} : {error.fr} / line {error.line}: {error.en}", err=True)
    if report.errors:
        raise typer.Exit(1)
