"""NCMEC-style CSV rows and ThreatExchange signal lines: round trips, signal types as
python-threatexchange names them, bare values, and bad lines reported while the rest imports."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from interop_support import PHOTODNA_BASE64, PHOTODNA_HEX, build_source, exported, import_into_fresh, md5_of

from mediamatch.exchange.csvlists import Layout, read_csv_list
from mediamatch.exchange.records import ExchangeFormatError, ExchangeRecord, Format, RecordError
from mediamatch.services.exchange import ExportRequest, ImportRequest, export_file, import_file
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import MediaItem, MediaSignal

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6339b0e90f2c6"


def test_rows_round_trip(db_url: str, tmp_path: Path) -> None:
    source = build_source(f"sqlite:///{tmp_path / 'source.sqlite'}", tmp_path)
    first = exported(source, Format.CSV, tmp_path / "first.csv")
    fresh = import_into_fresh(db_url, tmp_path / "first.csv", Format.CSV)
    second = exported(fresh, Format.CSV, tmp_path / "second.csv")
    assert second == first
    assert len(first) == 7  # one row per item: rows carry no series
    picture = next(record for record in first if record.md5 == md5_of(tmp_path / "files" / "scene-0.jpg"))
    assert picture.sha256 and picture.pdq and picture.category == 1 and picture.baseline is False
    assert {record.photodna for record in first} == {None, PHOTODNA_BASE64, PHOTODNA_HEX}
    assert (tmp_path / "first.csv").read_text().splitlines()[0] == "id,md5,sha1,sha256,pdq,photodna,category,baseline"
    with session_scope(fresh) as session:  # files' SHA-256 came along, but no file: never "available"
        assert session.scalar(sa.select(sa.func.count()).select_from(MediaItem).where(MediaItem.sha256.is_not(None), MediaItem.file_available.is_(False))) == 3
    fresh.dispose()


def test_signal_lines_round_trip(db_url: str, tmp_path: Path) -> None:
    source = build_source(f"sqlite:///{tmp_path / 'source.sqlite'}", tmp_path)
    export_file(source, tmp_path / "first.txt", ExportRequest(format=Format.CSV, layout=Layout.SIGNALS))
    fresh = import_into_fresh(db_url, tmp_path / "first.txt", Format.CSV)
    export_file(fresh, tmp_path / "second.txt", ExportRequest(format=Format.CSV, layout=Layout.SIGNALS))
    first = Counter((tmp_path / "first.txt").read_text().splitlines())
    assert Counter((tmp_path / "second.txt").read_text().splitlines()) == first
    kinds = Counter(line.split(" ", 1)[0] for line in first)
    assert kinds == {"md5": 6, "sha1": 5, "sha256": 3, "pdq": 3, "photodna": 2}
    fresh.dispose()


def test_threatexchange_file_lines() -> None:
    text = (
        "\ufeff# a ThreatExchange file collaboration\n"
        f"pdq {PDQ}\n"
        f"video_md5 {'A' * 32}\n"
        f"photodna,{PHOTODNA_BASE64}\n"
        f"sha256\t{'b' * 64}\n"
        "\n"
        "url https://example.invalid/\n"
        f"{'c' * 32}\n"
        f"{'d' * 40}\n"
        f"{'e' * 64}\n"
        "pdq 1234\n"
    )
    found = list(read_csv_list(io.StringIO(text, newline="")))
    assert found[:4] == [
        ExchangeRecord(pdq=PDQ), ExchangeRecord(md5="a" * 32), ExchangeRecord(photodna=PHOTODNA_BASE64), ExchangeRecord(sha256="b" * 64),
    ]  # fmt: skip
    assert isinstance(found[4], RecordError) and found[4].position == "line 7" and "'url' is not kept" in found[4].message
    assert found[5:7] == [ExchangeRecord(md5="c" * 32), ExchangeRecord(sha1="d" * 40)]
    assert isinstance(found[7], RecordError) and found[7].position == "line 10" and "needs its signal type" in found[7].message
    assert isinstance(found[8], RecordError) and found[8].position == "line 11" and "pdq must be 64 hex digits" in found[8].message
    as_pdq = list(read_csv_list(io.StringIO(f"{PDQ}\n{'e' * 64}\n"), signal_type="pdq"))
    assert as_pdq == [ExchangeRecord(pdq=PDQ), ExchangeRecord(pdq="e" * 64)]
    with pytest.raises(ExchangeFormatError, match="unknown signal type"):
        list(read_csv_list(io.StringIO(PDQ), signal_type="tmk_pdqf"))


def test_ncmec_style_rows_import(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "ncmec.csv"
    path.write_text(
        "id,type,classification,md5,sha1,pdna,pdq\n"
        f"image1,image,A1,{'1' * 32},{'2' * 40},{PHOTODNA_BASE64},{PDQ}\n"
        f"video1,video,A2,{'3' * 32},,,\n"
        f"image2,image,B1,not-md5,,,\n"
        f"image3,image,,,,,{PDQ}\n",
        encoding="utf-8",
    )
    summary = import_file(engine, path, Format.CSV, ImportRequest(agency="Platform X"))
    assert (summary.imported, summary.merged, summary.error_count) == (2, 1, 1)  # image3 is image1's PDQ
    assert summary.errors[0].position == "line 4"
    with session_scope(engine) as session:
        items = {item.md5: item for item in session.scalars(sa.select(MediaItem))}
        assert (items["1" * 32].tags, items["1" * 32].media_type, items["3" * 32].media_type) == ("A1", "image", "video")
        signals = set(session.execute(sa.select(MediaSignal.signal, MediaSignal.value).where(MediaSignal.media_id == items["1" * 32].id)).all())
        assert signals == {("md5", "1" * 32), ("sha1", "2" * 40), ("photodna", PHOTODNA_BASE64), ("pdq", PDQ)}
