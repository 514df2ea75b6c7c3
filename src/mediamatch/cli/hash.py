"""`mediamatch hash`: print every file's signals (digests, PDQ, frame hashes of a video)."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from mediamatch.cli.common import EveryFrameOption, ExitCode, WorkersOption, console, iter_files, progress, workers_or_default

if TYPE_CHECKING:
    from mediamatch.catalog.hashes import HashRecord


def hash_command(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to hash.", exists=True)],
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into folders.")] = False,
    workers: WorkersOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line per file.")] = False,
    every_frame: EveryFrameOption = False,
) -> None:
    """Hash files: every registered signal (MD5, SHA-1, SHA-256 and, for images, PDQ with its
    quality); for videos, the hashes of their frames (vPDQ), with `--json` as `frames` and
    `duration`. A picture's PDQ is of its pixels as stored, as python-threatexchange and HMA
    compute it; where EXIF orientation turns the picture, `--json` adds `pdq_displayed`, the
    hash of the picture as a viewer shows it. With `--every-frame` every frame is kept,
    near-repeats too, as Meta's vPDQ reference hashes them: the same frame numbers, for lists
    made for other tools.

    A file that cannot be read or decoded is reported with its error; the run goes on, and
    ends with exit status 1 (0 when every file was hashed; 2 when a named path does not exist).
    """
    from mediamatch.media.hashing import hash_many
    from mediamatch.media.limits import DEFAULT_LIMITS

    files = list(iter_files(paths, recursive))
    columns = file_signal_columns()
    table = Table("path", *columns, "error")
    failures = 0
    with progress(len(files)) as bar:
        task = bar.add_task("hashing", total=len(files), rate="")
        started = time.perf_counter()
        limits = replace(DEFAULT_LIMITS, video_every_frame=every_frame, video_collapse=not every_frame)
        for done, record in enumerate(hash_many(files, workers=workers_or_default(workers), limits=limits), start=1):
            failures += record.error is not None
            fields = json_fields(record)
            if as_json:
                sys.stdout.write(json.dumps(fields) + "\n")
            elif sys.stdout.isatty():
                table.add_row(record.path, *(str(fields[column] or "") for column in columns), record.error or "")
            else:
                print("\t".join(str(fields[column] or "") for column in ("path", *columns, "error")))
            bar.update(task, advance=1, rate=f"{done / max(time.perf_counter() - started, 1e-9):.0f} files/s")
    if table.row_count:
        console.print(table)
    if failures:
        console.print(f"[yellow]{failures} of {len(files)} file(s) could not be hashed (see error)[/]")
        raise typer.Exit(code=ExitCode.SOME_FAILED)


def file_signal_columns() -> tuple[str, ...]:
    """A column per signal the pipeline computes for a file or picture (null where it does not
    apply), and `<name>_quality` beside a signal that grades its values."""
    from mediamatch.signals.registry import all_signals

    columns: list[str] = []
    for signal in all_signals():
        if signal.computes_from is not None and not signal.media_kinds.isdisjoint({"file", "image"}):
            columns.append(signal.name)
            if signal.min_quality:
                columns.append(f"{signal.name}_quality")
    return tuple(columns)


def displayed_columns() -> tuple[str, ...]:
    """`<name>_displayed` per picture signal: its value for the picture as a viewer shows it,
    where EXIF orientation turns it (null otherwise). The signal's own column is always of the
    pixels as stored, the value python-threatexchange and HMA compute for the same file."""
    from mediamatch.signals.registry import computed_from

    return tuple(f"{signal.name}_displayed" for signal in computed_from("luma"))


def json_fields(record: HashRecord) -> dict[str, object]:
    """The documented fields (every file signal, null where it does not apply; a picture's also
    as displayed), plus a video's frame hashes and duration."""
    found = record.to_json()
    fields = {"path": record.path, "size": record.size, **{column: found.get(column) for column in (*file_signal_columns(), *displayed_columns())}}
    fields.update({key: found[key] for key in ("width", "height", "media_type", "error", "note")})
    if record.frames or record.duration is not None:
        fields["duration"] = record.duration
        fields["frames"] = found["frames"]
    return fields


def register(app: typer.Typer) -> None:
    app.command("hash")(hash_command)
