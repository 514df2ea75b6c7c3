"""Triage of a generated seized collection against a generated catalogue, on SQLite and
PostgreSQL: every file in its class, archives equal folders, reports agree, interruptions resume
without duplicates, and hostile input becomes error rows while the run completes.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import tarfile
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from mediamatch.services.demo import build_catalogue, build_seized_folder
from mediamatch.services.matching import CatalogueMatcher
from mediamatch.services.samples import generated_picture
from mediamatch.services.triage import STATE_FILE, TriageError, TriageRow, TriageState, triage
from mediamatch.services.triage_report import defuse, write_reports
from mediamatch.store.db import open_engine


@pytest.fixture
def catalogue(tmp_path: Path, db_url: str) -> sa.Engine:
    build_catalogue(tmp_path / "catalogue-files", db_url, workers=1)
    engine = open_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def matcher(catalogue: sa.Engine, tmp_path: Path) -> CatalogueMatcher:
    return CatalogueMatcher.open(catalogue, cache=tmp_path / "index" / "pdq-index")


@pytest.fixture
def seized(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    folder = tmp_path / "seized"
    return folder, build_seized_folder(folder)


def run(source: Path, out: Path, engine: sa.Engine, matcher: CatalogueMatcher, **options: object) -> list[TriageRow]:
    triage(source, out, engine, workers=1, matcher=matcher, **options)  # type: ignore[arg-type]
    state = TriageState(out / STATE_FILE)
    try:
        return list(state.rows())
    finally:
        state.close()


def test_every_file_lands_in_its_class(catalogue, matcher, seized, tmp_path: Path) -> None:
    folder, expected = seized
    rows = run(folder, tmp_path / "out", catalogue, matcher)
    assert {row.path: row.status for row in rows} == expected
    by_path = {row.path: row for row in rows}
    exact = by_path["DCIM/harbour-exact-copy.jpg"].matches[0]
    assert (exact.signal, exact.distance, exact.series, exact.victim_identified) == ("sha256", 0, ("Harbour",), True)
    edited = by_path["DCIM/meadow-reencoded-q50.jpg"].matches[0]
    assert edited.signal == "pdq" and 0 < edited.distance <= 31 and edited.series == ("Meadow",)
    assert not edited.victim_identified
    mirrored = by_path["Pictures/harbour-mirrored.webp"].matches[0]
    assert mirrored.transform == "flipy"  # found through the query's dihedral variants
    assert "truncated" in (by_path["Pictures/damaged-transfer.jpg"].error or "")


def test_same_catalogue_item_is_reported_once_per_file(catalogue, matcher, seized, tmp_path: Path) -> None:
    folder, _ = seized
    rows = run(folder, tmp_path / "out", catalogue, matcher)
    for row in rows:
        ids = [match.media_id for match in row.matches]
        assert len(ids) == len(set(ids)), row.path


def test_zip_and_tar_give_the_same_result_as_the_folder(catalogue, matcher, seized, tmp_path: Path) -> None:
    folder, _ = seized
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    with zipfile.ZipFile(tmp_path / "seized.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(folder).as_posix())
    with tarfile.open(tmp_path / "seized.tar.gz", "w:gz") as archive:
        for path in files:
            archive.add(path, path.relative_to(folder).as_posix())

    def summary(rows: list[TriageRow]) -> list[tuple]:
        return sorted((row.path, row.status, row.signals.get("sha256"), tuple((m.media_id, m.distance) for m in row.matches)) for row in rows)

    from_folder = summary(run(folder, tmp_path / "out-folder", catalogue, matcher))
    assert summary(run(tmp_path / "seized.zip", tmp_path / "out-zip", catalogue, matcher)) == from_folder
    assert summary(run(tmp_path / "seized.tar.gz", tmp_path / "out-tar", catalogue, matcher)) == from_folder


def test_reports_parse_and_agree(catalogue, matcher, seized, tmp_path: Path) -> None:
    folder, expected = seized
    out = tmp_path / "out"
    run(folder, out, catalogue, matcher)
    state = TriageState(out / STATE_FILE)
    try:
        paths = write_reports(state, out)
    finally:
        state.close()
    document = json.loads(paths["json"].read_text())
    assert {entry["path"]: entry["status"] for entry in document["files"]} == expected
    assert sum(document["summary"].values()) == len(expected)
    assert document["summary"]["new"] == sum(status == "new" for status in expected.values())
    for entry in document["files"]:
        assert set(entry) >= {"path", "sha256", "status", "matches", "error"}
        for match in entry["matches"]:
            assert set(match) >= {"media_id", "series", "category", "victim_identified", "distance", "signal"}
    with paths["csv"].open(newline="") as handle:
        csv_rows = list(csv.DictReader(handle))
    assert [(row["path"], row["status"], row["sha256"]) for row in csv_rows] == [
        (entry["path"], entry["status"], entry["sha256"] or "") for entry in document["files"]
    ]
    html = paths["html"].read_text()
    for path in expected:
        assert path in html
    known_and_new = sum(status in ("known_identified", "known_unidentified", "new") for status in expected.values())
    videos = sum(path.endswith(".mp4") for path in expected)  # a contact sheet instead of a thumbnail
    assert html.count('<img alt="thumbnail') + html.count('<img alt="contact sheet') == known_and_new
    assert html.count('<img alt="contact sheet') == videos
    assert "grayscale(1) blur(" in html  # blurred and greyscale until clicked
    assert "http://" not in html and "https://" not in html  # self-contained


def test_csv_defuses_formulas_in_hostile_file_names() -> None:
    assert defuse('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert defuse("@SUM(A1)") == "'@SUM(A1)"
    assert defuse("photo.jpg") == "photo.jpg"
    assert defuse(None) == ""


def test_interrupted_run_resumes_without_duplicates(catalogue, matcher, seized, tmp_path: Path, monkeypatch) -> None:
    folder, expected = seized
    import mediamatch.services.triage as triage_module

    monkeypatch.setattr(triage_module, "COMMIT_EVERY_ROWS", 4)
    monkeypatch.setattr(triage_module, "COMMIT_EVERY_SECONDS", 3600.0)  # batches by count only: a slow machine must not commit early
    seen: list[str] = []

    def interrupt_after_nine(row: TriageRow) -> None:
        seen.append(row.path)
        if len(seen) == 9:
            raise KeyboardInterrupt

    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        triage(folder, out, catalogue, workers=1, matcher=matcher, on_row=interrupt_after_nine)
    saved = sqlite3.connect(out / STATE_FILE).execute("SELECT COUNT(*) FROM rows").fetchone()[0]
    assert saved == 8  # two committed batches of four; the ninth row was not committed

    with pytest.raises(TriageError, match="--resume"):
        triage(folder, out, catalogue, workers=1, matcher=matcher)
    resumed_rows: list[str] = []
    summary = triage(folder, out, catalogue, workers=1, matcher=matcher, resume=True, on_row=lambda row: resumed_rows.append(row.path))
    assert summary.resumed_from == 8 and len(resumed_rows) == len(expected) - 8
    state = TriageState(out / STATE_FILE)
    rows = list(state.rows())
    state.close()
    assert [row.path for row in rows] == [row.path for row in run(folder, tmp_path / "fresh", catalogue, matcher)]
    assert {row.path: row.status for row in rows} == expected


def test_resume_refuses_another_source(catalogue, matcher, seized, tmp_path: Path) -> None:
    folder, _ = seized
    out = tmp_path / "out"
    run(folder, out, catalogue, matcher)
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(TriageError, match="holds the triage of"):
        triage(other, out, catalogue, workers=1, matcher=matcher, resume=True)


def jpeg(seed: int) -> bytes:
    buffer = io.BytesIO()
    generated_picture(seed, (320, 240)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def test_hostile_archive_members_are_error_rows(catalogue, matcher, tmp_path: Path) -> None:
    archive_path = tmp_path / "hostile.zip"
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ok.jpg", jpeg(5000))
        archive.writestr("../../etc/escape.jpg", jpeg(5001))
        archive.writestr("/absolute.jpg", jpeg(5002))
        archive.writestr("bomb.bin", b"\x00" * (64 * 1024 * 1024))  # ~64 KB compressed, 1000x ratio
        link = zipfile.ZipInfo("link-to-passwd")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
        archive.writestr("after.jpg", jpeg(5003))
    rows = {row.path: row for row in run(archive_path, tmp_path / "out", catalogue, matcher)}
    assert rows["ok.jpg"].status == "new" and rows["after.jpg"].status == "new"
    assert "path traversal" in rows["../../etc/escape.jpg"].error
    assert "path traversal" in rows["/absolute.jpg"].error
    assert "archive bomb" in rows["bomb.bin"].error
    assert "link" in rows["link-to-passwd"].error
    assert all(rows[name].status == "error" for name in ("../../etc/escape.jpg", "/absolute.jpg", "bomb.bin", "link-to-passwd"))
    assert not (tmp_path.parent / "etc" / "escape.jpg").exists()


def test_hostile_tar_links_are_not_followed(catalogue, matcher, tmp_path: Path) -> None:
    archive_path = tmp_path / "hostile.tar"
    with tarfile.open(archive_path, "w") as archive:
        data = jpeg(6000)
        info = tarfile.TarInfo("pictures/a.jpg")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
        symlink = tarfile.TarInfo("pictures/link.jpg")
        symlink.type, symlink.linkname = tarfile.SYMTYPE, "/etc/shadow"
        archive.addfile(symlink)
        hardlink = tarfile.TarInfo("pictures/hard.jpg")
        hardlink.type, hardlink.linkname = tarfile.LNKTYPE, "pictures/a.jpg"
        archive.addfile(hardlink)
    rows = {row.path: row for row in run(archive_path, tmp_path / "out", catalogue, matcher)}
    assert rows["pictures/a.jpg"].status == "new"
    assert rows["pictures/link.jpg"].status == "error" and "link" in rows["pictures/link.jpg"].error
    assert rows["pictures/hard.jpg"].status == "error"


def test_hostile_folder_entries_are_error_rows(catalogue, matcher, tmp_path: Path) -> None:
    folder = tmp_path / "drive"
    (folder / "loop").mkdir(parents=True)
    os.symlink(folder / "loop", folder / "loop" / "again")  # a symlink loop
    os.symlink(folder / "missing.jpg", folder / "dangling.jpg")
    os.mkfifo(folder / "pipe.jpg")
    with open(folder / "sparse.bin", "wb") as handle:  # 1 GB, almost no disk
        handle.truncate(1024**3)
    (folder / "good.jpg").write_bytes(jpeg(7000))
    odd_name = os.fsencode(folder) + b"/caf\xe9.jpg"  # not valid UTF-8
    with open(odd_name, "wb") as handle:
        handle.write(jpeg(7001))
    locked = folder / "locked.jpg"
    locked.write_bytes(jpeg(7002))
    locked.chmod(0)
    rows = {row.path: row for row in run(folder, tmp_path / "out", catalogue, matcher)}
    assert rows["loop/again"].status == "error" and "symbolic link" in rows["loop/again"].error
    assert rows["dangling.jpg"].status == "error"
    assert rows["pipe.jpg"].status == "error" and "not a regular file" in rows["pipe.jpg"].error
    assert rows["sparse.bin"].status == "error" and "size limit" in rows["sparse.bin"].error
    assert rows["good.jpg"].status == "new"
    assert rows["caf\\xe9.jpg"].status == "new"  # hashed, and named readably in the report
    if os.geteuid() != 0:  # root reads a mode-000 file anyway
        assert rows["locked.jpg"].status == "error"
    assert len(rows) == 7


def test_archives_inside_a_folder_and_inside_archives_are_triaged(catalogue, matcher, seized, tmp_path: Path) -> None:
    folder, expected = seized
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as archive:
        for path in files:
            archive.add(path, path.relative_to(folder).as_posix())
    drive = tmp_path / "drive"
    (drive / "backup").mkdir(parents=True)
    with zipfile.ZipFile(drive / "backup" / "phone.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("old/seized.tar.gz", inner.getvalue())
    rows = run(drive, tmp_path / "out", catalogue, matcher)
    prefix = "backup/phone.zip!/old/seized.tar.gz!/"
    assert {row.path: row.status for row in rows} == {prefix + path: status for path, status in expected.items()}
    exact = next(row for row in rows if row.path == prefix + "DCIM/harbour-exact-copy.jpg")
    assert exact.matches[0].series == ("Harbour",)
