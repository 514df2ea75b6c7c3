"""Migration 0004_interop on a catalogue that already holds data: SQLite recreates
`media_items` and `media_signals`, which must not cascade-delete a single signal, contribution
or series link; afterwards hash-only items and PhotoDNA-length values fit, SHA-256 stays unique,
and a downgrade that would lose hash-only items is refused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from mediamatch.store.db import alembic_config, migrate, open_engine

TABLES = ("media_items", "media_signals", "contributions", "media_series", "series_victims", "media_victims")
SHA256 = "ab" * 32


def counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {table: conn.scalar(sa.text(f"SELECT count(*) FROM {table}")) for table in TABLES}


def insert(engine: sa.Engine, statements: list[str]) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))


def test_upgrade_keeps_every_row_and_then_takes_hash_only_items(db_url: str) -> None:
    engine = open_engine(db_url)
    config = alembic_config(engine)
    command.upgrade(config, "0003_server")  # the schema before this migration
    command.upgrade(config, "0002_audit")
    now = "'2026-01-01 00:00:00'"
    insert(engine, [
        f"INSERT INTO agencies (id, name, country, created_at) VALUES (1, 'NL unit', 'NL', {now})",
        f"INSERT INTO series (id, name, notes, created_at) VALUES (1, 'Lark', '', {now})",
        f"INSERT INTO victims (id, reference, identified, created_at) VALUES (1, 'Lark/victim-1', true, {now})",
        f"INSERT INTO media_items (id, sha256, md5, sha1, media_type, size, category, baseline, created_at) VALUES (1, '{SHA256}', '{'c' * 32}', '{'d' * 40}', 'image/jpeg', 10, 1, false, {now})",
        "INSERT INTO media_signals (media_id, signal, value) VALUES (1, 'md5', 'cccccccccccccccccccccccccccccccc')",
        f"INSERT INTO media_signals (media_id, signal, value) VALUES (1, 'sha256', '{SHA256}')",
        f"INSERT INTO contributions (media_id, agency_id, series_id, original_name, contributed_at) VALUES (1, 1, 1, 'a.jpg', {now})",
        "INSERT INTO media_series (media_id, series_id) VALUES (1, 1)",
        "INSERT INTO series_victims (series_id, victim_id) VALUES (1, 1)",
        "INSERT INTO media_victims (media_id, victim_id) VALUES (1, 1)",
    ])  # fmt: skip
    before = counts(engine)
    assert before == {"media_items": 1, "media_signals": 2, "contributions": 1, "media_series": 1, "series_victims": 1, "media_victims": 1}

    migrate(engine)
    assert counts(engine) == before
    insert(engine, [
        f"INSERT INTO media_items (id, sha256, md5, sha1, media_type, size, category, baseline, created_at) VALUES ({n}, NULL, '{n:032x}', '', 'image', 0, 1, false, {now})"
        for n in (2, 3)
    ] + [f"INSERT INTO media_signals (media_id, signal, value) VALUES (2, 'photodna', '{'F' * 288}')"])  # fmt: skip
    with pytest.raises(sa.exc.IntegrityError):  # still unique where present
        insert(
            engine,
            [
                f"INSERT INTO media_items (id, sha256, md5, sha1, media_type, size, category, baseline, created_at) VALUES (4, '{SHA256}', '', '', 'x', 0, 1, false, {now})"
            ],
        )
    with pytest.raises(sa.exc.IntegrityError):  # foreign keys are enforced again after the migration
        insert(engine, ["INSERT INTO contributions (media_id, agency_id, original_name, contributed_at) VALUES (99, 1, '', '2026-01-01')"])

    with pytest.raises(RuntimeError, match="2 hash-only item"):
        command.downgrade(config, "0003_server")  # undoes 0004_interop (and its siblings)
    insert(engine, ["DELETE FROM media_items WHERE id IN (2, 3)"])
    command.downgrade(config, "0003_server")
    assert counts(engine) == before
    assert not sa.inspect(engine).get_columns("media_items")[1]["nullable"]  # sha256 NOT NULL again
    engine.dispose()
