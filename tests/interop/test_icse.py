"""ICSE hash exports: a round trip, PhotoDNA kept byte for byte, flags in every spelling, columns
in any order, and bad rows reported by line while the rest imports."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from interop_support import PHOTODNA_BASE64, PHOTODNA_HEX, build_source, exported, import_into_fresh, md5_of

from mediamatch.interop.icse import COLUMNS
from mediamatch.interop.records import ExchangeFormatError
from mediamatch.services.exchange import ImportRequest, import_file
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import MediaItem, MediaSignal, Series

HEADER = ";".join(COLUMNS)
MD5 = [f"{n:032x}" for n in range(1, 10)]


def write_rows(path: Path, header: str, rows: list[str], bom: bool = False) -> Path:
    text = "\r\n".join([header, *rows]) + "\r\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def test_export_import_export_gives_the_same_rows(db_url: str, tmp_path: Path) -> None:
    source = build_source(f"sqlite:///{tmp_path / 'source.sqlite'}", tmp_path)
    first = exported(source, "icse", tmp_path / "first.csv")
    fresh = import_into_fresh(db_url, tmp_path / "first.csv", "icse")
    second = exported(fresh, "icse", tmp_path / "second.csv")
    assert second == first
    assert len(first) == 8  # six items, two of them in two series
    assert (tmp_path / "first.csv").read_text(encoding="utf-8").splitlines()[0] == HEADER

    by_key = {(record.md5 or record.sha1, record.series): record for record in first}
    picture = by_key[md5_of(tmp_path / "files" / "scene-0.jpg"), "Lark"]
    assert (picture.victim_identified, picture.file_available, picture.media_type, picture.submissions) == (True, True, "Image", 2)
    hash_only = by_key["0" * 31 + "1", "Heron"]
    assert (hash_only.photodna, hash_only.offender_identified, hash_only.distributed, hash_only.file_available) == (PHOTODNA_BASE64, True, True, False)
    assert by_key["0" * 31 + "2", None].photodna == PHOTODNA_HEX and by_key["0" * 31 + "2", None].baseline is True
    assert by_key["0" * 31 + "3", "Wren"].submissions == 7  # as the source said, not recounted
    assert by_key["a" * 40, None].victim_identified is True
    raw = (tmp_path / "second.csv").read_text(encoding="utf-8")
    assert f";{PHOTODNA_BASE64};" in raw and f";{PHOTODNA_HEX};" in raw
    with session_scope(fresh) as session:
        assert set(session.scalars(sa.select(MediaSignal.value).where(MediaSignal.signal == "photodna"))) == {PHOTODNA_BASE64, PHOTODNA_HEX}
    fresh.dispose()


def test_flags_in_every_spelling_columns_in_any_order_and_a_bom(engine: sa.Engine, tmp_path: Path) -> None:
    header = "Series name;Baseline;md5;Victim identified;Offender identified;Is distributed;File Available;Number of submissions;PhotoDNA;Comment"
    rows = [
        f"Osprey;Yes;{MD5[0]};Y;t;TRUE;1;3;{PHOTODNA_HEX.lower()};not a column we keep",
        f"Osprey;no;{MD5[1].upper()};N;f;false;0;;;",
        f";0;{MD5[2]};;;;;;;",
    ]
    summary = import_file(engine, write_rows(tmp_path / "icse.csv", header, rows, bom=True), "icse", ImportRequest(agency="IT unit"))
    assert (summary.imported, summary.error_count) == (3, 0)
    with session_scope(engine) as session:
        items = {item.md5: item for item in session.scalars(sa.select(MediaItem))}
        first, second, third = items[MD5[0]], items[MD5[1]], items[MD5[2]]
        assert (first.baseline, first.distributed, first.file_available, first.submissions) == (True, True, True, 3)
        assert (second.baseline, second.distributed, second.file_available, second.submissions) == (False, False, False, None)
        assert (third.baseline, third.distributed, third.series) == (False, None, [])
        osprey = session.scalar(sa.select(Series).where(Series.name == "Osprey"))
        assert [v.identified for v in osprey.victims] == [True] and [o.identified for o in osprey.offenders] == [True]
        assert session.scalar(sa.select(MediaSignal.value).where(MediaSignal.signal == "photodna")) == PHOTODNA_HEX.lower()


def test_bad_rows_are_reported_by_line_and_the_rest_imports(engine: sa.Engine, tmp_path: Path) -> None:
    rows = [
        f"{MD5[0]};;;1;;;;;;;Image;",
        "xyz;;;2;;;;;;;;",
        f"{MD5[1]};;;3;maybe;;;;;;;",
        "",
        f"{MD5[2]};;;4;;;;;many;;;",
        ";;;5;;;;;;;;",
        f"{MD5[3]};;;6;;;;;;;;;extra;cells",
        f"{MD5[4]};;bad photodna;7;;;;;;;;",
        f"{MD5[5]};;;8;;;;;;;Video;1",
    ]
    summary = import_file(engine, write_rows(tmp_path / "icse.csv", HEADER, rows), "icse", ImportRequest())
    assert (summary.imported, summary.error_count) == (2, 6)
    errors = {error.position: error.message for error in summary.errors}
    assert errors.keys() == {"line 3", "line 4", "line 6", "line 7", "line 8", "line 9"}
    assert "md5 must be 32 hex digits" in errors["line 3"]
    assert "is distributed must be true or false" in errors["line 4"]
    assert "number of submissions must be a whole number" in errors["line 6"]
    assert "no hash" in errors["line 7"]
    assert "cells for 12 columns" in errors["line 8"]
    assert "PhotoDNA must be" in errors["line 9"]
    with session_scope(engine) as session:
        kept = {item.md5: (item.media_type, item.baseline) for item in session.scalars(sa.select(MediaItem))}
    assert kept == {MD5[0]: ("Image", False), MD5[5]: ("Video", True)}


@pytest.mark.parametrize("header", ["Image ID;Series name;Baseline", "MD5,SHA1,PhotoDNA", ""])
def test_a_file_without_hash_columns_is_refused(engine: sa.Engine, tmp_path: Path, header: str) -> None:
    path = tmp_path / "not-icse.csv"
    path.write_text(header + ("\n1;x;yes\n" if header else ""), encoding="utf-8")
    with pytest.raises(ExchangeFormatError):
        import_file(engine, path, "icse", ImportRequest())


def icse_rows(ids: range) -> list[str]:
    return [f"{MD5[n]};;;{image_id};true;;;Série Ñandú;2;true;Image;" for n, image_id in enumerate(ids)]


@pytest.mark.parametrize(
    ("encoding", "given", "warned"),
    [
        ("cp1252", None, True),
        ("cp1252", "cp1252", False),
        ("utf-8", None, False),
        ("utf-8-sig", None, False),
        ("utf-16", None, False),
        ("latin-1", "latin-1", False),
    ],
)
def test_the_encoding_is_detected_or_given(engine: sa.Engine, tmp_path: Path, encoding: str, given: str | None, warned: bool) -> None:
    """An export saved on a Western European Windows system (cp1252) is read, not refused whole;
    a guess is said in the summary, and `--encoding` removes the guess."""
    path = tmp_path / "icse.csv"
    path.write_bytes(("\r\n".join([HEADER, *icse_rows(range(1001, 1005))]) + "\r\n").encode(encoding))
    summary = import_file(engine, path, "icse", ImportRequest(agency="FR unit", options={"encoding": given}))
    assert (summary.imported, summary.error_count, summary.warning_count) == (4, 0, int(warned))
    if warned:
        assert summary.warnings[0].position == "file" and "Windows-1252 (cp1252)" in summary.warnings[0].message
    with session_scope(engine) as session:
        assert set(session.scalars(sa.select(Series.name))) == {"Série Ñandú"}


def test_an_unknown_encoding_or_undecodable_file_is_refused_with_the_remedy(engine: sa.Engine, tmp_path: Path) -> None:
    path = write_rows(tmp_path / "icse.csv", HEADER, icse_rows(range(1, 3)))
    with pytest.raises(ExchangeFormatError, match="unknown encoding 'klingon'"):
        import_file(engine, path, "icse", ImportRequest(options={"encoding": "klingon"}))
    path.write_bytes(HEADER.encode() + b"\r\n" + MD5[0].encode() + b";;;1;;;;\x81\x8d;;;;\r\n")  # bytes cp1252 leaves undefined
    with pytest.raises(ExchangeFormatError, match=r"is not cp1252 text .* give its encoding with --encoding"):
        import_file(engine, path, "icse", ImportRequest())


def test_image_ids_are_kept_and_written_back(engine: sa.Engine, tmp_path: Path) -> None:
    path = write_rows(tmp_path / "icse.csv", HEADER, icse_rows(range(1001, 1005)))
    assert import_file(engine, path, "icse", ImportRequest(agency="FR unit")).imported == 4
    again = exported(engine, "icse", tmp_path / "out.csv")
    assert [(record.md5, record.source_id) for record in again] == [(MD5[n], str(1001 + n)) for n in range(4)]
    # A second source's id for the same item does not replace the first.
    write_rows(tmp_path / "other.csv", HEADER, [f"{MD5[0]};;;77;;;;;;;;"])
    assert import_file(engine, tmp_path / "other.csv", "icse", ImportRequest(agency="IT unit")).merged == 1
    assert exported(engine, "icse", tmp_path / "out2.csv")[0].source_id == "1001"
