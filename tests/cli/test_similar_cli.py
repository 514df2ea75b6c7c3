"""`mediamatch similar`: region search from the command line, JSON or table, and its refusals;
`triage --no-similar` is accepted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mediamatch.cli.main import app
from tests.similar_pictures import crop_area, pasted_into, save, textured_picture

runner = CliRunner()


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("similar-cli")
    url = f"sqlite:///{root / 'catalogue.sqlite'}"
    known = save(textured_picture(11), root / "known" / "owl.jpg")
    result = runner.invoke(app, ["db", "add", str(known), "--series", "Owl", "--db", url, "--workers", "1"])
    assert result.exit_code == 0, result.output
    return url


def test_similar_lists_the_catalogued_picture_a_box_contains(catalogue: str, tmp_path: Path) -> None:
    scene = save(pasted_into(textured_picture(11), textured_picture(60), share=0.5), tmp_path / "scene.jpg")
    result = runner.invoke(app, ["similar", str(scene), "--box", "213,120,320,240", "--json", "--db", catalogue])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    [match] = document["matches"]
    assert (match["series"], match["relation"]) == (["Owl"], "contains") and document["box"] == [213, 120, 320, 240]
    table = runner.invoke(app, ["similar", str(save(crop_area(textured_picture(11), 0.5), tmp_path / "crop.jpg")), "--db", catalogue])
    assert table.exit_code == 0 and "Owl" in table.output and "contains" in table.output


def test_similar_refuses_bad_boxes_and_reports_bad_files(catalogue: str, tmp_path: Path) -> None:
    picture = save(textured_picture(12), tmp_path / "p.jpg")
    assert runner.invoke(app, ["similar", str(picture), "--box", "1,2,3", "--db", catalogue]).exit_code == 2
    assert runner.invoke(app, ["similar", str(tmp_path / "missing.jpg"), "--db", catalogue]).exit_code == 2
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff broken")
    broken = runner.invoke(app, ["similar", str(tmp_path / "broken.jpg"), "--json", "--db", catalogue])
    assert broken.exit_code == 1 and json.loads(broken.stdout)["error"]
    outside = runner.invoke(app, ["similar", str(picture), "--box", "600,400,100,100", "--json", "--db", catalogue])
    assert outside.exit_code == 1 and "not inside" in json.loads(outside.stdout)["error"]


def test_triage_accepts_no_similar(catalogue: str, tmp_path: Path) -> None:
    save(crop_area(textured_picture(11), 0.5), tmp_path / "drive" / "crop.jpg")
    result = runner.invoke(app, ["triage", str(tmp_path / "drive"), "--out", str(tmp_path / "out"), "--no-similar", "--workers", "1", "--db", catalogue])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "out" / "report.json").read_text())["summary"]["new"] == 1
