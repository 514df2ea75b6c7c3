"""`mediamatch exchange` end to end on SQLite and PostgreSQL: an item known to another system by
its MD5 only is imported, found by triage of the real file, becomes one item with that file when
it is contributed, and both directions leave audit events."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from mediamatch.audit import trail
from mediamatch.audit.events import AuditAction
from mediamatch.cli.main import app
from mediamatch.services import exchange as exchange_service
from mediamatch.services.matching import CatalogueMatcher
from mediamatch.services.samples import generated_picture
from mediamatch.services.triage import KNOWN_IDENTIFIED, KNOWN_UNIDENTIFIED, NEW, STATE_FILE, TriageRow, TriageState, triage
from mediamatch.store.db import open_engine, session_scope
from mediamatch.store.models.catalogue import Contribution, MediaItem, MediaSignal

runner = CliRunner()
CONTEXT = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media"


def invoke(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def picture(path: Path, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    generated_picture(seed, (320, 240)).save(path, "JPEG", quality=90)
    return path


def run_triage(folder: Path, out: Path, db_url: str) -> dict[str, TriageRow]:
    engine = open_engine(db_url)
    try:
        matcher = CatalogueMatcher.open(engine, cache=out.parent / f"{out.name}-index" / "pdq-index")
        triage(folder, out, engine, workers=1, matcher=matcher)
    finally:
        engine.dispose()
    state = TriageState(out / STATE_FILE)
    try:
        return {row.path: row for row in state.rows()}
    finally:
        state.close()


def test_an_md5_only_record_is_matched_by_triage_and_merges_with_its_file(db_url: str, tmp_path: Path) -> None:
    known = picture(tmp_path / "seized" / "holiday.jpg", seed=5)
    picture(tmp_path / "seized" / "garden.jpg", seed=6)
    sha1_known = picture(tmp_path / "seized" / "beach.jpg", seed=7)
    vics = tmp_path / "projectvic.json"
    vics.write_bytes(b"\xef\xbb\xbf" + json.dumps({"@odata.context": CONTEXT, "value": [
        {"MediaID": 41, "MD5": hashlib.md5(known.read_bytes()).hexdigest().upper(), "Category": "1", "VictimIdentified": "true", "Series": "Kestrel"},
    ]}).encode())  # fmt: skip
    output = invoke("exchange", "import", str(vics), "--format", "vics", "--agency", "US unit", "--country", "US", "--case", "US-9", "--db", db_url)
    assert "1 imported, 0 merged into known items, 0 error(s)" in output
    icse = tmp_path / "icse.csv"
    icse.write_text("MD5;SHA1;PhotoDNA;Image ID;Is distributed;Victim identified;Offender identified;Series name;Number of submissions;File Available;Media Type;Baseline\n"
                    f";{hashlib.sha1(sha1_known.read_bytes()).hexdigest()};;77;;No;;Plover;1;No;Image;Yes\n")  # fmt: skip
    assert "1 imported" in invoke("exchange", "import", str(icse), "--format", "icse", "--agency", "IT unit", "--db", db_url)

    rows = run_triage(tmp_path / "seized", tmp_path / "first", db_url)
    assert {path: row.status for path, row in rows.items()} == {"holiday.jpg": KNOWN_IDENTIFIED, "garden.jpg": NEW, "beach.jpg": KNOWN_UNIDENTIFIED}
    assert [(m.signal, m.series) for m in rows["holiday.jpg"].matches] == [("md5", ("Kestrel",))]
    assert [(m.signal, m.series, m.baseline) for m in rows["beach.jpg"].matches] == [("sha1", ("Plover",), True)]

    output = invoke("db", "add", str(known), "--series", "Kestrel", "--agency", "NL unit", "--workers", "1", "--db", db_url)
    assert "0 added, 1 already known, 0 error(s)" in output and "US unit (US-9)" in output
    engine = open_engine(db_url)
    try:
        with session_scope(engine) as session:
            items = session.scalars(sa.select(MediaItem)).all()
            assert len(items) == 2  # the contributed file completed the imported item
            item = next(item for item in items if item.sha256 is not None)
            assert item.sha256 == hashlib.sha256(known.read_bytes()).hexdigest() and item.sha1 and item.width == 320
            signals = set(session.scalars(sa.select(MediaSignal.signal).where(MediaSignal.media_id == item.id)))
            assert signals == {"md5", "sha1", "sha256", "pdq"}
            assert session.scalar(sa.select(sa.func.count()).select_from(Contribution).where(Contribution.media_id == item.id)) == 2
    finally:
        engine.dispose()
    rows = run_triage(tmp_path / "seized", tmp_path / "second", db_url)
    assert rows["holiday.jpg"].status == KNOWN_IDENTIFIED and rows["holiday.jpg"].matches[0].signal == "sha256"

    out = tmp_path / "export" / "kestrel.json"
    assert "1 record(s) written" in invoke(
        "exchange", "export", "--format", "vics", "--vics-version", "1.3", "--series", "Kestrel", "--out", str(out), "--db", db_url
    )
    exported = json.loads(out.read_text(encoding="utf-8"))["value"]
    assert [(media["MD5"].lower(), media["VictimIdentified"], media["Series"]) for media in exported] == [
        (hashlib.md5(known.read_bytes()).hexdigest(), True, "Kestrel")
    ]
    output = invoke("exchange", "export", "--format", "vics", "--out", str(tmp_path / "all.json"), "--db", db_url)
    assert "1 record(s) written" in output and "1 item(s) the format or naming cannot hold were left out" in output  # the SHA-1-only item

    engine = open_engine(db_url)
    try:
        with session_scope(engine) as session:
            events = trail.query(session, trail.AuditFilter(actions=(AuditAction.EXCHANGE_IMPORTED, AuditAction.EXCHANGE_EXPORTED)))
    finally:
        engine.dispose()
    assert [(event.action, event.agency, event.object_id) for event in events] == [
        ("exchange_imported", "US unit", "projectvic.json"), ("exchange_imported", "IT unit", "icse.csv"),
        ("exchange_exported", "local", "kestrel.json"), ("exchange_exported", "local", "all.json"),
    ]  # fmt: skip
    assert json.loads(events[0].detail) == {
        "format": "vics",
        "file": "projectvic.json",
        "imported": 1,
        "merged": 0,
        "uncategorised": 0,
        "errors": 0,
        "case": "US-9",
        "finished": True,
    }
    assert json.loads(events[2].detail)["series"] == "Kestrel" and json.loads(events[2].detail)["written"] == 1

    # For python-threatexchange and HMA: their signal names; the SHA-1-only item has no line in them
    output = invoke("exchange", "export", "--format", "csv", "--naming", "threatexchange", "--out", str(tmp_path / "te.txt"), "--db", db_url)
    assert "1 item(s) the format or naming cannot hold were left out" in output
    kinds = {line.split(" ", 1)[0] for line in (tmp_path / "te.txt").read_text().splitlines()}
    assert kinds == {"video_md5", "video_sha256", "pdq"}


def test_import_lists_bad_records_and_exits_non_zero(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text(f"md5 {'1' * 32}\nmd5 12345\nurl https://example.invalid/\nsha1 {'2' * 40}\n")
    output = invoke("exchange", "import", str(path), "--format", "csv", "--db", db_url, code=1)
    assert "2 imported, 0 merged into known items, 2 error(s)" in output
    assert "line 2" in output and "md5 must be 32 hex digits" in output and "line 3" in output

    bogus = tmp_path / "bogus.json"
    bogus.write_text("this is not JSON")
    output = invoke("exchange", "import", str(bogus), "--format", "vics", "--db", db_url, code=2)
    assert "not a VICS JSON document" in output
    output = invoke("exchange", "export", "--format", "vics", "--vics-version", "3.1", "--out", str(tmp_path / "x.json"), "--db", db_url, code=2)
    assert "'3.1' is not one of" in output and not (tmp_path / "x.json").exists()


def test_an_interrupted_import_keeps_and_audits_what_it_committed(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "list.txt"
    path.write_text("".join(f"md5 {n:032x}\n" for n in range(1, 701)))
    real = exchange_service.read_file

    def interrupted(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        for n, entry in enumerate(real(*args, **kwargs), start=1):  # type: ignore[arg-type]
            if n == 650:
                raise KeyboardInterrupt  # Ctrl-C during the second batch
            yield entry

    monkeypatch.setattr(exchange_service, "read_file", interrupted)
    assert runner.invoke(app, ["exchange", "import", str(path), "--format", "csv", "--db", db_url]).exit_code != 0
    engine = open_engine(db_url)
    try:
        with session_scope(engine) as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(MediaItem)) == exchange_service.COMMIT_EVERY
            events = trail.query(session, trail.AuditFilter(actions=(AuditAction.EXCHANGE_IMPORTED,)))
    finally:
        engine.dispose()
    assert [(json.loads(event.detail)["imported"], json.loads(event.detail)["finished"]) for event in events] == [(exchange_service.COMMIT_EVERY, False)]


def test_records_without_a_category_are_counted_and_the_flag_fills_them_only_when_given(db_url: str, tmp_path: Path) -> None:
    """ICSE exports carry no category: without --category every record is uncategorised."""
    header = (
        "MD5;SHA1;PhotoDNA;Image ID;Is distributed;Victim identified;Offender identified;Series name;Number of submissions;File Available;Media Type;Baseline\n"
    )
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(header + f"{'1' * 32};;;1;;;;;;;;\n{'2' * 32};;;2;;;;;;;;\n")
    second.write_text(header + f"{'3' * 32};;;3;;;;;;;;\n")
    output = invoke("exchange", "import", str(first), "--format", "icse", "--db", db_url)
    assert "2 imported" in output and "2 record(s) are uncategorised" in output
    output = invoke("exchange", "import", str(second), "--format", "icse", "--category", "2", "--db", db_url)
    assert "1 imported" in output and "uncategorised" not in output
    engine = open_engine(db_url)
    try:
        with session_scope(engine) as session:
            assert dict(session.execute(sa.select(MediaItem.md5, MediaItem.category)).all()) == {"1" * 32: None, "2" * 32: None, "3" * 32: 2}
    finally:
        engine.dispose()

    output = invoke("exchange", "export", "--format", "icse", "--csv-layout", "rows", "--out", str(tmp_path / "x.csv"), "--db", db_url, code=2)
    assert "--csv-layout is not an option of icse export" in output and not (tmp_path / "x.csv").exists()
    output = invoke("exchange", "import", str(first), "--format", "icse", "--signal-type", "md5", "--db", db_url, code=2)
    assert "--signal-type is not an option of icse import" in output


def test_an_icse_export_in_cp1252_is_read_with_a_warning_or_as_told(tmp_path: Path) -> None:
    header = (
        "MD5;SHA1;PhotoDNA;Image ID;Is distributed;Victim identified;Offender identified;Series name;Number of submissions;File Available;Media Type;Baseline"
    )
    icse = tmp_path / "icse.csv"
    icse.write_bytes(f"{header}\r\n{'1' * 32};;;1001;;;;Série Ñandú;;;;\r\n".encode("cp1252"))
    guessed = invoke("exchange", "import", str(icse), "--format", "icse", "--db", f"sqlite:///{tmp_path / 'a.sqlite'}")
    assert "1 imported" in guessed and "1 warning(s)" in guessed and "cp1252" in guessed
    told = invoke("exchange", "import", str(icse), "--format", "icse", "--encoding", "cp1252", "--db", f"sqlite:///{tmp_path / 'b.sqlite'}")
    assert "1 imported" in told and "0 warning(s)" in told
    refused = invoke("exchange", "import", str(icse), "--format", "vics", "--encoding", "cp1252", "--db", f"sqlite:///{tmp_path / 'c.sqlite'}", code=2)
    assert "--encoding is not an option of vics import" in refused
    out = tmp_path / "out.csv"
    invoke("exchange", "export", "--format", "icse", "--out", str(out), "--db", f"sqlite:///{tmp_path / 'b.sqlite'}")
    assert out.read_text(encoding="utf-8").splitlines()[1].startswith(f"{'1' * 32};;;1001;")  # the Image ID written back
