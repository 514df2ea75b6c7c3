"""`mediamatch exchange`: import and export Project VIC, ICSE and CSV hash lists."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mediamatch.audit import trail
from mediamatch.audit.events import AuditAction, AuditEvent
from mediamatch.catalog.records import Category
from mediamatch.cli.common import DbOption, checked, console, local_actor, open_catalogue, progress
from mediamatch.exchange.csvlists import Layout
from mediamatch.exchange.records import ExchangeFormatError, RecordError
from mediamatch.exchange.vics import VERSIONS
from mediamatch.services.exchange import ExportRequest, Format, ImportRequest, ImportSummary, export_file, import_file
from mediamatch.store.db import session_scope
from mediamatch.store.repo import DEFAULT_AGENCY

exchange_app = typer.Typer(help="Import and export hash lists: Project VIC VICS JSON, INTERPOL ICSE exports, NCMEC/ThreatExchange CSV.", no_args_is_help=True)
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="vics: Project VIC VICS JSON; icse: ICSE hash export (;-separated); csv: NCMEC-style rows or ThreatExchange signal lines.")]
SHOWN_PROBLEMS = 50


@exchange_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="The hash list to import.", exists=True, dir_okay=False, readable=True)],
    fmt: FormatOption,
    agency: Annotated[str | None, typer.Option("--agency", help="The importing agency (default: local); every record becomes its contribution.")] = None,
    country: Annotated[str | None, typer.Option("--country", help="The agency's ISO 3166-1 alpha-2 country code, such as NL (default: not stated).", show_default=False)] = None,
    case: Annotated[str | None, typer.Option("--case", help="The agency's case reference for these contributions.")] = None,
    category: Annotated[int, typer.Option("--category", min=0, max=4, help="Project VIC category for records that state none.")] = int(Category.CHILD_ABUSE_MATERIAL),
    signal_type: Annotated[str | None, typer.Option("--signal-type", help="CSV signal lists: the signal type of lines that hold a bare value (md5, sha1, sha256, pdq, photodna).")] = None,
    db: DbOption = None,
) -> None:
    """Add every record of FILE to the catalogue as a contribution; records naming a known item
    (same SHA-256, MD5 or SHA-1) join it. Bad records are listed with their position and skipped
    (exit status 1). Creates the catalogue if it does not exist (a first import may start one)."""
    from mediamatch.catalog.validate import UNSTATED_COUNTRY, agency_name, case_reference, country_code

    agency, case = checked(agency, agency_name, "--agency"), checked(case, case_reference, "--case")
    country = checked(country, country_code, "--country") or UNSTATED_COUNTRY
    engine = open_catalogue(db, create=True)
    request = ImportRequest(agency=agency, country=country, case=case, default_category=category, signal_type=signal_type)
    summary, finished = ImportSummary(), False
    try:
        with progress(None) as bar:
            task = bar.add_task("importing", total=None, rate="")
            import_file(engine, file, fmt, request, on_progress=lambda count: bar.advance(task, count), summary=summary)
            finished = True
    except (ExchangeFormatError, OSError) as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(code=2) from None
    finally:
        if finished or summary.imported or summary.merged:  # an interrupted import is audited with what it stored
            detail = {"format": str(fmt), "file": file.name, "imported": summary.imported, "merged": summary.merged, "errors": summary.error_count, "case": case, "finished": finished}
            with session_scope(engine) as session:
                trail.record(session, AuditEvent(local_actor(), agency or DEFAULT_AGENCY, AuditAction.EXCHANGE_IMPORTED, "exchange", file.name, detail))
    _show_problems("error", summary.errors, summary.error_count)
    _show_problems("warning", summary.warnings, summary.warning_count)
    console.print(
        f"{escape(file.name)}: {summary.imported} imported, {summary.merged} merged into known items, "
        f"{summary.error_count} error(s), {summary.warning_count} warning(s)"
    )
    if summary.error_count:
        raise typer.Exit(code=1)


@exchange_app.command("export")
def export_command(
    fmt: FormatOption,
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write (replaced if it exists).")],
    vics_version: Annotated[str, typer.Option("--vics-version", help=f"VICS field names to write: {' or '.join(VERSIONS)}.")] = "2.0",
    series: Annotated[str | None, typer.Option("--series", help="Only the items of this series.")] = None,
    csv_layout: Annotated[Layout, typer.Option("--csv-layout", help="csv: rows (id and hashes per item) or signals (one `type value` line per hash).")] = Layout.ROWS,
    db: DbOption = None,
) -> None:
    """Write the catalogue's items (hashes, category, Baseline, series, identification state) as
    a hash list for another system. Original file names are never written. The export is audited."""
    if vics_version not in VERSIONS:
        raise typer.BadParameter(f"use {' or '.join(VERSIONS)}", param_hint="--vics-version")
    engine = open_catalogue(db)
    try:
        summary = export_file(engine, out, ExportRequest(format=fmt, vics_version=vics_version, layout=csv_layout, series=series))
    except OSError as exc:
        console.print(f"[red]error:[/] cannot write {escape(str(out))}: {escape(exc.strerror or str(exc))}")
        raise typer.Exit(code=2) from None
    detail = {"format": str(fmt), "file": str(out), "written": summary.written, "skipped": summary.skipped, "series": series,
              "vics_version": vics_version if fmt is Format.VICS else None}  # fmt: skip
    with session_scope(engine) as session:
        trail.record(session, AuditEvent(local_actor(), DEFAULT_AGENCY, AuditAction.EXCHANGE_EXPORTED, "exchange", out.name, detail))
    skipped = f" ({summary.skipped} item(s) the format cannot hold were left out)" if summary.skipped else ""
    console.print(f"{summary.written} record(s) written to {escape(str(out))}{skipped}")


def _show_problems(kind: str, problems: list[RecordError], count: int) -> None:
    if not count:
        return
    table = Table("where", kind, title=f"{count} {kind}(s)")
    for problem in problems[:SHOWN_PROBLEMS]:
        table.add_row(escape(problem.position), escape(problem.message))
    console.print(table)
    if count > SHOWN_PROBLEMS:
        console.print(f"... and {count - SHOWN_PROBLEMS} more")


def register(app: typer.Typer) -> None:
    app.add_typer(exchange_app, name="exchange")
