"""`mediamatch demo`: see triage work end to end on generated, benign pictures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mediamatch.cli.common import DbOption, WorkersOption, console


def demo_command(
    folder: Annotated[Path, typer.Option("--dir", help="Folder for the demo catalogue, seized folder and report (replaced if it holds an earlier demo).")] = Path("mediamatch-demo"),
    workers: WorkersOption = None,
    db: DbOption = None,
) -> None:
    """Build a demo catalogue and a "seized" folder from generated pictures, triage it, and
    print where the report is. Nothing is downloaded; no real material is involved.

    The demo catalogue is a SQLite file in --dir unless --db names another (it is filled with
    demo series, so never point it at a real catalogue)."""
    from mediamatch.services.demo import run_demo
    from mediamatch.services.triage import STATUSES
    from mediamatch.services.triage_report import STATUS_TITLES

    console.print(f"building the demo in {folder.resolve()} …")
    try:
        result = run_demo(folder, workers=workers, db_url=db)
    except FileExistsError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(code=2) from None
    table = Table("status", "files", title="triage of the demo's seized folder")
    for status in STATUSES:
        table.add_row(STATUS_TITLES[status], str(result.summary.counts.get(status, 0)))
    console.print(table)
    console.print(f"catalogue: {result.db_url}")
    console.print(f"seized folder: {result.folder.resolve() / 'seized'}")
    typer.echo(f"report: {result.report.resolve()}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
