"""Opening a catalogue database and bringing its schema up to date.

SQLite is the embedded default, opened the way a single-machine tool should be: WAL so readers
never block the writer, foreign keys enforced, and every write transaction started with
`BEGIN IMMEDIATE` so two processes never both read-then-fail to upgrade their lock. PostgreSQL
URLs are routed to the psycopg 3 driver.
"""

from __future__ import annotations

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
    """Upgrade the schema to every head (each feature area keeps its own migration branch)."""
    engine = open_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    command.upgrade(alembic_config(engine), "heads")


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
