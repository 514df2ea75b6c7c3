"""Migration 0006_uncategorised on a catalogue that already holds data: every item keeps its
category, NULL (uncategorised) is taken afterwards while the 0-4 range is still enforced, and a
downgrade is refused while an uncategorised item exists."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from mediamatch.store.db import alembic_config, open_engine

REVISION = "0006_uncategorised"
NOW = "'2026-01-01 00:00:00'"


def item(number: int, category: str) -> str:
    return (
        "INSERT INTO media_items (id, sha256, md5, sha1, media_type, size, category, baseline, created_at) "
        f"VALUES ({number}, NULL, '{number:032x}', '', 'image/jpeg', 1, {category}, false, {NOW})"
    )


def insert(engine: sa.Engine, statements: list[str]) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))


def category_column(engine: sa.Engine) -> dict[str, object]:
    return next(column for column in sa.inspect(engine).get_columns("media_items") if column["name"] == "category")


def test_upgrade_keeps_categories_then_takes_uncategorised_items(db_url: str) -> None:
    engine = open_engine(db_url)
    config = alembic_config(engine)
    before = ScriptDirectory.from_config(config).get_revision(REVISION).down_revision
    parents = before if isinstance(before, tuple) else (before,)
    for revision in parents:
        command.upgrade(config, revision)
    insert(engine, [item(1, "1"), item(2, "0")])
    assert not category_column(engine)["nullable"]

    command.upgrade(config, REVISION)
    assert category_column(engine)["nullable"]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT id, category FROM media_items ORDER BY id")).all() == [(1, 1), (2, 0)]
    insert(engine, [item(3, "NULL")])
    with pytest.raises(sa.exc.IntegrityError):  # the Project VIC range is still enforced
        insert(engine, [item(4, "5")])

    with pytest.raises(RuntimeError, match="1 uncategorised item"):
        command.downgrade(config, parents[0])
    insert(engine, ["DELETE FROM media_items WHERE id = 3"])
    command.downgrade(config, parents[0])  # only this revision descends from its parent
    assert not category_column(engine)["nullable"]
    engine.dispose()
