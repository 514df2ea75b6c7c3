"""`mediamatch triage`: classify every file of a seized collection against the catalogue."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mediamatch.cli.common import (
    DbOption,
    EveryFrameOption,
    ExitCode,
    WorkersOption,
    catalogue_is_empty,
    console,
    open_catalogue,
    progress,
    refuse,
    workers_or_default,
)


def triage_command(
    source: Annotated[Path, typer.Argument(help="A folder, a zip or tar archive, or a single file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for report.json, report.csv, report.html and the resumable state.")],
    resume: Annotated[bool, typer.Option("--resume", help="Continue the interrupted triage saved in --out.")] = False,
    workers: WorkersOption = None,
    db: DbOption = None,
    server: Annotated[
        str | None,
        typer.Option("--server", help="Match against a mediamatch server (https://…) instead of a local catalogue; only hashes and descriptors are sent."),
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", envvar="MEDIAMATCH_TOKEN", help="API token for --server (or $MEDIAMATCH_TOKEN).", show_default=False)
    ] = None,
    every_frame: EveryFrameOption = False,
    allow_empty_catalogue: Annotated[
        bool, typer.Option("--allow-empty-catalogue", help="Triage even when the catalogue holds no known media (every file is then `new`).")
    ] = False,
    no_similar: Annotated[
        bool,
        typer.Option("--no-similar", help="Skip the similarity second pass (crops, rotations, pasted copies, related scenes) on files that match no hash."),
    ] = False,
) -> None:
    """Hash every file of SOURCE, match it against the catalogue and classify it: known (victim
    identified or not), related (same scene or objects as a known series), new, not media, or
    error. Files that match no hash are searched by similarity (local features) unless
    --no-similar. Resumable with --resume after an interruption. With --server, the catalogue is
    a remote server and only hashes and descriptors leave this machine, never pictures.

    The catalogue must exist (`mediamatch db init`, `db add`) and, unless
    --allow-empty-catalogue, hold known media. Exit status 1 when the report has error rows
    (files that could not be read or hashed), 2 when nothing was triaged."""
    from mediamatch.services.remote import RemoteCatalogueMatcher, RemoteError
    from mediamatch.services.triage import STATE_FILE, STATUSES, TriageError, TriageRow, TriageState, count_entries, triage
    from mediamatch.services.triage_report import STATUS_TITLES, write_reports

    engine, matcher, catalogue = None, None, None
    if not source.exists():
        refuse(f"{escape(str(source))}: no such file or folder")
    if server:
        if not token:
            refuse("--server needs --token (or $MEDIAMATCH_TOKEN)")
        matcher, catalogue = RemoteCatalogueMatcher(server, token), server
    else:
        engine = open_catalogue(db)
        if not allow_empty_catalogue and catalogue_is_empty(engine):
            engine.dispose()
            refuse(
                "the catalogue holds no known media, so every file would be reported `new`. "
                "Check --db (or $MEDIAMATCH_DB), add known media with `mediamatch db add`, or pass --allow-empty-catalogue"
            )
    total = count_entries(source) if source.exists() else None
    already = _rows_done(out) if resume else 0
    with progress(total) as bar:
        task = bar.add_task("triage", total=total, completed=already, rate="")
        started = time.perf_counter()
        seen = 0

        def advance(row: TriageRow) -> None:
            nonlocal seen
            seen += 1
            bar.update(task, advance=1, rate=f"{seen / max(time.perf_counter() - started, 1e-9):.0f} files/s")

        try:
            summary = triage(
                source,
                out,
                engine,
                workers=workers_or_default(workers),
                resume=resume,
                on_row=advance,
                matcher=matcher,
                catalogue=catalogue,
                every_frame=every_frame,
                similar=not no_similar,
            )
        except (TriageError, RemoteError) as exc:
            refuse(escape(str(exc)))
    state = TriageState(out / STATE_FILE)
    try:
        reports = write_reports(state, out)
    finally:
        state.close()
    table = Table("status", "files", title=f"triage of {source}")
    for status in STATUSES:
        table.add_row(STATUS_TITLES[status], str(summary.counts.get(status, 0)))
    console.print(table)
    if summary.resumed_from:
        console.print(f"resumed: {summary.resumed_from} file(s) were already done")
    console.print(f"report: {reports['html']}\n        {reports['json']}\n        {reports['csv']}")
    if failed := summary.counts.get("error", 0):
        console.print(f"[yellow]{failed} file(s) could not be read or hashed (status `error` in the report)[/]")
        raise typer.Exit(code=ExitCode.SOME_FAILED)


def _rows_done(out: Path) -> int:
    from mediamatch.services.triage import STATE_FILE, TriageState

    if not (out / STATE_FILE).exists():
        return 0
    state = TriageState(out / STATE_FILE)
    try:
        return sum(state.counts().values())
    finally:
        state.close()


def register(app: typer.Typer) -> None:
    app.command("triage")(triage_command)
