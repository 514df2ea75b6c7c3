"""`mediamatch series`: what the catalogue knows about each series."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from mediamatch.cli.common import DbOption, console, open_catalogue

series_app = typer.Typer(help="List series and show one series' victims and timeline.", no_args_is_help=True)


@series_app.command("list")
def list_series(db: DbOption = None) -> None:
    """Every series with its item count and identification state."""
    from mediamatch.store import repo
    from mediamatch.store.db import session_scope

    engine = open_catalogue(db)
    with session_scope(engine) as session:
        rows = repo.list_series(session)
    table = Table("series", "items", "victims", "identified", "agencies")
    for row in rows:
        table.add_row(row.name, str(row.items), str(row.victims), str(row.victims_identified), str(row.agencies))
    console.print(table if rows else "no series in the catalogue yet")


@series_app.command("show")
def show(name: Annotated[str, typer.Argument(help="Series name.")], db: DbOption = None) -> None:
    """One series: its victims (opaque references) and the timeline of contributions and identifications."""
    from mediamatch.store import repo
    from mediamatch.store.db import session_scope

    engine = open_catalogue(db)
    with session_scope(engine) as session:
        detail = repo.series_detail(session, name)
    if detail is None:
        console.print(f"[red]no series named {name!r}[/]")
        raise typer.Exit(code=1)
    summary = detail.summary
    console.print(
        f"[bold]{summary.name}[/]: {summary.items} item(s), {summary.victims_identified}/{summary.victims} victim(s) identified, {summary.agencies} agency(ies)"
    )
    if detail.notes:
        console.print(detail.notes)
    table = Table("when", "event", "agency", "detail")
    for event in detail.timeline:
        table.add_row(event.at.strftime("%Y-%m-%d %H:%M"), event.kind, event.agency, event.detail)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(series_app, name="series")
