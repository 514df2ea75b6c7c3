"""`mediamatch demo`: see triage work end to end on generated, benign pictures."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from mediamatch.services.demo import DemoResult

from mediamatch.cli.common import DbOption, WorkersOption, catalogue_is_empty, console, open_catalogue, refuse, shown_db


def demo_command(
    folder: Annotated[
        Path, typer.Option("--dir", help="Folder for the demo catalogue, seized folder and report (replaced if it holds an earlier demo).")
    ] = Path("mediamatch-demo"),
    workers: WorkersOption = None,
    db: DbOption = None,
    serve: Annotated[
        bool, typer.Option("--serve", help="Then serve the demo in the browser workspace on 127.0.0.1 and print its accounts (Ctrl-C stops it).")
    ] = False,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="With --serve: the port to listen on.")] = 8000,
) -> None:
    """Build a demo catalogue and a "seized" folder from generated pictures, triage it, and
    print where the report is; with --serve, open it in the browser workspace. Nothing is
    downloaded; no real material is involved.

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
    if serve:
        _serve(result, port)


def _serve(result: DemoResult, port: int) -> None:
    """Serve the demo catalogue on loopback (plain HTTP, so cookies without Secure) with its accounts."""
    import uvicorn

    from mediamatch.api.app import create_app
    from mediamatch.api.settings import ServerSettings
    from mediamatch.services.demo import prepare_workspace

    workspace = prepare_workspace(result.folder, result.db_url)
    settings = ServerSettings(db_url=result.db_url, blob_root=workspace.blob_root, key_file=workspace.key_file, secure_cookies=False)
    table = Table("username", "role", title=f"demo accounts (password for each: {workspace.password})")
    for username, role in workspace.accounts.items():
        table.add_row(username, role.value)
    console.print(table)
    console.print(f"{workspace.hits} platform hits await review. Open http://127.0.0.1:{port}/ and sign in; Ctrl-C stops the server.")
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


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
