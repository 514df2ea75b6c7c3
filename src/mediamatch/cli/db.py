"""`mediamatch db`: create or upgrade the catalogue, and contribute known media to it."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mediamatch.catalog.records import Category, ContributionOutcome
from mediamatch.cli.common import (
    DbOption,
    ExitCode,
    WorkersOption,
    checked,
    console,
    iter_files,
    local_actor,
    open_catalogue,
    progress,
    resolve_db,
    shown_db,
    workers_or_default,
)

db_app = typer.Typer(help="Create, upgrade and fill the catalogue of known material.", no_args_is_help=True)


@db_app.command("init")
def init(db: DbOption = None) -> None:
    """Create the catalogue (or bring an existing one up to date). The other commands refuse a
    catalogue that does not exist yet, so a mistyped --db cannot become a new, empty one."""
    open_catalogue(db, create=True, upgrade=True).dispose()
    console.print(f"catalogue ready: {shown_db(resolve_db(db))}")


@db_app.command("upgrade")
def upgrade(db: DbOption = None) -> None:
    """Apply every pending schema migration to an existing catalogue (needed for PostgreSQL after
    installing a newer mediamatch; a SQLite catalogue is also upgraded by any command that opens it)."""
    open_catalogue(db, upgrade=True).dispose()
    console.print(f"catalogue ready: {shown_db(resolve_db(db))}")


@db_app.command("add")
def add(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of known media to contribute.", exists=True, readable=True)],
    series: Annotated[str, typer.Option("--series", help="Series the media belongs to (at most 200 characters, no control characters).")],
    category: Annotated[
        int,
        typer.Option(
            "--category",
            min=0,
            max=4,
            help="Project VIC category: 0 non-pertinent, 1 child abuse material, 2 exploitive/age difficult, 3 CGI/animation, 4 comparison.",
        ),
    ] = int(Category.CHILD_ABUSE_MATERIAL),
    baseline: Annotated[bool, typer.Option("--baseline", help="Mark as Baseline: illegal in any country.")] = False,
    victim_identified: Annotated[bool, typer.Option("--victim-identified", help="The series' victim is identified.")] = False,
    agency: Annotated[str | None, typer.Option("--agency", help="Contributing agency (default: local).")] = None,
    country: Annotated[
        str | None, typer.Option("--country", help="The agency's ISO 3166-1 alpha-2 country code, such as NL (default: not stated).", show_default=False)
    ] = None,
    case: Annotated[str | None, typer.Option("--case", help="The agency's case reference.")] = None,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into folders.")] = True,
    workers: WorkersOption = None,
    db: DbOption = None,
) -> None:
    """Contribute known media: each distinct file is stored once; repeats become new contributions
    (a re-run after an interruption records no file twice). Creates the catalogue if it does not
    exist. Exit status 1 when any file could not be stored (each is listed), 2 when nothing was
    done (a bad option or path)."""
    from mediamatch.audit.events import AuditAction, AuditEvent
    from mediamatch.audit.trail import record
    from mediamatch.catalog.validate import UNSTATED_COUNTRY, agency_name, case_reference, country_code, series_name
    from mediamatch.services.contribute import ContributionRequest, contribute
    from mediamatch.store.db import session_scope
    from mediamatch.store.repo import DEFAULT_AGENCY

    request = ContributionRequest(
        series=checked(series, series_name, "--series"), category=category, baseline=baseline, victim_identified=victim_identified,
        agency=checked(agency, agency_name, "--agency"), country=checked(country, country_code, "--country") or UNSTATED_COUNTRY,
        case=checked(case, case_reference, "--case"),
    )  # fmt: skip
    engine = open_catalogue(db, create=True)
    files = list(iter_files(paths, recursive))
    counts: Counter[str] = Counter()
    notable: list[ContributionOutcome] = []
    finished = False
    try:
        with progress(len(files)) as bar:
            task = bar.add_task("contributing", total=len(files), rate="")
            started = time.perf_counter()

            def advance(outcome: ContributionOutcome) -> None:
                counts[outcome.status] += 1
                if outcome.status != "added":
                    notable.append(outcome)
                done = sum(counts.values())
                bar.update(task, advance=1, rate=f"{done / max(time.perf_counter() - started, 1e-9):.0f} files/s")

            contribute(engine, files, request, workers=workers_or_default(workers), on_outcome=advance)
            finished = True
    finally:
        if counts["added"] or counts["known"]:  # as the server audits an upload; an interrupted one with what it stored
            detail = {
                "files": len(files),
                "added": counts["added"],
                "known": counts["known"],
                "errors": counts["error"],
                "case": request.case,
                "finished": finished,
            }
            with session_scope(engine) as session:
                record(session, AuditEvent(local_actor(), request.agency or DEFAULT_AGENCY, AuditAction.UPLOAD, "series", request.series, detail))
    if notable:
        table = Table()
        table.add_column("file", overflow="fold")  # a cut-off name would hide which file it was
        for heading in ("status", "already contributed by / error", "victim identified"):
            table.add_column(heading)
        for outcome in notable:
            table.add_row(outcome.path, outcome.status, outcome.error or ", ".join(outcome.known_from), "yes" if outcome.victim_identified else "no")
        console.print(table)
    console.print(f"series {request.series!r}: {counts['added']} added, {counts['known']} already known, {counts['error']} error(s)")
    if counts["error"]:
        raise typer.Exit(code=ExitCode.SOME_FAILED)


@db_app.command("revision")
def revision(
    message: Annotated[str, typer.Option("--message", "-m", help="What the migration changes; also names its file.")],
    empty: Annotated[
        bool, typer.Option("--empty", help="Write empty upgrade/downgrade functions instead of comparing the models with the current schema.")
    ] = False,
) -> None:
    """For developers: write the next schema migration into the package's migrations folder,
    generated from the difference between the models and the migrated schema (review it before committing)."""
    from mediamatch.store.db import new_revision

    path = new_revision(message, autogenerate=not empty)
    console.print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
