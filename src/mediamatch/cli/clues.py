"""`mediamatch clues`: a series' shared clues, threads and claims, exported to go with its media."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape

from mediamatch.cli.common import DbOption, console, local_actor, open_catalogue, refuse

clues_app = typer.Typer(help="Export a series' clues, discussion and investigation history.", no_args_is_help=True)
VicsVersion = Literal["1.3", "2.0"]


@clues_app.command("export")
def export(
    series: Annotated[str, typer.Argument(help="The series whose notes to export.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The notes JSON to write (docs/collaboration.md; replaced if it exists).")],
    vics: Annotated[
        Path | None, typer.Option("--vics", help="Also write the series' media as a VICS hash set with each picture's clues in its Comments.")
    ] = None,
    vics_version: Annotated[VicsVersion, typer.Option("--vics-version", help="VICS field names to write: 1.3 or 2.0.")] = "2.0",
    db: DbOption = None,
) -> None:
    """Write the series' clues shared with all agencies (with their revisions and threads), the
    series' thread and every investigation claim, open or ended; own-agency clues never leave.
    The export is audited."""
    from mediamatch.audit import trail
    from mediamatch.audit.events import AuditAction, AuditEvent
    from mediamatch.services.collaboration_export import write_series_notes, write_series_vics
    from mediamatch.store.db import session_scope
    from mediamatch.store.repo import DEFAULT_AGENCY

    engine = open_catalogue(db)
    try:
        clues = write_series_notes(engine, series, out)
        records = write_series_vics(engine, series, vics, vics_version) if vics else None
        detail = {"file": str(out), "clues": clues, "vics": str(vics) if vics else None, "records": records}
        with session_scope(engine) as session:
            trail.record(session, AuditEvent(local_actor(), DEFAULT_AGENCY, AuditAction.EXPORT, "series-notes", series, detail))
    except LookupError as exc:
        refuse(escape(str(exc)))
    except OSError as exc:
        refuse(f"cannot write: {escape(exc.strerror or str(exc))}")
    finally:
        engine.dispose()
    console.print(f"{clues} clue(s) of {escape(series)} written to {escape(str(out))}" + (f"; {records} VICS record(s) to {escape(str(vics))}" if vics else ""))


def register(app: typer.Typer) -> None:
    app.add_typer(clues_app, name="clues")
