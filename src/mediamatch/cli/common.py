"""Options and helpers shared by the verb groups: the database option, opening the catalogue,
exit codes, file walking, progress.

Every verb group imports this module, so `mediamatch --help` pays for its imports: what only a
running command needs (SQLAlchemy, Alembic, the progress bar) is imported inside the function
that needs it.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, overload

import typer
from rich.console import Console
from rich.markup import escape

from mediamatch.config import DB_ENV_VAR, default_db_url

if TYPE_CHECKING:
    from rich.progress import Progress
    from sqlalchemy import Engine

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="Database URL (sqlite:///file or postgresql://…). Default: $MEDIAMATCH_DB or a SQLite file in the user's data folder.", show_default=False
    ),
]
WorkersOption = Annotated[int | None, typer.Option("--workers", "-w", min=1, help="Processes to hash with (default: all cores).", show_default=False)]
EveryFrameOption = Annotated[
    bool, typer.Option("--every-frame", help="Videos: hash every frame instead of one per second (vPDQ's full mode, several times slower).")
]

console = Console(stderr=True, soft_wrap=True)  # messages name files: never break them across lines


class ExitCode(IntEnum):
    """What a command's exit status tells a script (README, "Exit codes")."""

    OK = 0  # everything was processed
    SOME_FAILED = 1  # the command ran to the end, but some inputs failed (each is listed) or a check failed
    REFUSED = 2  # nothing was done: a bad option, value or path, or no usable catalogue


def refuse(message: str) -> NoReturn:
    """Stop before anything is written, saying why (exit status 2, as for Typer's own usage errors)."""
    console.print(f"[red]error:[/] {message}")
    raise typer.Exit(code=ExitCode.REFUSED)


@overload
def checked(value: str, check: Callable[[str], str], option: str) -> str: ...


@overload
def checked(value: str | None, check: Callable[[str], str], option: str) -> str | None: ...


def checked(value: str | None, check: Callable[[str], str], option: str) -> str | None:
    """`value` as `check` cleans it (None, an option not given, stays None); a value it refuses
    stops the command, naming the option."""
    if value is None:
        return None
    try:
        return check(value)
    except ValueError as exc:
        refuse(f"{option}: {escape(str(exc))}")


def resolve_db(db: str | None) -> str:
    return db or default_db_url()


def shown_db(db: str) -> str:
    """A database URL as messages show it: the password hidden, Rich markup escaped."""
    from sqlalchemy.engine import make_url

    from mediamatch.store.db import normalise_url

    return escape(make_url(normalise_url(db)).render_as_string(hide_password=True))


def open_catalogue(db: str | None, *, create: bool = False, upgrade: bool = False) -> Engine:
    """The catalogue at `--db` (or the default), with its schema current; refused (exit 2, with a
    message naming the database and the command that fixes it) when it cannot be what the user meant.

    A mistyped `--db` must not become a new, empty catalogue against which every file of a
    seized drive is `new`. So a catalogue is made only where `create` says the command may
    make one (`db init`, `db add`, `exchange import`); a database holding no mediamatch schema
    (another program's SQLite file, a PostgreSQL database never initialised) is refused. An
    existing SQLite catalogue is upgraded in place, as a single-user tool's file should be; a
    PostgreSQL schema is shared by a server and upgraded only when asked (`upgrade`: `db init`,
    `db upgrade`), never as a side effect of another command.
    """
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    from mediamatch.store.db import migrate, normalise_url, open_engine, schema_state

    url = make_url(normalise_url(resolve_db(db)))
    named = shown_db(resolve_db(db))
    shown = named + ("" if db else f" (the default; choose another with --db or ${DB_ENV_VAR})")
    hint = f" --db {named}" if db else ""
    sqlite = url.get_backend_name() == "sqlite"
    in_memory = not url.database or url.database == ":memory:"
    if sqlite and not in_memory and not create and not Path(url.database).expanduser().exists():  # type: ignore[arg-type]
        refuse(f"no catalogue at {shown}: the file does not exist. Create one with `mediamatch db init{hint}`, or check the path")
    engine = open_engine(url.render_as_string(hide_password=False))
    try:
        schema = schema_state(engine)
    except OperationalError as exc:  # no server there, a wrong password, a database that does not exist
        engine.dispose()
        refuse(f"cannot open {shown}: {escape(str(exc.orig or exc).strip())}")
    problem = None
    if not schema.current and inspect(engine).get_table_names():
        problem = f"{shown} is not a mediamatch catalogue (it holds other tables and no mediamatch schema)"
    elif not schema.current and not create:
        problem = f"{shown} holds no catalogue yet. Create one with `mediamatch db init{hint}`"
    elif schema.newer:
        problem = f"the catalogue at {shown} was made by a newer mediamatch (schema revision {', '.join(sorted(schema.newer))}): upgrade mediamatch"
    elif schema.current and schema.current != schema.heads and not (sqlite or upgrade):
        problem = (
            f"the catalogue at {shown} is at schema revision {', '.join(sorted(schema.current))}; this mediamatch needs "
            f"{', '.join(sorted(schema.heads))}. Run `mediamatch db upgrade{hint}`"
        )
    if problem:
        engine.dispose()
        refuse(problem)
    if schema.current != schema.heads:
        migrate(engine)
    return engine


def catalogue_is_empty(engine: Engine) -> bool:
    """Whether the catalogue holds no known media (against it, every file is `new`)."""
    from mediamatch.store.db import session_scope
    from mediamatch.store.repo import has_media

    with session_scope(engine) as session:
        return not has_media(session)


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
    """Who runs this command, for the audit trail: `cli:` and the operating-system account (the
    command line has no login of its own; the prefix keeps a local user apart from a server
    account of the same name)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid {os.getuid()}"
