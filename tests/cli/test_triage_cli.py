"""The triage job end to end through the installed command, as a user runs it: `db add`, then
`triage`, killed with SIGKILL mid-run and resumed, compared with an uninterrupted run; an empty
catalogue refused; the exit status of a report with error rows; and the demo that the README's
first command runs.
"""

from __future__ import annotations

import io
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mediamatch.cli.main import app
from mediamatch.services.demo import run_demo
from mediamatch.services.samples import generated_picture

COMMAND = [sys.executable, "-m", "mediamatch.cli.main"]


def mediamatch(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*COMMAND, *args], capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"mediamatch {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


def write_pictures(folder: Path, seeds: range, size: tuple[int, int] = (320, 240)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        buffer = io.BytesIO()
        generated_picture(seed, size).save(buffer, "JPEG", quality=90)
        (folder / f"p{seed:05d}.jpg").write_bytes(buffer.getvalue())


def saved_rows(out: Path) -> int:
    try:
        with sqlite3.connect(out / "triage-state.sqlite") as db:
            return db.execute("SELECT COUNT(*) FROM rows").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_killed_triage_resumes_to_the_same_report(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'catalogue.sqlite'}"
    write_pictures(tmp_path / "known", range(20))
    mediamatch("db", "add", str(tmp_path / "known"), "--series", "Kestrel", "--victim-identified", "--agency", "unit-a", "--db", db, "--workers", "1")
    seized = tmp_path / "seized"
    write_pictures(seized, range(20))  # the known pictures, byte for byte
    write_pictures(seized, range(20, 1200), size=(400, 300))  # never seen

    out = tmp_path / "interrupted"
    process = subprocess.Popen(
        [*COMMAND, "triage", str(seized), "--out", str(out), "--db", db, "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while saved_rows(out) < 300 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "triage finished before it could be interrupted; make the collection larger"
    process.send_signal(signal.SIGKILL)
    process.wait()
    interrupted_at = saved_rows(out)
    assert 0 < interrupted_at < 1200

    refused = mediamatch("triage", str(seized), "--out", str(out), "--db", db, check=False)
    assert refused.returncode == 2 and "--resume" in refused.stderr
    resumed = mediamatch("triage", str(seized), "--out", str(out), "--db", db, "--resume", "--workers", "2")
    assert "already done" in resumed.stderr

    fresh = tmp_path / "fresh"
    mediamatch("triage", str(seized), "--out", str(fresh), "--db", db, "--workers", "2")

    def files(folder: Path) -> list[dict]:
        return json.loads((folder / "report.json").read_text())["files"]

    resumed_files, fresh_files = files(out), files(fresh)
    assert resumed_files == fresh_files
    assert len({entry["path"] for entry in resumed_files}) == len(resumed_files) == 1200
    statuses = [entry["status"] for entry in resumed_files]
    assert statuses.count("known_identified") == 20 and statuses.count("new") == 1180
    assert json.loads((out / "report.json").read_text())["summary"]["known_identified"] == 20


def test_triage_of_a_missing_source_is_a_clear_error(tmp_path: Path) -> None:
    result = mediamatch("triage", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"), "--db", f"sqlite:///{tmp_path / 'c.sqlite'}", check=False)
    assert result.returncode == 2 and "no such file or folder" in result.stderr


def test_demo_classifies_every_file_as_expected(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "demo", workers=1)
    document = json.loads((result.report.parent / "report.json").read_text())
    assert {entry["path"]: entry["status"] for entry in document["files"]} == result.expected
    assert result.report.exists() and result.report.stat().st_size > 10_000
    with pytest.raises(FileExistsError):
        (tmp_path / "mine").mkdir()
        (tmp_path / "mine" / "thesis.txt").write_text("not a demo")
        run_demo(tmp_path / "mine")
    assert (tmp_path / "mine" / "thesis.txt").exists()  # never deletes a folder it did not make


def test_demo_command_prints_the_report_path(tmp_path: Path) -> None:
    result = mediamatch("demo", "--dir", str(tmp_path / "demo"), "--workers", "1")
    report = Path(result.stdout.strip().splitlines()[-1].removeprefix("report: "))
    assert report.name == "report.html" and report.exists()


def test_an_empty_catalogue_is_refused_unless_allowed(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    write_pictures(tmp_path / "seized", range(2))
    assert runner.invoke(app, ["db", "init", "--db", db_url]).exit_code == 0
    refused = runner.invoke(app, ["triage", str(tmp_path / "seized"), "--out", str(tmp_path / "out"), "--db", db_url, "--workers", "1"])
    assert refused.exit_code == 2, refused.output
    assert "the catalogue holds no known media" in refused.output and "--allow-empty-catalogue" in refused.output
    assert not (tmp_path / "out").exists()
    allowed = runner.invoke(
        app, ["triage", str(tmp_path / "seized"), "--out", str(tmp_path / "out"), "--db", db_url, "--workers", "1", "--allow-empty-catalogue"]
    )
    assert allowed.exit_code == 0, allowed.output
    assert json.loads((tmp_path / "out" / "report.json").read_text())["summary"]["new"] == 2


def test_exit_status_1_when_the_report_has_error_rows(tmp_path: Path) -> None:
    runner = CliRunner()
    db = f"sqlite:///{tmp_path / 'catalogue.sqlite'}"
    write_pictures(tmp_path / "known", range(1))
    assert runner.invoke(app, ["db", "add", str(tmp_path / "known"), "--series", "Kestrel", "--workers", "1", "--db", db]).exit_code == 0
    write_pictures(tmp_path / "seized", range(2))
    clean = runner.invoke(app, ["triage", str(tmp_path / "seized"), "--out", str(tmp_path / "clean"), "--db", db, "--workers", "1"])
    assert clean.exit_code == 0, clean.output
    (tmp_path / "seized" / "truncated.jpg").write_bytes((tmp_path / "seized" / "p00001.jpg").read_bytes()[:400])
    failed = runner.invoke(app, ["triage", str(tmp_path / "seized"), "--out", str(tmp_path / "failed"), "--db", db, "--workers", "1"])
    assert failed.exit_code == 1, failed.output
    assert "1 file(s) could not be read or hashed" in failed.output
    summary = json.loads((tmp_path / "failed" / "report.json").read_text())["summary"]
    assert (summary["known_unidentified"], summary["new"], summary["error"]) == (1, 1, 1)  # the report is still complete


def test_the_demo_refuses_a_catalogue_that_holds_media(tmp_path: Path) -> None:
    runner = CliRunner()
    db = f"sqlite:///{tmp_path / 'real.sqlite'}"
    write_pictures(tmp_path / "known", range(1))
    assert runner.invoke(app, ["db", "add", str(tmp_path / "known"), "--series", "Kestrel", "--workers", "1", "--db", db]).exit_code == 0
    refused = runner.invoke(app, ["demo", "--dir", str(tmp_path / "demo"), "--db", db])
    assert refused.exit_code == 2 and "already holds media" in refused.output
    assert not (tmp_path / "demo").exists()
