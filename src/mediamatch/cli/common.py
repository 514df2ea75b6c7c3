"""Options and helpers shared by the verb groups: the database option, file walking, progress.

Every verb group imports this module, so `mediamatch --help` pays for its imports: what only a
running command needs (SQLAlchemy, Alembic, the progress bar) is imported inside the function
that needs it.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from mediamatch.config import default_db_url

if TYPE_CHECKING:
    from rich.progress import Progress
    from sqlalchemy import Engine

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (sqlite:///file or postgresql://…). Default: $MEDIAMATCH_DB or a SQLite file in the user's data folder.", show_default=False),
]
WorkersOption = Annotated[int | None, typer.Option("--workers", "-w", min=1, help="Processes to hash with (default: all cores).", show_default=False)]
EveryFrameOption = Annotated[bool, typer.Option("--every-frame", help="Videos: hash every frame instead of one per second (vPDQ's full mode, several times slower).")]

console = Console(stderr=True, soft_wrap=True)  # messages name files: never break them across lines


def resolve_db(db: str | None) -> str:
    return db or default_db_url()


def open_catalogue(db: str | None) -> Engine:
    """The catalogue at `--db` (or the default), migrated to the current schema."""
    from mediamatch.store.db import migrate, open_engine

    engine = open_engine(resolve_db(db))
    migrate(engine)
    return engine


def workers_or_default(workers: int | None) -> int:
    return workers or os.cpu_count() or 1


def iter_files(paths: Iterable[Path], recursive: bool) -> Iterator[Path]:
    """Files named on the command line, and with `recursive` the files below named folders.

    Symbolic links to folders are not followed (a seized drive may hold link loops); a
    folder named without --recursive is reported, not silently skipped.
    """
    for path in paths:
        if path.is_dir():
            if not recursive:
                console.print(f"[yellow]skipping folder {path} (use --recursive)[/]")
                continue
            for root, dirs, files in os.walk(path, followlinks=False):
                dirs.sort()
                for name in sorted(files):
                    yield Path(root) / name
        else:
            yield path


def progress(total: int | None = None, *, enabled: bool | None = None) -> Progress:
    """A Rich progress bar with counts, rate and ETA; silent when stderr is not a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not (sys.stderr.isatty() if enabled is None else enabled),
        transient=False,
    )


def local_actor() -> str:
    """Who runs this command, for the audit trail: the operating-system account (the command
    line has no login of its own)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"
