"""`mediamatch stats`: what the catalogue's work adds up to, as a table, JSON or CSV."""

from __future__ import annotations

from typing import Annotated

import typer

from mediamatch.cli.common import DbOption, console, open_catalogue

STAT_COLUMNS = ("statistic", "month", "label", "country", "count")


def stats_command(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the statistics as JSON (for scripts).")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print one CSV row per figure: statistic, month, label, country, count.")] = False,
) -> None:
    """Series added and victims identified (by month, agency and country), days from first
    contribution to identification, matches by triage and by platforms, open investigations."""
    import csv
    import dataclasses
    import json
    import sys

    from rich.table import Table

    from mediamatch.services.stats import statistics
    from mediamatch.store.db import session_scope

    if as_json and as_csv:
        console.print("[red]error:[/] choose --json or --csv, not both")
        raise typer.Exit(code=2)
    engine = open_catalogue(db)
    try:
        with session_scope(engine) as session:
            figures = statistics(session)
    finally:
        engine.dispose()
    tables = {
        "series_added": figures.series_added,
        "victims_identified": figures.victims_identified,
        "matches": figures.matches,
        "open_investigations": figures.open_investigations,
    }
    if as_json:
        document: dict[str, object] = {name: [dataclasses.asdict(row) for row in rows] for name, rows in tables.items()}
        document["days_to_identification"] = list(figures.days_to_identification)
        document["median_days_to_identification"] = figures.median_days_to_identification
        sys.stdout.write(json.dumps(document, indent=1) + "\n")
        return
    if as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(STAT_COLUMNS)
        for name, rows in tables.items():
            writer.writerows((name, row.month, row.label, row.country, row.count) for row in rows)
        return
    table = Table(*STAT_COLUMNS, title="mediamatch statistics")
    for name, rows in tables.items():
        for row in rows:
            table.add_row(name, row.month, row.label, row.country, str(row.count))
    console.print(table)
    median = figures.median_days_to_identification
    identified = len(figures.days_to_identification)
    console.print(f"identifications with a known first contribution: {identified}" + (f", median {median:.1f} days" if median is not None else ""))


def register(app: typer.Typer) -> None:
    app.command("stats")(stats_command)
