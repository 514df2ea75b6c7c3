"""Opening a catalogue database and bringing its schema up to date.

SQLite is the embedded default, opened the way a single-machine tool should be: WAL so readers
never block the writer, foreign keys enforced, and every write transaction started with
`BEGIN IMMEDIATE` so two processes never both read-then-fail to upgrade their lock. PostgreSQL
URLs are routed to the psycopg 3 driver.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def normalise_url(url: str) -> str:
    """Accept `postgresql://` and `postgres://` as users write them; use the psycopg 3 driver."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below take effect
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def open_engine(url: str) -> Engine:
    """An engine for `url`; for a SQLite file, its folder is created first."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    # Sized for a server: its thread pool runs up to 40 requests at once, one connection each.
    return create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=30, pool_timeout=60)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def migrate(engine_or_url: Engine | str) -> None:
    """Upgrade the schema to the head of the one linear history (see migrations/versions/0005_linear.py)."""
    engine = open_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    command.upgrade(alembic_config(engine), "head")


def next_revision_id(message: str) -> str:
    """`NNNN_words_of_the_message`: the number after the highest in versions/, so files sort in
    the order they apply and the id says what the migration does."""
    numbers = [int(path.name[:4]) for path in (MIGRATIONS_DIR / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")]
    slug = "_".join(re.findall(r"[a-z0-9]+", message.lower()))[:40].strip("_") or "change"
    return f"{max(numbers, default=0) + 1:04d}_{slug}"


def new_revision(message: str, *, autogenerate: bool = True) -> Path:
    """Write the next migration into the package's migrations/versions/ and return its file.

    With `autogenerate`, Alembic compares the models with a scratch SQLite catalogue migrated to
    the current head, so the file holds exactly what the models changed (review it: autogenerate
    misses renames and server-side defaults). Without it, the file has empty upgrade/downgrade
    functions to fill in by hand."""
    with tempfile.TemporaryDirectory(prefix="mediamatch-revision-") as scratch:
        engine = open_engine(f"sqlite:///{Path(scratch) / 'head.sqlite'}")
        try:
            migrate(engine)
            config = alembic_config(engine)
            config.set_main_option("file_template", "%%(rev)s")  # the file is named by its id
            script = command.revision(config, message=message, autogenerate=autogenerate, rev_id=next_revision_id(message))
        finally:
            engine.dispose()
    if script is None or isinstance(script, list):  # only with several heads, which 0005_linear ended
        raise RuntimeError(f"Alembic wrote {script!r} instead of one revision")
    return Path(script.path)


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where a database's schema stands against this code's migrations."""

    current: frozenset[str]  # the revisions the database is at; empty when never created
    heads: frozenset[str]  # where this code's migrations lead
    known: frozenset[str]  # every revision this code has

    @property
    def newer(self) -> frozenset[str]:
        """Revisions the database is at that this code does not know (a newer mediamatch made them)."""
        return self.current - self.known


def schema_state(engine: Engine) -> SchemaState:
    """Read-only, so a command can refuse a database before changing it."""
    with engine.connect() as conn:
        current = frozenset(MigrationContext.configure(conn).get_current_heads())
    scripts = ScriptDirectory.from_config(alembic_config(engine))
    return SchemaState(current, frozenset(scripts.get_heads()), frozenset(script.revision for script in scripts.walk_revisions()))


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back if it raises."""
    session = sessionmaker(engine, expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
