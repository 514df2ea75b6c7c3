"""Browser triage runs over generated pictures, on SQLite and PostgreSQL: an uploaded folder
and an archive run in the background and fill the grid's rows (who first contributed each
known file included), the grid filters, sorts and pages, pictures are reduced unless revealed,
a selection is contributed with its categories, a CLI report opens as a run, and paths outside
the evidence roots are refused.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from mediamatch.catalog.hashes import BytesSource
from mediamatch.services.contribute import ContributionRequest, contribute
from mediamatch.services.matching import CatalogueMatcher
from mediamatch.services.samples import generated_picture
from mediamatch.services.triage import STATE_FILE, TriageState, triage
from mediamatch.services.triage_grid import RowQuery, get_run, page_rows, row_detail, set_category
from mediamatch.services.triage_report import write_reports
from mediamatch.services.triage_runs import (
    RunRefused,
    RunRunner,
    SelectionContribution,
    contribute_rows,
    create_server_run,
    create_upload_run,
    execute_run,
    import_report,
    row_picture,
    safe_relative_path,
)
from mediamatch.store.blobs import EncryptedBlobStore
from mediamatch.store.db import session_scope
from mediamatch.store.keys import Keyring, generate_key
from mediamatch.store.models.catalogue import Agency
from mediamatch.store.models.server import SeriesInterest
from mediamatch.store.models.triage_runs import TriageRun, TriageRunRow


def jpeg(seed: int) -> bytes:
    buffer = io.BytesIO()
    generated_picture(seed, (320, 240)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


KNOWN = {f"known-{seed}.jpg": jpeg(seed) for seed in (1, 2)}
NEW = {f"new-{seed}.jpg": jpeg(seed) for seed in (11, 12, 13)}


@pytest.fixture
def agencies(engine: sa.Engine) -> tuple[int, int]:
    """Agency A has contributed the known pictures (series "Lark"); agency B triages."""
    contribute(engine, [BytesSource(name, data) for name, data in KNOWN.items()], ContributionRequest(series="Lark", agency="Unit A"), workers=1)
    with session_scope(engine) as session:
        unit_b = Agency(name="Unit B", country="BR")
        session.add(unit_b)
        session.flush()
        unit_a = session.scalar(sa.select(Agency.id).where(Agency.name == "Unit A"))
        assert unit_a is not None
        return unit_a, unit_b.id


def seized_files() -> list[tuple[str, io.BytesIO]]:
    files = {**{f"drive/DCIM/{name}": data for name, data in KNOWN.items()}, **{f"drive/new/{name}": data for name, data in NEW.items()}}
    files["drive/notes.txt"] = b"not a picture"
    return [(name, io.BytesIO(data)) for name, data in sorted(files.items())]


def run_upload(engine: sa.Engine, root: Path, agency_id: int, files: list[tuple[str, io.BytesIO]]) -> int:
    with session_scope(engine) as session:
        run_id = create_upload_run(session, root, agency_id, "someone@b", files)
    execute_run(engine, run_id, lambda: CatalogueMatcher.open(engine), workers=1)
    return run_id


def test_an_uploaded_folder_is_triaged_into_the_grid(engine: sa.Engine, agencies: tuple[int, int], tmp_path: Path) -> None:
    unit_a, unit_b = agencies
    run_id = run_upload(engine, tmp_path / "runs", unit_b, seized_files())
    with session_scope(engine) as session:
        run = get_run(session, run_id, unit_b)
        assert (run.state, run.kind, run.label, run.done, run.total, run.percent) == ("finished", "upload", "drive", 6, 6, 100)
        assert run.counts["known_unidentified"] == 2 and run.counts["new"] == 3 and run.counts["not_media"] == 1
        known = page_rows(session, run_id, unit_b, RowQuery(status="known_unidentified"))
        assert [(row.path, row.series, row.known_from, row.best_distance) for row in known.rows] == [
            ("drive/DCIM/known-1.jpg", "Lark", "Unit A", 0),
            ("drive/DCIM/known-2.jpg", "Lark", "Unit A", 0),
        ]
        assert known.series_choices == ("Lark",)
        # B matched Lark: B is told when Lark's victim is identified
        assert session.scalar(sa.select(SeriesInterest.reason).where(SeriesInterest.agency_id == unit_b)) == "matched"
        with pytest.raises(LookupError):
            get_run(session, run_id, unit_a)  # another agency's run does not exist for it


def test_a_run_a_stopped_server_left_starts_again(engine: sa.Engine, agencies: tuple[int, int], tmp_path: Path) -> None:
    _, unit_b = agencies
    finished = run_upload(engine, tmp_path / "runs", unit_b, seized_files())
    with session_scope(engine) as session:
        stopped = create_upload_run(session, tmp_path / "runs", unit_b, "someone@b", seized_files())
        session.execute(sa.update(TriageRun).where(TriageRun.id == stopped).values(state="running", done=3))
        session.execute(sa.insert(TriageRunRow), [{"run_id": stopped, "seq": 0, "path": "half-done", "status": "new", "media_kind": "image", "data": "{}"}])
    runner = RunRunner(engine, lambda: CatalogueMatcher.open(engine), workers=1)
    try:
        assert len(runner.restarted) == 1
        runner.restarted[0].result(timeout=120)
    finally:
        runner.shutdown()
    with session_scope(engine) as session:
        again = get_run(session, stopped, unit_b)
        assert (again.state, again.done, again.counts) == ("finished", 6, get_run(session, finished, unit_b).counts)
        assert "half-done" not in {row.path for row in page_rows(session, stopped, unit_b, RowQuery()).rows}


def test_the_grid_filters_sorts_and_pages(engine: sa.Engine, agencies: tuple[int, int], tmp_path: Path) -> None:
    _, unit_b = agencies
    run_id = run_upload(engine, tmp_path / "runs", unit_b, seized_files())
    with session_scope(engine) as session:
        everything = page_rows(session, run_id, unit_b, RowQuery(per_page=4))
        assert (everything.total, everything.pages, len(everything.rows)) == (6, 2, 4)
        second = page_rows(session, run_id, unit_b, RowQuery(per_page=4, page=2))
        assert [row.seq for row in everything.rows] + [row.seq for row in second.rows] == list(range(6))
        backwards = [page_rows(session, run_id, unit_b, RowQuery(per_page=4, page=page, descending=True)).rows for page in (1, 2)]
        assert [row.seq for rows in backwards for row in rows] == list(reversed(range(6)))
        assert page_rows(session, run_id, unit_b, RowQuery(per_page=4, page=3)).rows == ()
        by_size = page_rows(session, run_id, unit_b, RowQuery(sort="size", descending=True)).rows
        sizes = [row.size or 0 for row in by_size]
        assert sizes == sorted(sizes, reverse=True) and by_size[-1].path == "drive/notes.txt"
        assert [row.path for row in page_rows(session, run_id, unit_b, RowQuery(media_kind="other")).rows] == ["drive/notes.txt"]
        assert page_rows(session, run_id, unit_b, RowQuery(category="1")).total == 2  # the known ones, as contributed
        assert page_rows(session, run_id, unit_b, RowQuery(category="none")).total == 4
        assert page_rows(session, run_id, unit_b, RowQuery(series="Lark", status="new")).total == 0


def test_pictures_are_reduced_unless_revealed(engine: sa.Engine, agencies: tuple[int, int], tmp_path: Path) -> None:
    _, unit_b = agencies
    run_id = run_upload(engine, tmp_path / "runs", unit_b, seized_files())
    with session_scope(engine) as session:
        seq = page_rows(session, run_id, unit_b, RowQuery(status="new")).rows[0].seq
        reduced = Image.open(io.BytesIO(row_picture(session, run_id, unit_b, seq, reveal=False)))
        revealed = Image.open(io.BytesIO(row_picture(session, run_id, unit_b, seq, reveal=True)))
        full = Image.open(io.BytesIO(row_picture(session, run_id, unit_b, seq, reveal=True, size=1600)))
    assert reduced.mode == "L" and revealed.mode == "RGB"
    assert max(revealed.size) == 256 and full.size == (320, 240)  # never enlarged


def test_a_selection_is_contributed_with_its_categories(engine: sa.Engine, agencies: tuple[int, int], tmp_path: Path) -> None:
    _, unit_b = agencies
    run_id = run_upload(engine, tmp_path / "runs", unit_b, seized_files())
    blobs = EncryptedBlobStore(tmp_path / "blobs", Keyring({"k": generate_key()}, current_id="k"))
    with session_scope(engine) as session:
        new_rows = page_rows(session, run_id, unit_b, RowQuery(status="new")).rows
        assert set_category(session, run_id, unit_b, new_rows[0].seq, 2) is None
    outcomes = contribute_rows(engine, blobs, run_id, unit_b, [row.seq for row in new_rows], SelectionContribution(series="Wren", category=1))
    assert [outcome.status for outcome in outcomes] == ["added"] * 3
    with session_scope(engine) as session:
        contributed = page_rows(session, run_id, unit_b, RowQuery(status="new")).rows
        assert {row.contributed_series for row in contributed} == {"Wren"}
        assert session.scalar(sa.select(SeriesInterest.reason).where(SeriesInterest.agency_id == unit_b, SeriesInterest.series_id.is_not(None))) in {
            "matched",
            "contributed",
        }
    assert all(blobs.get(outcome.sha256 or "") for outcome in outcomes)
    # a second triage of the same files now finds them known, in the category each was given
    again = run_upload(engine, tmp_path / "runs", unit_b, seized_files())
    with session_scope(engine) as session:
        wren = page_rows(session, run_id=again, agency_id=unit_b, query=RowQuery(series="Wren")).rows
        assert sorted(row.category for row in wren) == [1, 1, 2]
        assert {row.known_from for row in wren} == {"Unit B"}


def test_an_uploaded_archive_is_triaged_like_a_folder(engine: sa.Engine, agencies: tuple[int, int], tmp_path: Path) -> None:
    _, unit_b = agencies
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        for name, stream in seized_files():
            zipped.writestr(name, stream.getvalue())
    archive.seek(0)
    run_id = run_upload(engine, tmp_path / "runs", unit_b, [("seized.zip", archive)])
    with session_scope(engine) as session:
        run = get_run(session, run_id, unit_b)
        assert (run.kind, run.label, run.counts["known_unidentified"], run.counts["new"]) == ("archive", "seized.zip", 2, 3)
        seq = page_rows(session, run_id, unit_b, RowQuery(status="new")).rows[0].seq
        assert Image.open(io.BytesIO(row_picture(session, run_id, unit_b, seq, reveal=True))).size == (256, 192)
        assert row_detail(session, run_id, unit_b, seq).width == 320


def test_a_cli_report_opens_as_a_run(engine: sa.Engine, agencies: tuple[int, int], tmp_path: Path) -> None:
    _, unit_b = agencies
    folder = tmp_path / "seized"
    for name, stream in seized_files():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(stream.getvalue())
    triage(folder, tmp_path / "out", engine, workers=1, matcher=CatalogueMatcher.open(engine))
    state = TriageState(tmp_path / "out" / STATE_FILE)
    try:
        report = write_reports(state, tmp_path / "out")["json"].read_bytes()
    finally:
        state.close()
    with session_scope(engine) as session:
        run_id = import_report(session, tmp_path / "runs", unit_b, "someone@b", "report.json", report)
        run = get_run(session, run_id, unit_b)
        assert (run.kind, run.state, run.done, run.has_files) == ("report", "finished", 6, False)
        known = page_rows(session, run_id, unit_b, RowQuery(status="known_unidentified")).rows
        assert [row.series for row in known] == ["Lark", "Lark"]
        assert row_detail(session, run_id, unit_b, known[0].seq).signals["sha256"]
        with pytest.raises(RunRefused, match="not a mediamatch triage report"):
            import_report(session, tmp_path / "runs", unit_b, "someone@b", "notes.json", json.dumps({"files": []}).encode())


def test_server_paths_must_lie_inside_the_evidence_roots(engine: sa.Engine, agencies: tuple[int, int], tmp_path: Path) -> None:
    _, unit_b = agencies
    evidence, elsewhere = tmp_path / "evidence", tmp_path / "elsewhere"
    (evidence / "case-1").mkdir(parents=True)
    elsewhere.mkdir()
    (evidence / "escape").symlink_to(elsewhere)
    with session_scope(engine) as session:
        with pytest.raises(RunRefused, match="does not allow"):
            create_server_run(session, tmp_path / "runs", unit_b, "b", str(evidence / "case-1"), [])
        for outside in (elsewhere, evidence / "case-1" / ".." / ".." / "elsewhere", evidence / "escape"):
            with pytest.raises(RunRefused, match="outside the evidence roots"):
                create_server_run(session, tmp_path / "runs", unit_b, "b", str(outside), [evidence])
        with pytest.raises(RunRefused, match="no such file"):
            create_server_run(session, tmp_path / "runs", unit_b, "b", str(evidence / "missing"), [evidence])
        run_id = create_server_run(session, tmp_path / "runs", unit_b, "b", str(evidence / "case-1"), [evidence])
        assert get_run(session, run_id, unit_b).kind == "server"


@pytest.mark.parametrize("name", ["../escape.jpg", "/etc/passwd", "a/../../b.jpg", "C:/x.jpg", ""])
def test_upload_names_cannot_leave_the_run_folder(name: str) -> None:
    with pytest.raises(RunRefused):
        safe_relative_path(name)
