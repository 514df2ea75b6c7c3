"""Project VIC VICS JSON: round trips in v1.3 and v2.0, tolerant reading (string booleans, a
byte-order mark, case exports, unknown fields), bad records reported by position while the rest
imports, and a streamed reader."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from interop_support import PHOTODNA_BASE64, PHOTODNA_HEX, build_source, exported, import_into_fresh, md5_of

from mediamatch.interop.records import ExchangeFormatError, ExchangeRecord, RecordError
from mediamatch.interop.vics import VERSIONS, read_vics
from mediamatch.services.exchange import ImportRequest, import_file
from mediamatch.store import repo
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import Contribution, MediaItem, MediaSignal, Offender, Series

CONTEXT_20 = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media"
MD5 = [f"{n:032x}" for n in range(1, 10)]


def write_doc(path: Path, records: list[object], *, key: str = "@odata.context", context: str = CONTEXT_20, bom: bool = False) -> Path:
    text = json.dumps({key: context, "value": records}, ensure_ascii=False)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


@pytest.mark.parametrize("version", VERSIONS)
def test_export_import_export_gives_the_same_records(db_url: str, tmp_path: Path, version: str) -> None:
    source = build_source(f"sqlite:///{tmp_path / 'source.sqlite'}", tmp_path)
    first = exported(source, "vics", tmp_path / "first.json", {"vics-version": version})
    fresh = import_into_fresh(db_url, tmp_path / "first.json", "vics")
    second = exported(fresh, "vics", tmp_path / "second.json", {"vics-version": version})
    assert second == first

    by_key = {(record.md5, record.series): record for record in first}
    assert len(first) == 7  # the SHA-1-only item has no MD5, which every VICS record needs
    picture = md5_of(tmp_path / "files" / "scene-0.jpg")
    assert (by_key[picture, "Lark"].victim_identified, by_key[picture, "Lark"].offender_identified) == (True, False)
    assert (by_key[picture, "Heron"].victim_identified, by_key[picture, "Heron"].offender_identified) == (False, True)
    assert by_key[picture, "Lark"].media_type == "image/jpeg" and by_key[picture, "Lark"].size == (tmp_path / "files" / "scene-0.jpg").stat().st_size
    hash_only = by_key["0" * 31 + "1", "Heron"]
    assert hash_only == ExchangeRecord(
        md5="0" * 31 + "1", photodna=PHOTODNA_BASE64, source_id="4", category=3, victim_identified=False, offender_identified=True,
        distributed=True, series="Heron", tags="indoor, known set", size=51234, media_type="image/png",
    )  # fmt: skip
    assert by_key["0" * 31 + "2", None].photodna == PHOTODNA_HEX  # byte for byte, upper-case hex kept
    assert by_key["0" * 31 + "2", None].category == 0

    with session_scope(fresh) as session:  # the PhotoDNA values are stored exactly as received
        stored = set(session.scalars(sa.select(MediaSignal.value).where(MediaSignal.signal == "photodna")))
        assert stored == {PHOTODNA_BASE64, PHOTODNA_HEX}
        assert session.scalar(sa.select(sa.func.count()).select_from(MediaItem).where(MediaItem.sha256.is_(None))) == 6
    fresh.dispose()

    document = json.loads((tmp_path / "second.json").read_text(encoding="utf-8"))
    hash_only_raw = next(media for media in document["value"] if media["MD5"] == "0" * 31 + "1")
    if version == "1.3":
        assert document["odata.metadata"].endswith("/1.3.xml#Media")
        assert hash_only_raw["AlternativeHashes"] == [{"HashName": "PhotoDNA", "HashValue": PHOTODNA_BASE64, "MD5": "0" * 31 + "1"}]
    else:
        assert document["@odata.context"].endswith("/2.0.xml/Default/$metadata#Media")
        assert hash_only_raw["PhotoDNA"] == PHOTODNA_BASE64 and "AlternativeHashes" not in hash_only_raw


def test_string_booleans_bom_numbers_as_text_and_unknown_fields(engine: sa.Engine, tmp_path: Path) -> None:
    records = [
        {"MediaID": "17", "MD5": MD5[0].upper(), "Category": "2", "MediaSize": "2835", "VictimIdentified": "True",
         "OffenderIdentified": "1", "IsDistributed": "false", "Series": {"Name": "Kestrel"}, "Tags": ["indoor", "known set"],
         "DateUpdated": "2023-06-07T02:31:49.8300Z", "IsPrecategorized": "false", "SomethingNew": {"nested": [1, 2]}},
        {"MediaID": 18, "MD5": MD5[1], "VictimIdentified": "false", "OffenderIdentified": "0", "IsDistributed": "1", "Category": None},
        {"MediaID": 19, "md5": MD5[2], "isdistributed": True, "victimidentified": "TRUE"},  # names in any case
    ]  # fmt: skip
    path = write_doc(tmp_path / "set.json", records, bom=True)
    summary = import_file(engine, path, "vics", ImportRequest(agency="US unit", country="US"))
    assert (summary.imported, summary.merged, summary.error_count, summary.uncategorised) == (3, 0, 0, 2)
    with session_scope(engine) as session:
        items = {item.md5: item for item in session.scalars(sa.select(MediaItem))}
        first = items[MD5[0]]
        assert (first.category, first.size, first.distributed, first.tags, first.sha256) == (2, 2835, False, "indoor, known set", None)
        assert [series.name for series in first.series] == ["Kestrel"]
        kestrel = session.scalar(sa.select(Series).where(Series.name == "Kestrel"))
        assert [victim.identified for victim in kestrel.victims] == [True]
        assert [offender.identified for offender in kestrel.offenders] == [True]
        assert (items[MD5[1]].distributed, items[MD5[1]].category, items[MD5[1]].series, items[MD5[1]].victims) == (True, None, [], [])
        third = items[MD5[2]]
        assert third.category is None  # no Category: uncategorised, never category 1
        assert third.distributed is True and [victim.identified for victim in third.victims] == [True]  # no series: the item's victim
        assert session.scalar(sa.select(sa.func.count()).select_from(Offender)) == 1  # "0" identified nobody
        agencies = {contribution.agency.name for contribution in session.scalars(sa.select(Contribution))}
        assert agencies == {"US unit"}
        details = repo.match_details(session, [first.id, items[MD5[1]].id, third.id])
        assert [details[item.id].victim_identified for item in (first, items[MD5[1]], third)] == [True, False, True]


def test_bad_records_are_reported_by_position_and_the_rest_imports(engine: sa.Engine, tmp_path: Path) -> None:
    records = [
        {"MD5": MD5[0]},
        {"MD5": "not-a-hash"},
        "a string where a record belongs",
        {"MD5": MD5[1], "Category": "abc"},
        {"MD5": MD5[2], "Category": 9},
        {"MD5": MD5[3], "VictimIdentified": "perhaps"},
        {"MediaID": 7},
        {"MD5": MD5[4], "Series": "S" * 201},
        {"MD5": MD5[5], "OffenderIdentified": "true"},
    ]
    summary = import_file(engine, write_doc(tmp_path / "mixed.json", records), "vics", ImportRequest())
    assert (summary.imported, summary.error_count, summary.warning_count) == (2, 7, 1)
    errors = {error.position: error.message for error in summary.errors}
    assert set(errors) == {"record 2", "record 3", "record 4", "record 5", "record 6", "record 7", "record 8"}
    assert "md5 must be 32 hex digits" in errors["record 2"]
    assert "must be a JSON object" in errors["record 3"]
    assert "Category must be a whole number" in errors["record 4"]
    assert "category 9 is not a Project VIC category" in errors["record 5"]
    assert "VictimIdentified must be true or false" in errors["record 6"]
    assert "no hash" in errors["record 7"]
    assert "series is longer than" in errors["record 8"]
    assert summary.warnings[0].position == "record 9" and "offender identified was not kept" in summary.warnings[0].message
    with session_scope(engine) as session:
        assert set(session.scalars(sa.select(MediaItem.md5))) == {MD5[0], MD5[5]}


def test_a_truncated_file_keeps_what_came_before_the_break(engine: sa.Engine, tmp_path: Path) -> None:
    text = json.dumps({"@odata.context": CONTEXT_20, "value": [{"MD5": md5} for md5 in MD5[:4]]})
    path = tmp_path / "cut.json"
    path.write_text(text[: text.index(MD5[3]) + 10])
    summary = import_file(engine, path, "vics", ImportRequest())
    assert summary.imported == 3
    assert [error.position for error in summary.errors] == ["record 4"]
    assert "the JSON breaks here" in summary.errors[0].message


@pytest.mark.parametrize("content", [b'{"name": "not a hash set"}', b"[1, 2, 3]", b"\x00\x01binary", b""])
def test_a_file_that_is_not_vics_is_refused_before_anything_is_stored(engine: sa.Engine, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "other.json"
    path.write_bytes(content)
    with pytest.raises(ExchangeFormatError, match="not a VICS JSON document"):
        import_file(engine, path, "vics", ImportRequest())
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(MediaItem)) == 0


def test_v13_case_export_with_alternative_hashes() -> None:
    document = {
        "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Cases",
        "value": [{
            "CaseID": "c18c57e5", "CaseNumber": "2026-17",
            "Media": [
                {"odata.id": f'Media("{MD5[0]}")', "MediaID": 0, "MD5": MD5[0], "Category": 1,
                 "AlternativeHashes": [{"HashName": "SHA1", "HashValue": "C" * 40, "MD5": MD5[0]},
                                       {"HashName": "PhotoDNA", "HashValue": PHOTODNA_BASE64, "MD5": MD5[0]}],
                 "MediaFiles": [{"FileName": "IMG_0001.JPG", "FilePath": "DCIM\\IMG_0001.JPG", "MD5": MD5[0]}]},
                {"MediaID": 1, "MD5": MD5[1], "Category": 2, "SHA1": "D" * 40},
            ],
            "TotalMediaFiles": "2", "SourceApplicationName": "tool",
        }],
    }  # fmt: skip
    found = list(read_vics(io.BytesIO(json.dumps(document).encode())))
    assert found == [
        ExchangeRecord(md5=MD5[0], sha1="c" * 40, photodna=PHOTODNA_BASE64, source_id="0", category=1, names=("IMG_0001.JPG",)),
        ExchangeRecord(md5=MD5[1], sha1="d" * 40, source_id="1", category=2),
    ]
    assert [record.position for record in found] == ["record 1", "record 2"]


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk


def test_records_are_read_one_at_a_time() -> None:
    """The first record arrives after reading a small part of a large file: a hash set of
    millions of records is never held in memory whole."""
    records = [{"MD5": f"{n:032x}", "Series": "padding " * 20} for n in range(1, 40_001)]
    stream = CountingStream(json.dumps({"@odata.context": CONTEXT_20, "value": records}).encode())
    reader = read_vics(stream)
    first = next(reader)
    assert isinstance(first, ExchangeRecord) and first.md5 == MD5[0]
    assert stream.consumed < len(stream.getvalue()) / 20
    remaining = list(reader)
    assert len(remaining) == 39_999 and not any(isinstance(entry, RecordError) for entry in remaining)


def test_a_case_export_whose_header_comes_last_is_read_too() -> None:
    """JSON objects have no key order: a case export may name its model after its records."""
    text = json.dumps({"value": [{"CaseID": "1", "Media": [{"MD5": MD5[0]}, {"MD5": MD5[1]}]}, {"MD5": MD5[2]}],
                       "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Cases"})  # fmt: skip
    found = list(read_vics(io.BytesIO(text.encode())))
    assert [record.md5 for record in found] == MD5[:3]  # type: ignore[union-attr]
    assert [record.position for record in found] == ["record 1", "record 2", "record 3"]


CONTEXT_12 = "http://github.com/ICMEC/ProjectVic/DataModels/1.2.xml#Media"


def test_a_v12_known_file_set_is_read_uncategorised_with_one_warning(engine: sa.Engine, tmp_path: Path) -> None:
    """VICS 1.2 is the model of known-file sets (CAID, NSRL conversions): its Category, where
    present, is not Project VIC's 0-4 (NSRL conversions write 8), so no record gets one."""
    records = [
        {"odata.id": f'Media("{MD5[0]}")', "MediaFiles@odata.navigationLinkUrl": f"/Media({MD5[0]})/MediaFiles",
         "MediaFiles": [{"MD5": MD5[0], "FileName": "build2.art", "FilePath": "Content/data"}],
         "MediaID": 0, "MD5": MD5[0], "SHA1": "E" * 40, "Category": 8, "MediaSize": "488"},
        {"MediaID": 1, "MD5": MD5[1]},
        {"MediaID": 2, "MD5": MD5[2], "Category": 1},
    ]  # fmt: skip
    path = write_doc(tmp_path / "known-files.json", records, key="odata.metadata", context=CONTEXT_12)
    found = list(read_vics(io.BytesIO(path.read_bytes())))
    assert isinstance(found[0], RecordError) and "VICS 1.2" in found[0].message
    assert [entry.category for entry in found[1:]] == [None, None, None]  # type: ignore[union-attr]
    assert found[1] == ExchangeRecord(md5=MD5[0], sha1="e" * 40, source_id="0", size=488, names=("build2.art",))

    summary = import_file(engine, path, "vics", ImportRequest(agency="UK unit", country="GB"))
    assert (summary.imported, summary.error_count, summary.warning_count, summary.uncategorised) == (3, 0, 1, 3)
    assert summary.warnings[0].position == "file" and "read without a category" in summary.warnings[0].message
    with session_scope(engine) as session:
        assert set(session.scalars(sa.select(MediaItem.category))) == {None}


# Hash sets laid out as the public tools that read and write VICS show them (see interop/vics.py):
# a distributed v2.0 set (string flags, DateUpdated, precategorisation), a v1.3 set with every
# Media field of the 1.3 model, and a v2.0 set with PhotoDNA fields.
SAMPLES = {
    "2.0-distributed": ("@odata.context", CONTEXT_20, [
        {"MediaID": 1, "Category": 0, "MD5": MD5[0].upper(), "SHA1": "A" * 40, "MediaSize": 2835,
         "DateUpdated": "2023-06-07T02:31:49.8300Z", "IsPrecategorized": "false", "PrecategorizationSource": "national set"},
        {"MediaID": 2, "Category": 2, "MD5": MD5[1].upper(), "SHA1": "B" * 40, "MediaSize": "4410",
         "DateUpdated": "2024-01-02T10:00:00Z", "IsPrecategorized": "true", "PrecategorizationSource": "classifier"},
    ]),
    "1.3-full": ("odata.metadata", "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media", [
        {"MediaID": 10, "MD5": MD5[2].upper(), "SHA1": "C" * 40, "Category": 1, "VictimIdentified": True, "OffenderIdentified": True,
         "IsDistributed": True, "Series": "Kestrel", "Tags": "indoor", "Comments": "seen in 2019", "MediaSize": 51234, "MimeType": "image/jpeg",
         "IsPrecategorized": False, "RelativeFilePath": "DCIM\\IMG_1.JPG", "MediaFiles": [{"FileName": "IMG_1.JPG", "FilePath": "DCIM", "MD5": MD5[2]}],
         "AlternativeHashes": [{"HashName": "PhotoDNA", "HashValue": PHOTODNA_BASE64, "MD5": MD5[2].upper()}]},
        {"MediaID": 11, "MD5": MD5[3].upper(), "Category": 3, "VictimIdentified": False, "OffenderIdentified": False, "IsDistributed": False},
    ]),
    "2.0-photodna": ("@odata.context", CONTEXT_20, [
        {"MediaID": 20, "MD5": MD5[4].upper(), "SHA1": "D" * 40, "PhotoDNA": PHOTODNA_HEX, "Category": 4, "VictimIdentified": True, "Series": "Wren",
         "IsPrecategorized": True, "Comments": "écrit à la main", "DateUpdated": "2025-05-05T05:05:05Z"},
    ]),
}  # fmt: skip
NOT_WRITTEN = {"relativefilepath", "mediafiles"}  # names and paths from a seized device: never exported
ALWAYS_STATED = {"victimidentified", "offenderidentified"}  # the catalogue knows both for every item


def normalised(media: dict[str, object]) -> dict[str, object]:
    """A Media record as a reader sees it: names in any case, flags and numbers as text or not."""
    out: dict[str, object] = {}
    for name, value in media.items():
        key = name.lower()
        if key in NOT_WRITTEN:
            continue
        if isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        elif isinstance(value, str) and value.isdigit() and key != "md5":
            value = int(value)
        elif key == "alternativehashes":
            value = [{k.lower(): v for k, v in entry.items()} for entry in value]  # type: ignore[attr-defined]
        out[key] = value
    return out


@pytest.mark.parametrize("name", list(SAMPLES))
def test_each_sample_round_trips_field_by_field(db_url: str, tmp_path: Path, name: str) -> None:
    key, context, records = SAMPLES[name]
    version = "1.3" if key == "odata.metadata" else "2.0"
    engine = import_into_fresh(db_url, write_doc(tmp_path / "in.json", records, key=key, context=context), "vics")
    exported(engine, "vics", tmp_path / "out.json", {"vics-version": version})
    engine.dispose()
    written = {media["MD5"]: normalised(media) for media in json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["value"]}
    for media in records:
        given = normalised(media)
        back = written[str(media["MD5"]).upper()]
        assert {field: back.get(field) for field in given} == given, f"{name}: record {media['MediaID']}"
        assert set(back) - set(given) <= ALWAYS_STATED
