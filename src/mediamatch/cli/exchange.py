"""`mediamatch exchange`: import and export Project VIC, ICSE and CSV hash lists."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, get_type_hints

import typer
from rich.markup import escape
from rich.table import Table

from mediamatch.audit.events import AuditAction, AuditEvent
from mediamatch.cli.common import DbOption, checked, console, local_actor, open_catalogue, progress
from mediamatch.interop.base import Direction
from mediamatch.interop.records import ExchangeFormatError, RecordError
from mediamatch.interop.registry import FORMATS

exchange_app = typer.Typer(help="Import and export hash lists: Project VIC VICS JSON, INTERPOL ICSE exports, NCMEC/ThreatExchange CSV.", no_args_is_help=True)
SHOWN_PROBLEMS = 50


def _choices(name: str, values: Iterable[str]) -> type[StrEnum]:
    """An enum of `values`, the form in which Typer offers and checks a fixed set of choices."""
    return StrEnum(name, {value: value for value in values})  # type: ignore[return-value]


FormatName = _choices("FormatName", FORMATS)
FormatOption = Annotated[FormatName, typer.Option("--format", "-f", help="; ".join(f"{name}: {fmt.title}" for name, fmt in FORMATS.items()) + ".")]  # type: ignore[valid-type]


def _with_format_options(direction: Direction) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command one `--<flag>` per option the registered formats take in `direction`, and
    hand it the given ones as `options` ({flag: value or None}): a format's options reach the
    command line without the CLI naming them."""
    flags = {option.flag: option for fmt in FORMATS.values() for option in fmt.options if option.direction is direction}

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        hints = get_type_hints(command, include_extras=True)
        own = [parameter.replace(annotation=hints[name]) for name, parameter in inspect.signature(command).parameters.items() if name != "options"]
        added = {}
        for flag, option in flags.items():
            owners = ", ".join(name for name, fmt in FORMATS.items() if option in fmt.options)
            kind = _choices(flag.title().replace("-", ""), option.choices) if option.choices else str
            default = f" (default {option.default})" if option.default else ""
            info = typer.Option(f"--{flag}", help=f"{owners}: {option.help}{default}", show_default=False)
            added[flag.replace("-", "_")] = (
                flag,
                inspect.Parameter(flag.replace("-", "_"), inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[kind | None, info]),
            )

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> None:
            given = {flag: kwargs.pop(name) for name, (flag, _) in added.items()}
            command(**kwargs, options={flag: None if value is None else str(value) for flag, value in given.items()})  # an enum choice as its text

        parameters = [parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY) for parameter in own] + [parameter for _, parameter in added.values()]
        wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
        del wrapper.__wrapped__  # typer must read the new signature, not the command's
        return wrapper

    return decorate


@exchange_app.command("import")
@_with_format_options(Direction.IMPORT)
def import_command(
    file: Annotated[Path, typer.Argument(help="The hash list to import.", exists=True, dir_okay=False, readable=True)],
    fmt: FormatOption,
    agency: Annotated[str | None, typer.Option("--agency", help="The importing agency (default: local); every record becomes its contribution.")] = None,
    country: Annotated[
        str | None, typer.Option("--country", help="The agency's ISO 3166-1 alpha-2 country code, such as NL (default: not stated).", show_default=False)
    ] = None,
    case: Annotated[str | None, typer.Option("--case", help="The agency's case reference for these contributions.")] = None,
    category: Annotated[
        int | None,
        typer.Option(
            "--category",
            min=0,
            max=4,
            help="Project VIC category (0-4) for records that state none. Without it such records are imported uncategorised and stay out of platform hash lists.",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    options: dict[str, str | None] | None = None,
) -> None:
    """Add every record of FILE to the catalogue as a contribution; records naming a known item
    (same SHA-256, MD5 or SHA-1) join it. Bad records are listed with their position and skipped
    (exit status 1). Creates the catalogue if it does not exist (a first import may start one)."""
    from mediamatch.audit import trail
    from mediamatch.catalog.validate import UNSTATED_COUNTRY, agency_name, case_reference, country_code
    from mediamatch.services.exchange import ImportRequest, ImportSummary, import_file
    from mediamatch.store.db import session_scope
    from mediamatch.store.repo import DEFAULT_AGENCY

    agency, case = checked(agency, agency_name, "--agency"), checked(case, case_reference, "--case")
    country = checked(country, country_code, "--country") or UNSTATED_COUNTRY
    engine = open_catalogue(db, create=True)
    request = ImportRequest(agency=agency, country=country, case=case, default_category=category, options=options or {})
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
            detail = {
                "format": fmt,
                "file": file.name,
                "imported": summary.imported,
                "merged": summary.merged,
                "uncategorised": summary.uncategorised,
                "errors": summary.error_count,
                "case": case,
                "finished": finished,
            }
            with session_scope(engine) as session:
                trail.record(session, AuditEvent(local_actor(), agency or DEFAULT_AGENCY, AuditAction.EXCHANGE_IMPORTED, "exchange", file.name, detail))
    _show_problems("error", summary.errors, summary.error_count)
    _show_problems("warning", summary.warnings, summary.warning_count)
    console.print(
        f"{escape(file.name)}: {summary.imported} imported, {summary.merged} merged into known items, "
        f"{summary.error_count} error(s), {summary.warning_count} warning(s)"
    )
    if summary.uncategorised:
        console.print(
            f"{summary.uncategorised} record(s) are uncategorised: they stay out of platform hash lists until categorised (or import again with --category)."
        )
    if summary.error_count:
        raise typer.Exit(code=1)


@exchange_app.command("export")
@_with_format_options(Direction.EXPORT)
def export_command(
    fmt: FormatOption,
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write (replaced if it exists).")],
    series: Annotated[str | None, typer.Option("--series", help="Only the items of this series.")] = None,
    db: DbOption = None,
    options: dict[str, str | None] | None = None,
) -> None:
    """Write the catalogue's items (hashes, category, Baseline, series, identification state) as
    a hash list for another system. Original file names are never written. The export is audited."""
    from mediamatch.audit import trail
    from mediamatch.services.exchange import ExportRequest, export_file
    from mediamatch.store.db import session_scope
    from mediamatch.store.repo import DEFAULT_AGENCY

    engine = open_catalogue(db)
    try:
        summary = export_file(engine, out, ExportRequest(format=fmt, options=options or {}, series=series))
    except ExchangeFormatError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(code=2) from None
    except OSError as exc:
        console.print(f"[red]error:[/] cannot write {escape(str(out))}: {escape(exc.strerror or str(exc))}")
        raise typer.Exit(code=2) from None
    given = {flag: value for flag, value in (options or {}).items() if value is not None}
    detail = {"format": fmt, "file": str(out), "written": summary.written, "skipped": summary.skipped, "series": series, "options": given}
    with session_scope(engine) as session:
        trail.record(session, AuditEvent(local_actor(), DEFAULT_AGENCY, AuditAction.EXCHANGE_EXPORTED, "exchange", out.name, detail))
    skipped = f" ({summary.skipped} item(s) the format or naming cannot hold were left out)" if summary.skipped else ""
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
