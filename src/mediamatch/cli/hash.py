"""`mediamatch hash`: print every file's digests and PDQ hash."""

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
    from mediamatch.media.record import HashRecord

JSON_FIELDS = ("path", "size", "md5", "sha1", "sha256", "pdq", "pdq_quality", "width", "height", "media_type", "error")


def hash_command(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to hash.", exists=True)],
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into folders.")] = False,
    workers: WorkersOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line per file.")] = False,
    every_frame: EveryFrameOption = False,
) -> None:
    """Hash files: MD5, SHA-1, SHA-256 and, for images, PDQ with its quality; for videos, the
    PDQ hashes of their frames (vPDQ), with `--json` as `frames` and `duration`.

    A file that cannot be read or decoded is reported with its error; the run goes on, and
    ends with exit status 1 (0 when every file was hashed; 2 when a named path does not exist).
    """
    from mediamatch.media.hashing import hash_many
    from mediamatch.media.limits import DEFAULT_LIMITS

    files = list(iter_files(paths, recursive))
    table = Table("path", "sha256", "pdq", "q", "error")
    failures = 0
    with progress(len(files)) as bar:
        task = bar.add_task("hashing", total=len(files), rate="")
        started = time.perf_counter()
        limits = replace(DEFAULT_LIMITS, video_every_frame=every_frame)
        for done, record in enumerate(hash_many(files, workers=workers_or_default(workers), limits=limits), start=1):
            failures += record.error is not None
            if as_json:
                sys.stdout.write(json.dumps(json_fields(record)) + "\n")
            elif sys.stdout.isatty():
                table.add_row(record.path, record.sha256 or "", record.pdq or "", str(record.pdq_quality or ""), record.error or "")
            else:
                print("\t".join(str(getattr(record, f) or "") for f in ("path", "sha256", "pdq", "pdq_quality", "error")))
            bar.update(task, advance=1, rate=f"{done / max(time.perf_counter() - started, 1e-9):.0f} files/s")
    if table.row_count:
        console.print(table)
    if failures:
        console.print(f"[yellow]{failures} of {len(files)} file(s) could not be hashed (see error)[/]")
        raise typer.Exit(code=ExitCode.SOME_FAILED)


def json_fields(record: HashRecord) -> dict[str, object]:
    """The documented fields, plus a video's frame hashes and duration."""
    fields = {field: getattr(record, field) for field in JSON_FIELDS}
    if record.frames or record.duration is not None:
        fields["duration"] = record.duration
        fields["frames"] = [{"number": f.number, "timestamp": f.timestamp, "pdq": f.pdq, "quality": f.quality} for f in record.frames]
    return fields


def register(app: typer.Typer) -> None:
    app.command("hash")(hash_command)
