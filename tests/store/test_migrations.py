"""The migrations are the schema: they create every table the models declare, re-running them
changes nothing, and autogenerate finds no difference between models and migrations (a model
edited without a migration would otherwise only fail on a deployed database).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from mediamatch.store import db
from mediamatch.store.db import alembic_config, migrate, new_revision, next_revision_id, open_engine, session_scope
from mediamatch.store.models import Base
from mediamatch.store.models.catalogue import Agency
from mediamatch.store.models.collaboration import described_by_models

EXPECTED_TABLES = {
    "agencies",
    "cases",
    "series",
    "victims",
    "offenders",
    "media_items",
    "media_signals",
    "media_features",
    "media_embeddings",
    "contributions",
    "media_series",
    "media_victims",
    "series_victims",
    "series_offenders",
    "users",
    "api_tokens",
    "enrolments",
    "audit_events",
    "notifications",
    "series_interest",
    "agency_webhooks",
    "hits",
    "hit_reviews",
    "hit_reports",
    "indicator_disputes",
    "hashlist_versions",
    "platform_sharing_consents",
    "media_exchange_fields",
    "investigations",
    "clues",
    "clue_revisions",
    "comments",
    "help_requests",
    "subscriptions",
    "search_documents",
    "triage_runs",
    "triage_run_rows",
    "wellness_settings",
}


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = open_engine(db_url)
    yield engine
    engine.dispose()


def _tables(engine: sa.Engine) -> set[str]:
    """The tables models describe (the search index's FTS5 tables are made by hand)."""
    return {name for name in sa.inspect(engine).get_table_names() if described_by_models(name, "table", {})}


def _heads(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def test_migrate_creates_every_model_table(engine: sa.Engine) -> None:
    assert _tables(engine) == set()
    migrate(engine)
    tables = _tables(engine)
    assert set(Base.metadata.tables) == EXPECTED_TABLES  # a new model must be added here and migrated
    assert tables == EXPECTED_TABLES | {"alembic_version"}
    assert _heads(engine) == set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())


def test_migrate_accepts_a_url(db_url: str) -> None:
    migrate(db_url)
    engine = open_engine(db_url)
    try:
        assert _tables(engine) >= EXPECTED_TABLES
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
        assert conn.scalar(sa.text("SELECT count(*) FROM alembic_version")) == 1


def test_models_and_migrations_do_not_drift(engine: sa.Engine) -> None:
    migrate(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True, "include_name": described_by_models})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


#: The heads the feature areas' branches ended in before 0005_linear joined them: databases
#: deployed before then are at some or all of these.
BRANCH_HEADS = ("0002_audit", "0004_hashlists", "0004_interop", "0004_review", "0004_video")


def test_the_history_is_linear_with_one_head() -> None:
    scripts = ScriptDirectory.from_config(alembic_config(open_engine("sqlite://")))
    assert scripts.get_heads() == [scripts.get_current_head()]
    assert scripts.get_revision("0005_linear").down_revision == BRANCH_HEADS
    for rev in scripts.walk_revisions():
        assert not rev.branch_labels, f"{rev.revision} has branch labels: the history has no branches"
        if rev.is_merge_point:
            assert rev.revision == "0005_linear", f"{rev.revision} merges branches again: chain it after the head instead"


def test_a_database_at_the_old_branch_heads_upgrades_to_the_one_head(engine: sa.Engine) -> None:
    config = alembic_config(engine)
    for head in BRANCH_HEADS:  # how `upgrade heads` left a catalogue before 0005_linear
        command.upgrade(config, head)
    assert _heads(engine) == set(BRANCH_HEADS)
    migrate(engine)
    assert _heads(engine) == {ScriptDirectory.from_config(config).get_current_head()}


def test_a_new_revision_chains_after_the_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`mediamatch db revision` writes NNNN_slug.py after the head; with the models unchanged, autogenerate finds nothing."""
    migrations = tmp_path / "migrations"
    shutil.copytree(db.MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(db, "MIGRATIONS_DIR", migrations)
    head = ScriptDirectory.from_config(alembic_config(open_engine("sqlite://"))).get_current_head()
    number = int(next_revision_id("x")[:4])

    path = new_revision("Add the Thing, table!")

    assert path == migrations / "versions" / f"{number:04d}_add_the_thing_table.py"
    text = path.read_text()
    assert f"down_revision = {head!r}" in text
    assert "op." not in text.replace("from alembic import op", "")  # no schema change to write
    scripts = ScriptDirectory.from_config(alembic_config(open_engine("sqlite://")))
    assert scripts.get_heads() == [f"{number:04d}_add_the_thing_table"]
    assert new_revision("by hand", autogenerate=False).name == f"{number + 1:04d}_by_hand.py"
