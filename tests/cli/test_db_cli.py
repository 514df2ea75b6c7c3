"""`mediamatch db` and `mediamatch series` end to end through Typer, on a real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image
from typer.testing import CliRunner

from mediamatch.cli.main import app
from mediamatch.store.db import open_engine

runner = CliRunner()


def make_jpegs(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        image = Image.new("RGB", (32, 32), ((i * 70) % 256, 90, 200 - i * 40))
        image.putpixel((i, i), (255, 255, 255))
        path = folder / f"f{i}.jpg"
        image.save(path, "JPEG")
        paths.append(path)
    return paths


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_init_creates_the_catalogue(db_url: str) -> None:
    output = invoke("db", "init", "--db", db_url)
    assert "catalogue ready" in output
    engine = open_engine(db_url)
    try:
        assert {"media_items", "contributions", "alembic_version"} <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert "catalogue ready" in invoke("db", "upgrade", "--db", db_url)  # idempotent


def test_add_then_list_and_show_series(db_url: str, tmp_path: Path) -> None:
    files = [str(p) for p in make_jpegs(tmp_path / "in", 3)]
    invoke("db", "init", "--db", db_url)
    assert "no series in the catalogue yet" in invoke("series", "list", "--db", db_url)

    output = invoke(
        "db",
        "add",
        *files,
        "--series",
        "Lark",
        "--category",
        "1",
        "--victim-identified",
        "--agency",
        "nlpol",
        "--case",
        "C42",
        "--workers",
        "1",
        "--db",
        db_url,
    )
    assert "series 'Lark': 3 added, 0 already known, 0 error(s)" in output

    # The same files from another agency: known, and the table names who had them first.
    output = invoke("db", "add", files[0], "--series", "Lark", "--agency", "bka", "--workers", "1", "--db", db_url)
    assert "0 added, 1 already known, 0 error(s)" in output
    assert "nlpol (C42)" in output and "known" in output

    listing = invoke("series", "list", "--db", db_url)
    [row] = [line for line in listing.splitlines() if "Lark" in line]
    assert [cell.strip() for cell in row.split("│")[1:6]] == ["Lark", "3", "1", "1", "2"]

    shown = invoke("series", "show", "Lark", "--db", db_url)
    assert "Lark: 3 item(s), 1/1 victim(s) identified, 2 agency(ies)" in shown
    assert "contribution" in shown and "identification" in shown
    assert "3 item(s), case C42" in shown and "nlpol" in shown and "bka" in shown
    assert "Lark/victim-1" in shown


def test_show_unknown_series_fails(db_url: str) -> None:
    invoke("db", "init", "--db", db_url)
    result = runner.invoke(app, ["series", "show", "Nope", "--db", db_url])
    assert result.exit_code == 1
    assert "no series named 'Nope'" in result.output


def test_add_reports_errors_and_exits_non_zero(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [good] = make_jpegs(tmp_path, 1)
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    monkeypatch.chdir(tmp_path)  # short relative names, so the 80-column table shows them whole
    result = runner.invoke(app, ["db", "add", good.name, "bad.jpg", "--series", "Wren", "--workers", "1", "--db", sqlite_url])
    assert result.exit_code == 1, result.output
    assert "1 added, 0 already known, 1 error(s)" in result.output
    [row] = [line for line in result.output.splitlines() if "bad.jpg" in line]
    assert [cell.strip() for cell in row.split("│")[1:3]] == ["bad.jpg", "error"]
    assert "corrupt or truncated" in result.output


@pytest.mark.parametrize("category", ["5", "-1"])
def test_add_rejects_an_unknown_category(sqlite_url: str, tmp_path: Path, category: str) -> None:
    [good] = make_jpegs(tmp_path, 1)
    result = runner.invoke(app, ["db", "add", str(good), "--series", "X", "--category", category, "--db", sqlite_url])
    assert result.exit_code == 2


def table_counts(db_url: str, *tables: str) -> dict[str, int]:
    engine = open_engine(db_url)
    try:
        with engine.connect() as conn:
            return {table: conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one() for table in tables}
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--series", "", "--series: the series name is empty"),
        ("--series", "   ", "--series: the series name is empty"),
        ("--series", "Lark\nOwl", "holds control or invisible characters (U+000A)"),
        ("--series", "L" * 201, "at most 200"),
        ("--country", "Netherlands", "--country: 'Netherlands' is not an ISO 3166-1 alpha-2 country code; for Netherlands use NL"),
        ("--country", "ZZ", "not an ISO 3166-1 alpha-2 country code"),
        ("--agency", " ", "--agency: the agency name is empty"),
        ("--case", "C\x07", "U+0007"),
    ],
)
def test_add_refuses_bad_input_before_anything_is_written(tmp_path: Path, option: str, value: str, message: str) -> None:
    files = [str(p) for p in make_jpegs(tmp_path / "in", 1)]
    catalogue = tmp_path / "catalogue.sqlite"
    arguments = {"--series": "Lark", option: value}
    result = runner.invoke(app, ["db", "add", *files, *[part for pair in arguments.items() for part in pair], "--db", f"sqlite:///{catalogue}"])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())  # the console may wrap a long message
    assert not catalogue.exists()


def test_add_refuses_a_missing_path_before_anything_is_written(tmp_path: Path) -> None:
    [good] = make_jpegs(tmp_path / "in", 1)
    catalogue = tmp_path / "catalogue.sqlite"
    result = runner.invoke(app, ["db", "add", str(good), str(tmp_path / "in" / "typo.jpg"), "--series", "Lark", "--db", f"sqlite:///{catalogue}"])
    assert result.exit_code == 2 and "does not exist" in result.output
    assert not catalogue.exists()


def test_add_stores_what_was_typed_cleaned(db_url: str, tmp_path: Path) -> None:
    files = [str(p) for p in make_jpegs(tmp_path / "in", 1)]
    invoke("db", "add", *files, "--series", "  Lark ", "--agency", "NL unit", "--country", "nl", "--workers", "1", "--db", db_url)
    engine = open_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT name FROM series")).scalars().all() == ["Lark"]
            assert conn.execute(sa.text("SELECT name, country FROM agencies")).all() == [("NL unit", "NL")]
    finally:
        engine.dispose()


def test_a_failed_add_leaves_nothing_behind(db_url: str, tmp_path: Path) -> None:
    invoke("db", "init", "--db", db_url)
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    result = runner.invoke(app, ["db", "add", str(tmp_path / "bad.jpg"), "--series", "Wren", "--agency", "NL unit", "--case", "C1",
                                 "--victim-identified", "--workers", "1", "--db", db_url])  # fmt: skip
    assert result.exit_code == 1 and "0 added, 0 already known, 1 error(s)" in result.output
    assert table_counts(db_url, "series", "agencies", "cases", "victims", "media_items", "contributions", "audit_events") == dict.fromkeys(
        ("series", "agencies", "cases", "victims", "media_items", "contributions", "audit_events"), 0
    )


def test_a_rerun_records_no_contribution_twice_and_is_audited(db_url: str, tmp_path: Path) -> None:
    files = [str(p) for p in make_jpegs(tmp_path / "in", 4)]
    common = ("--series", "Lark", "--agency", "NL unit", "--case", "C1", "--workers", "1", "--db", db_url)
    invoke("db", "add", *files[:2], *common)  # as far as a killed run got
    assert "2 added, 2 already known, 0 error(s)" in invoke("db", "add", *files, *common)
    assert table_counts(db_url, "media_items", "contributions") == {"media_items": 4, "contributions": 4}
    invoke("db", "add", *files, *common)
    assert table_counts(db_url, "media_items", "contributions") == {"media_items": 4, "contributions": 4}
    invoke("db", "add", files[0], *common[:4], "--case", "C2", *common[6:])  # another case: a genuinely new contribution
    assert table_counts(db_url, "media_items", "contributions") == {"media_items": 4, "contributions": 5}

    engine = open_engine(db_url)
    try:
        with engine.connect() as conn:
            events = conn.execute(sa.text("SELECT actor, agency, action, object_type, object_id, detail, source_ip FROM audit_events ORDER BY seq")).all()
    finally:
        engine.dispose()
    assert len(events) == 4
    assert all(
        e.actor.startswith("cli:")
        and len(e.actor) > 4
        and (e.agency, e.action, e.object_type, e.object_id, e.source_ip) == ("NL unit", "upload", "series", "Lark", "")
        for e in events
    )
    assert [json.loads(e.detail) for e in events[:2]] == [
        {"files": 2, "added": 2, "known": 0, "errors": 0, "case": "C1", "finished": True},
        {"files": 4, "added": 2, "known": 2, "errors": 0, "case": "C1", "finished": True},
    ]
