"""Lists that travel to and from python-threatexchange and HMA: their signal names are read (in any
case), exports can be written in their naming, the real package reads every line we write that
way, and we read its `threatexchange dataset -P --csv` output. Exports leave out PDQ hashes too
poor to match with, as hash lists do."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from interop_support import build_source
from PIL import Image

from mediamatch.interop.csvlists import Layout, read_csv_list, write_csv_list
from mediamatch.interop.records import ExchangeFormatError, ExchangeRecord, RecordError
from mediamatch.services.contribute import ContributionRequest, contribute
from mediamatch.services.exchange import ExportRequest, ImportRequest, export_file, import_file
from mediamatch.signals.crypto import MD5Signal, SHA1Signal, SHA256Signal
from mediamatch.signals.pdq import PDQSignal
from mediamatch.signals.registry import outside_name, resolve_signal
from mediamatch.store.db import migrate, open_engine

PDQ = "f8f8f0cce0f4e84d0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22"
THREATEXCHANGE = "threatexchange"


def test_their_names_resolve_to_ours_in_any_case() -> None:
    assert resolve_signal("PDQ") is PDQSignal and resolve_signal(" pdq ") is PDQSignal
    assert resolve_signal("video_md5") is MD5Signal and resolve_signal("Photo_MD5") is MD5Signal and resolve_signal("md5") is MD5Signal
    assert resolve_signal("VIDEO_SHA256") is SHA256Signal
    assert resolve_signal("url") is None and resolve_signal("tmk_pdqf") is None
    assert [outside_name(signal, THREATEXCHANGE) for signal in (MD5Signal, SHA1Signal, SHA256Signal, PDQSignal)] == ["video_md5", None, "video_sha256", "pdq"]
    assert outside_name(SHA1Signal, "mediamatch") == "sha1"


def test_their_lines_import_and_ours_write_in_their_naming() -> None:
    text = f"PDQ {PDQ}\nvideo_sha256 {'A' * 64}\nphoto_md5 {'b' * 32}\n"
    assert list(read_csv_list(io.StringIO(text))) == [ExchangeRecord(pdq=PDQ), ExchangeRecord(sha256="a" * 64), ExchangeRecord(md5="b" * 32)]
    out = io.StringIO()
    records = [ExchangeRecord(md5="c" * 32, sha1="d" * 40, sha256="e" * 64, pdq=PDQ, photodna="x" * 192), ExchangeRecord(sha1="f" * 40)]
    assert write_csv_list(records, out, Layout.SIGNALS, THREATEXCHANGE) == 1  # the SHA-1-only item has no line in their naming
    assert out.getvalue() == f"video_md5 {'c' * 32}\nvideo_sha256 {'e' * 64}\npdq {PDQ}\n"
    with pytest.raises(ExchangeFormatError, match="writes signal lines"):
        write_csv_list(records, io.StringIO(), Layout.ROWS, THREATEXCHANGE)


def test_dataset_csv_rows_import() -> None:
    text = (
        "signal_type,signal_str,collab,category,tags\r\n"
        f"pdq,{PDQ},Sample,POSITIVE_CLASS,csam known\r\n"
        f"video_md5,{'a' * 32},Sample,INVESTIGATION_SEED,\r\n"
        f"video_sha256,{'b' * 64},Sample,NEGATIVE_CLASS,\r\n"
        "raw_text,hello,Sample,POSITIVE_CLASS,\r\n"
    )
    found = list(read_csv_list(io.StringIO(text, newline="")))
    assert found[:2] == [ExchangeRecord(pdq=PDQ, tags="POSITIVE_CLASS csam known"), ExchangeRecord(md5="a" * 32, tags="INVESTIGATION_SEED")]
    assert isinstance(found[2], RecordError) and found[2].position == "line 4" and "false positive" in found[2].message
    assert isinstance(found[3], RecordError) and found[3].position == "line 5" and "'raw_text' is not kept" in found[3].message


def test_exports_leave_out_pdq_below_the_quality_that_matches(engine: sa.Engine, tmp_path: Path) -> None:
    flat = tmp_path / "flat.png"
    Image.new("RGB", (200, 200), (120, 120, 120)).save(flat)  # a featureless picture: PDQ quality 0
    contribute(engine, [flat], ContributionRequest(series="Lark"), workers=1)
    export_file(engine, tmp_path / "list.txt", ExportRequest(format="csv", options={"csv-layout": "signals"}))
    kinds = [line.split(" ", 1)[0] for line in (tmp_path / "list.txt").read_text().splitlines()]
    assert sorted(kinds) == ["md5", "sha1", "sha256"]


def threatexchange_cli(home: Path, *args: str) -> str:
    """The real `threatexchange` command, with its state (~/.threatexchange) in `home`."""
    environment = {**os.environ, "HOME": str(home)}
    result = subprocess.run([sys.executable, "-m", "threatexchange", *args], env=environment, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_python_threatexchange_reads_every_line_we_write_and_we_read_its_dataset(tmp_path: Path) -> None:
    pytest.importorskip("threatexchange", reason="python-threatexchange is a test dependency (checks its own reading of our lists)")
    source = build_source(f"sqlite:///{tmp_path / 'source.sqlite'}", tmp_path)
    ours = tmp_path / "for-threatexchange.txt"
    summary = export_file(source, ours, ExportRequest(format="csv", options={"naming": THREATEXCHANGE}))
    source.dispose()
    written = set(ours.read_text().splitlines())
    assert summary.skipped == 1 and {line.split(" ", 1)[0] for line in written} == {"video_md5", "video_sha256", "pdq"}

    home = tmp_path / "home"
    home.mkdir()
    threatexchange_cli(home, "config", "collab", "edit", "local_file", "--create", "--filename", str(ours), "mediamatch")
    threatexchange_cli(home, "fetch")
    dataset = threatexchange_cli(home, "dataset", "-P", "--csv")
    rows = list(csv.DictReader(io.StringIO(dataset)))
    assert {f"{row['signal_type']} {row['signal_str']}" for row in rows} == written  # every line read, none dropped

    (tmp_path / "dataset.csv").write_text(dataset)
    fresh = open_engine(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    migrate(fresh)
    back = import_file(fresh, tmp_path / "dataset.csv", "csv", ImportRequest(agency="DE unit", country="DE"))
    assert back.error_count == 0 and back.imported + back.merged == len(rows)
    fresh.dispose()
