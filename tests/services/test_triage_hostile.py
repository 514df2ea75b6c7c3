"""Triage of a hostile drive always ends with a report, and a killed triage always goes on.

Files that make a decoder raise, or state pictures too large to decode, are error rows; an
archive in the folder is opened. Each partial state a kill can leave in the output folder is
made here (by hand, and by really killing a process while it creates the state file), then a
fresh run and a --resume run must both finish with every file's row.
"""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from mediamatch.catalog.hashes import HashRecord
from mediamatch.catalog.records import Match
from mediamatch.services.samples import generated_picture
from mediamatch.services.triage import STATE_FILE, TriageError, TriageState, saved_header, triage
from mediamatch.services.triage_report import write_reports
from tests.hostile_files import png_header_only, tiff_missing_dimensions


class NothingKnown:
    """A catalogue that knows nothing: every picture is new (no database needed)."""

    def match(self, records: Sequence[HashRecord]) -> list[list[Match]]:
        return [[] for _ in records]


def seized_folder(folder: Path, count: int = 5) -> Path:
    folder.mkdir(parents=True)
    for number in range(count):
        buffer = io.BytesIO()
        generated_picture(number, (96, 64)).save(buffer, "JPEG")
        (folder / f"{number}.jpg").write_bytes(buffer.getvalue())
    return folder


def run(source: Path, out: Path, resume: bool = False) -> list[tuple[str, str]]:
    triage(source, out, None, workers=1, resume=resume, matcher=NothingKnown(), catalogue="test")
    state = TriageState(out / STATE_FILE)
    try:
        return [(row.path, row.status) for row in state.rows()]
    finally:
        state.close()


def empty_file(path: Path) -> None:
    path.write_bytes(b"")


def torn_first_page(path: Path) -> None:
    path.write_bytes(b"SQLite format 3\x00" + b"\x10\x00\x02\x02")  # the header cut short


def not_a_database(path: Path) -> None:
    path.write_bytes(os.urandom(4096))


def tables_without_header(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("CREATE TABLE rows (seq INTEGER PRIMARY KEY, path TEXT NOT NULL, status TEXT NOT NULL, data TEXT NOT NULL)")
    db.commit()
    db.close()


def wal_only(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.close()


KILL_DURING_CREATE = """
import os, signal, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA journal_mode=WAL")
db.execute("BEGIN")
db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
db.execute("INSERT INTO meta VALUES ('source', '/elsewhere')")
os.kill(os.getpid(), signal.SIGKILL)
"""


def killed_while_creating(path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", KILL_DURING_CREATE, str(path)], check=False)
    assert done.returncode == -signal.SIGKILL


PARTIAL_STATES: dict[str, Callable[[Path], None]] = {
    "empty file": empty_file,
    "torn first page": torn_first_page,
    "not a database": not_a_database,
    "tables without header": tables_without_header,
    "journal mode only": wal_only,
    "killed while creating": killed_while_creating,
}


@pytest.mark.parametrize("resume", [False, True], ids=["fresh", "resume"])
@pytest.mark.parametrize("make_partial", PARTIAL_STATES.values(), ids=PARTIAL_STATES.keys())
def test_a_state_without_header_starts_again(make_partial, resume: bool, tmp_path: Path) -> None:
    source = seized_folder(tmp_path / "seized")
    expected = run(source, tmp_path / "reference")
    out = tmp_path / "out"
    out.mkdir()
    make_partial(out / STATE_FILE)
    assert saved_header(out / STATE_FILE) is None
    assert run(source, out, resume=resume) == expected
    assert saved_header(out / STATE_FILE)["source"] == str(source.resolve())


def test_a_started_triage_still_needs_resume_and_the_same_source(tmp_path: Path) -> None:
    source = seized_folder(tmp_path / "seized")
    out = tmp_path / "out"
    expected = run(source, out)
    with pytest.raises(TriageError, match="--resume"):
        run(source, out)
    with pytest.raises(TriageError, match="holds the triage of"):
        run(seized_folder(tmp_path / "other"), out, resume=True)
    assert run(source, out, resume=True) == expected


def test_resume_of_nothing_says_so(tmp_path: Path) -> None:
    with pytest.raises(TriageError, match="nothing to resume"):
        run(seized_folder(tmp_path / "seized"), tmp_path / "out", resume=True)


def test_the_header_is_committed_with_the_tables(tmp_path: Path) -> None:
    path = tmp_path / STATE_FILE
    state = TriageState.create(path, source="/evidence", catalogue="test", started="now")
    try:
        other = sqlite3.connect(path)  # another connection sees the header as soon as the file is usable
        assert dict(other.execute("SELECT key, value FROM meta"))["source"] == "/evidence"
        other.close()
    finally:
        state.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_hostile_files_are_error_rows_and_the_report_is_written(workers: int, tmp_path: Path) -> None:
    drive = seized_folder(tmp_path / "drive", count=2)
    (drive / "flipped.tif").write_bytes(tiff_missing_dimensions())
    (drive / "huge.png").write_bytes(png_header_only(16383, 12000, colour_type=6))
    with zipfile.ZipFile(drive / "backup.zip", "w") as archive:
        archive.writestr("photos/flipped.tif", tiff_missing_dimensions())
        archive.writestr("photos/0.jpg", (drive / "0.jpg").read_bytes())
    out = tmp_path / "out"
    summary = triage(drive, out, None, workers=workers, matcher=NothingKnown(), catalogue="test")
    assert summary.total == 6
    state = TriageState(out / STATE_FILE)
    try:
        rows = {row.path: row for row in state.rows()}
        paths = write_reports(state, out)
    finally:
        state.close()
    assert {path: row.status for path, row in rows.items()} == {
        "0.jpg": "new",
        "1.jpg": "new",
        "backup.zip!/photos/0.jpg": "new",
        "backup.zip!/photos/flipped.tif": "error",
        "flipped.tif": "error",
        "huge.png": "error",
    }
    assert "decoder failed: TypeError: Missing dimensions" in rows["flipped.tif"].error
    assert rows["huge.png"].error.startswith("refused: 16383x12000 pixels (RGBA) would need 2.9 GiB to decode; the limit is 512 MiB")
    assert rows["backup.zip!/photos/0.jpg"].signals["sha256"] == rows["0.jpg"].signals["sha256"]
    assert paths["json"].exists() and "huge.png" in paths["html"].read_text()
