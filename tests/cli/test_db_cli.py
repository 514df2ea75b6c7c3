"""`mediamatch db` and `mediamatch series` end to end through Typer, on a real database."""

from __future__ import annotations

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

    output = invoke("db", "add", *files, "--series", "Lark", "--category", "1", "--victim-identified",
                    "--agency", "nlpol", "--case", "C42", "--workers", "1", "--db", db_url)
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
