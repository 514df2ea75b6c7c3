"""docs/interop.md's compatibility table holds: every external tool the project meets has rows,
every row that says mediamatch reads or writes something names tests, and each of those tests
exists. Where python-threatexchange is installed, the names it uses are the ones the table and
the HMA surface claim."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

from mediamatch.services.hma_lookup import CONTENT_SIGNALS, signal_of

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "interop.md"
COLUMNS = ["Tool", "Format or signal", "mediamatch reads", "mediamatch writes", "What differs, and why", "Tests"]
TOOLS = ("python-threatexchange", "HMA", "Meta vPDQ reference", "Meta PDQ reference", "IPED", "VICS tools", "NCMEC")


def table() -> list[dict[str, str]]:
    """The rows of the compatibility table (the page's other tables are explanations)."""
    section = DOC.read_text(encoding="utf-8").split("## Compatibility table", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == COLUMNS
    return [dict(zip(header, (cell.strip() for cell in line.strip("|").split(" | ")), strict=True)) for line in lines[2:]]


def defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_every_tool_has_rows_and_every_claim_names_tests_that_exist() -> None:
    rows = table()
    for tool in TOOLS:
        assert any(tool in row["Tool"] for row in rows), f"no row for {tool}"
    for row in rows:
        claims = [row[column] for column in ("mediamatch reads", "mediamatch writes")]
        assert all(claim.split(":")[0] in ("yes", "no") for claim in claims), row
        assert row["What differs, and why"], row
        tests = [test.strip() for test in row["Tests"].split(",") if test.strip()]
        if any(claim.startswith("yes") for claim in claims):
            assert tests, f"{row['Tool']} / {row['Format or signal']}: a claim without a test"
        for test in tests:
            file, _, name = test.partition("::")
            assert (ROOT / file).is_file() and name in defined_tests(ROOT / file), f"{test} does not exist"


@pytest.mark.skipif(importlib.util.find_spec("threatexchange") is None, reason="python-threatexchange is not installed")
def test_python_threatexchange_names_are_the_ones_claimed() -> None:
    """The signal and content type names HMA takes are python-threatexchange's own."""
    from threatexchange.content_type.photo import PhotoContent
    from threatexchange.content_type.video import VideoContent
    from threatexchange.signal_type.md5 import VideoMD5Signal
    from threatexchange.signal_type.pdq.signal import PdqSignal

    assert (signal_of(PdqSignal.get_name()), signal_of(VideoMD5Signal.get_name())) == ("pdq", "md5")
    assert set(CONTENT_SIGNALS) == {PhotoContent.get_name(), VideoContent.get_name()}
    assert dict(CONTENT_SIGNALS[VideoContent.get_name()])[VideoMD5Signal.get_name()] == "md5"
    assert dict(CONTENT_SIGNALS[PhotoContent.get_name()])[PdqSignal.get_name()] == "pdq"
    doc = DOC.read_text(encoding="utf-8")
    assert all(f"`{name}`" in doc for name in (PdqSignal.get_name(), VideoMD5Signal.get_name()))
