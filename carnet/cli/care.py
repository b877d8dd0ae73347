"""``carnet care import``: the operator's feed of reimbursed care and vaccinations (DOC-1),
streamed with a progress bar, then a report of what was added, kept out (DOC-9) and refused."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TransferSpeedColumn

from carnet.context import RequestContext
from carnet.profile.feed import CareReport, import_care, read_feed
from carnet.runtime import build_runtime
from carnet.settings import Settings


def run_care_import(settings: Settings, file: Path) -> None:
    rt = build_runtime(settings)
    size = file.stat().st_size
    with (
        file.open(encoding="utf-8-sig", newline="") as handle,
        Progress(TextColumn("Import"), BarColumn(), TransferSpeedColumn(), transient=True) as bar,
    ):
        task = bar.add_task("import", total=size)
        read = [0]

        def counted(lines: Iterable[str]) -> Iterator[str]:
            for line in lines:
                read[0] += len(line.encode())
                yield line

        def on_batch(_: CareReport) -> None:
            bar.update(task, completed=read[0])

        report = import_care(
            rt.uow, RequestContext.operator(), read_feed(counted(handle)), on_batch=on_batch
        )
    typer.echo(
        f"{report.added} lignes ajoutées (dont {report.vaccinations} vaccinations), "
        f"{report.unchanged} déjà connues, {report.kept_out} écartées (DOC-9 : soins qu'un mineur "
        f"garde secrets), {len(report.errors)} erreurs. / {report.added} lines added "
        f"({report.vaccinations} vaccinations), {report.unchanged} already known, "
        f"{report.kept_out} kept out (DOC-9), {len(report.errors)} errors."
    )
    for error in report.errors:
        typer.echo(f"ligne {error.line} : {error.fr} / line {error.line}: {error.en}", err=True)
    if report.errors:
        raise typer.Exit(1)
