"""Opening the catalogue from the command line: a mistyped --db is refused, not created empty;
a database without the schema, or with another program's tables, or from a newer mediamatch, is
refused; PostgreSQL is upgraded only by `db upgrade`. Every refusal exits 2 and says what to run."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from mediamatch.cli.main import app
from mediamatch.store.db import alembic_config, open_engine, schema_state

runner = CliRunner()


def invoke(*args: str, code: int = 0, env: dict[str, str] | None = None) -> str:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result.output


def reading_commands(tmp_path: Path) -> list[list[str]]:
    """Commands that read a catalogue and must never create one."""
    (tmp_path / "seized").mkdir(exist_ok=True)
    return [
        ["series", "list"], ["db", "upgrade"], ["audit", "list"], ["hashlist", "versions"],
        ["triage", str(tmp_path / "seized"), "--out", str(tmp_path / "report")],
        ["exchange", "export", "--format", "csv", "--out", str(tmp_path / "out.csv")],
    ]  # fmt: skip


def test_a_mistyped_sqlite_catalogue_is_refused_and_never_created(tmp_path: Path) -> None:
    typo = tmp_path / "typo" / "catalgue.sqlite"
    for command_line in reading_commands(tmp_path):
        output = invoke(*command_line, "--db", f"sqlite:///{typo}", code=2)
        assert f"no catalogue at sqlite:///{typo}: the file does not exist" in output, command_line
        assert f"mediamatch db init --db sqlite:///{typo}" in output
    assert not typo.parent.exists()
    assert not (tmp_path / "report").exists() and not (tmp_path / "out.csv").exists()


def test_the_default_catalogue_is_refused_naming_where_it_was_looked_for(tmp_path: Path) -> None:
    env = {"MEDIAMATCH_HOME": str(tmp_path / "home"), "MEDIAMATCH_DB": ""}
    output = invoke("series", "list", code=2, env=env)
    assert "no catalogue at sqlite:///" in output and "the default; choose another with --db or $MEDIAMATCH_DB" in output
    assert not (tmp_path / "home" / "catalogue.sqlite").exists()
    invoke("db", "init", env=env)
    assert "no series in the catalogue yet" in invoke("series", "list", env=env)


def test_a_database_without_the_schema_is_refused_until_db_init(db_url: str, tmp_path: Path) -> None:
    if db_url.startswith("sqlite"):
        Path(db_url.removeprefix("sqlite:///")).touch()  # an empty file: SQLite's empty database
    for command_line in reading_commands(tmp_path):
        assert "holds no catalogue yet. Create one with `mediamatch db init --db" in invoke(*command_line, "--db", db_url, code=2), command_line
    engine = open_engine(db_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
        assert "catalogue ready" in invoke("db", "init", "--db", db_url)
        assert "no series in the catalogue yet" in invoke("series", "list", "--db", db_url)
        state = schema_state(engine)
        assert state.current == state.heads and state.newer == frozenset()
    finally:
        engine.dispose()


def test_another_programs_sqlite_file_is_refused_even_by_db_init(tmp_path: Path) -> None:
    path = tmp_path / "browser-history.sqlite"
    engine = open_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE visits (url TEXT)"))
        for command_line in (["db", "init"], ["db", "add", str(tmp_path), "--series", "X"], ["series", "list"]):
            assert "is not a mediamatch catalogue" in invoke(*command_line, "--db", f"sqlite:///{path}", code=2), command_line
        assert sa.inspect(engine).get_table_names() == ["visits"]
    finally:
        engine.dispose()


def test_a_schema_behind_is_upgraded_on_sqlite_and_refused_on_postgresql_until_db_upgrade(db_url: str) -> None:
    engine = open_engine(db_url)
    config = alembic_config(engine)
    scripts = ScriptDirectory.from_config(config)
    base = scripts.get_base()
    if base in scripts.get_heads():
        pytest.skip("a single migration: no earlier schema to start from")
    try:
        command.upgrade(config, base)
        if db_url.startswith("sqlite"):
            invoke("series", "list", "--db", db_url)  # the embedded catalogue is upgraded in place
        else:
            output = invoke("series", "list", "--db", db_url, code=2)
            assert f"is at schema revision {base}" in output and "Run `mediamatch db upgrade --db" in output
            assert schema_state(engine).current == {base}  # refused before anything changed
            assert "catalogue ready" in invoke("db", "upgrade", "--db", db_url)
        state = schema_state(engine)
        assert state.current == state.heads
        invoke("series", "list", "--db", db_url)
    finally:
        engine.dispose()


def test_a_catalogue_from_a_newer_mediamatch_is_refused(db_url: str) -> None:
    invoke("db", "init", "--db", db_url)
    engine = open_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES ('9999_future')"))
        for command_line in (["series", "list"], ["db", "upgrade"], ["db", "init"]):
            assert "made by a newer mediamatch (schema revision 9999_future): upgrade mediamatch" in invoke(*command_line, "--db", db_url, code=2)
    finally:
        engine.dispose()


def test_an_unreachable_server_is_a_clear_error_that_hides_the_password() -> None:
    output = invoke("series", "list", "--db", "postgresql://mm:s3cret@127.0.0.1:1/mm", code=2)
    assert "cannot open postgresql+psycopg://mm:***@127.0.0.1:1/mm" in output and "s3cret" not in output
