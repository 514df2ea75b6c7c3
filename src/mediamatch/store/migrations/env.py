"""Alembic environment: runs migrations on the engine handed over by `store.db.migrate`.

On SQLite, batch migrations recreate a table: copy it, drop the original, rename the copy. With
foreign keys enforced, that drop deletes every referencing row (ON DELETE CASCADE) or fails, so
migrations run with foreign keys off, as Alembic's batch documentation advises, and the result
is checked with `PRAGMA foreign_key_check` before it commits.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from mediamatch.store.models import Base
from mediamatch.store.models.collaboration import described_by_models


def _sqlite_foreign_keys(connection: Connection, enabled: bool) -> None:
    """SQLite ignores this setting inside a transaction, so it goes to the driver directly
    (SQLAlchemy would begin one first)."""
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if enabled else 'OFF'}")  # type: ignore[union-attr]


engine = context.config.attributes["engine"]
with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _sqlite_foreign_keys(connection, False)
    try:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True, include_name=described_by_models)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").all()):
                raise RuntimeError(f"migration left rows whose foreign keys point nowhere (table, rowid, parent): {broken[:5]}")
        connection.commit()
    finally:
        if sqlite:
            if connection.in_transaction():
                connection.rollback()
            _sqlite_foreign_keys(connection, True)  # the pooled connection goes back as it came
