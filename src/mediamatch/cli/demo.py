"""`mediamatch demo`: see triage work end to end on generated, benign pictures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mediamatch.cli.common import DbOption, WorkersOption, catalogue_is_empty, console, open_catalogue, refuse, shown_db


def demo_command(
    folder: Annotated[
        Path, typer.Option("--dir", help="Folder for the demo catalogue, seized folder and report (replaced if it holds an earlier demo).")
    ] = Path("mediamatch-demo"),
    workers: WorkersOption = None,
    db: DbOption = None,
) -> None:
    """Build a demo catalogue and a "seized" folder from generated pictures, triage it, and
    print where the report is. Nothing is downloaded; no real material is involved.

    The demo catalogue is a SQLite file in --dir unless --db names another, which is created if
    it does not exist; one that already holds media is refused, since the demo would fill a real
    catalogue with its demo series."""
    from mediamatch.services.demo import run_demo
    from mediamatch.services.triage import STATUSES
    from mediamatch.services.triage_report import STATUS_TITLES

    if db is not None and _holds_media(db):
        refuse(f"{shown_db(db)} already holds media; the demo needs a new or empty catalogue (or leave out --db)")
    console.print(f"building the demo in {folder.resolve()} …")
    try:
        result = run_demo(folder, workers=workers, db_url=db)
    except FileExistsError as exc:
        refuse(escape(str(exc)))
    table = Table("status", "files", title="triage of the demo's seized folder")
    for status in STATUSES:
        table.add_row(STATUS_TITLES[status], str(result.summary.counts.get(status, 0)))
    console.print(table)
    console.print(f"catalogue: {result.db_url}")
    console.print(f"seized folder: {result.folder.resolve() / 'seized'}")
    typer.echo(f"report: {result.report.resolve()}")


def _holds_media(db: str) -> bool:
    from sqlalchemy.engine import make_url

    url = make_url(db)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).expanduser().exists():
        return False  # the demo creates it
    engine = open_catalogue(db, create=True)
    try:
        return not catalogue_is_empty(engine)
    finally:
        engine.dispose()


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
