"""The migrations are the schema: they create every table the models declare, re-running them
changes nothing, and autogenerate finds no difference between models and migrations (a model
edited without a migration would otherwise only fail on a deployed database).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from mediamatch.store.db import alembic_config, migrate, open_engine, session_scope
from mediamatch.store.models import Base
from mediamatch.store.models.catalogue import Agency

EXPECTED_TABLES = {
    "agencies", "cases", "series", "victims", "offenders", "media_items", "media_signals",
    "contributions", "media_series", "media_victims", "series_victims", "series_offenders",
    "users", "api_tokens", "audit_events", "notifications", "series_interest", "agency_webhooks",
    "hits", "hit_reviews", "hit_reports", "indicator_disputes",
    "hashlist_versions", "platform_sharing_consents",
}


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = open_engine(db_url)
    yield engine
    engine.dispose()


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def _heads(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def test_migrate_creates_every_model_table(engine: sa.Engine) -> None:
    assert _tables(engine) == set()
    migrate(engine)
    tables = _tables(engine)
    assert set(Base.metadata.tables) == EXPECTED_TABLES  # a new model must be added here and migrated
    assert tables == EXPECTED_TABLES | {"alembic_version"}
    script_heads = set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
    assert script_heads and _heads(engine) == script_heads


def test_migrate_accepts_a_url(db_url: str) -> None:
    migrate(db_url)
    engine = open_engine(db_url)
    try:
        assert EXPECTED_TABLES <= _tables(engine)
    finally:
        engine.dispose()


def test_migrate_twice_is_a_no_op(engine: sa.Engine) -> None:
    migrate(engine)
    with session_scope(engine) as session:
        session.add(Agency(name="kept", country="NL"))
    heads, tables = _heads(engine), _tables(engine)
    migrate(engine)
    assert _heads(engine) == heads
    assert _tables(engine) == tables
    with session_scope(engine) as session:
        assert session.scalars(sa.select(Agency.name)).all() == ["kept"]
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM alembic_version")) == len(heads)


def test_models_and_migrations_do_not_drift(engine: sa.Engine) -> None:
    migrate(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
