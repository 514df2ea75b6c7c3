"""Project VIC VICS JSON: read hash sets and case exports (v1.2, v1.3 and v2.0), write hash sets.

The VICS data model is shared by Project VIC only under agreement, so the layouts below come
from public tools that read and write it:

- v1.x is an OData v3 document: `{"odata.metadata": "http://github.com/ICMEC/ProjectVic/
  DataModels/1.3.xml#Media", "value": [Media, ...]}` for a hash set, `...#Cases` with `value`
  holding cases whose `Media` arrays hold the records. A Media record has `MediaID`, `MD5`,
  `SHA1`, `Category`, `VictimIdentified`, `OffenderIdentified`, `IsDistributed`, `Series`,
  `Tags`, `Comments`, `MediaSize`, `MimeType`, `RelativeFilePath`, `IsPrecategorized`,
  `MediaFiles` ([{FileName, FilePath, MD5, ...}]) and `AlternativeHashes`
  ([{HashName, HashValue, MD5}]), where PhotoDNA and SHA-1 values travel in v1.x.
  Sources: IPED's hash database tool (sepinf-inc/IPED, iped-engine/.../hashdb/HashDBTool.java:
  `vicDataModelValue13`, PhotoDNA read from `AlternativeHashes` HashName/HashValue); a Qt
  exporter in the code index (`export_hashes_as_vic`, versions 1.1-1.3); a Python VIC helper
  (`genNewVic`/`genNewMediaItem`, the 1.3 Media field list).
- v2.0 names the model in `@odata.context` (`http://github.com/VICSDATAMODEL/ProjectVic/
  DataModels/2.0.xml/<region>/$metadata#Media`, region `Default`, `US`, `UK`, `CUSTOM`), and
  `PhotoDNA` is a Media field of its own (IPED reads it beside `MD5`; Griffeye's PowerShell
  module `ConvertTo-Vics20Media` writes MediaID, MD5, SHA1, PhotoDNA, RelativeFilePath,
  MediaFiles). Distributed v2.0 hash sets add `DateUpdated`, `IsPrecategorized` and
  `PrecategorizationSource`, write MD5 in upper case and flags often as strings ("true").

- v1.2 (`odata.metadata` `http://github.com/ICMEC/ProjectVic/DataModels/1.2.xml#Media`) is the
  model of known-file sets such as the UK's CAID and NSRL conversions: the same Media records
  (`MediaID`, `MD5`, `SHA1`, `MediaSize`, `MediaFiles`), but their `Category`, where present,
  is not Project VIC's 0-4 scheme (NSRL conversions write 8) and most records have none. IPED
  reads a 1.2 set as "known" files and ignores its categories (HashDBTool
  `caidDataModelValue`). We read its hashes and sizes and no category, with one warning for
  the file: its records import uncategorised, and a known-file set never reaches a platform's
  hash list.

Reading is tolerant: either header, either layout, flags as booleans or strings, field names
in any case, unknown fields ignored, a UTF-8 byte-order mark skipped. The file is streamed
(ijson): records are read one at a time, so a hash set of millions of records never sits in
memory whole. A record that cannot be read becomes a `RecordError` naming its position and
the rest is read on; a file that breaks as JSON stops there with an error at that record.

Writing produces the hash-set form, which national hash sets use and IPED checks for: v1.3
with `odata.metadata` and PhotoDNA in `AlternativeHashes`, v2.0 with `@odata.context` and a
`PhotoDNA` field; flags as JSON booleans, MD5/SHA-1 in upper case. Every Media field read is
written back (`MediaID` as the sender gave it; `Comments` and `IsPrecategorized` in both
versions, `DateUpdated` and `PrecategorizationSource`, which only the 2.0 model has, in 2.0)
except `RelativeFilePath` and `MediaFiles`: original file names and paths are never written,
as names from a seized device can identify people.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import ijson

from mediamatch.interop.base import Direction, Expresses, FileNote, FormatOption, Options
from mediamatch.interop.records import (
    ExchangeFormatError,
    ExchangeRecord,
    RecordError,
    parse_flag,
    parse_int,
    parse_text,
)

VERSIONS = ("1.3", "2.0")
HEADERS = {
    "1.3": ("odata.metadata", "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media"),
    "2.0": ("@odata.context", "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"),
}
_RECORD = "value.item"
_CASE_RECORD = "value.item.Media.item"
_BOM = b"\xef\xbb\xbf"
_MODEL_VERSION = re.compile(r"/DataModels/(\d+\.\d+)\.xml")
KNOWN_FILE_MODELS = ("1.2",)  # data models whose Category is not Project VIC's 0-4


def read_vics(stream: IO[bytes]) -> Iterator[ExchangeRecord | RecordError]:
    """Every Media record of a VICS document, in file order, or the error that stopped it.

    `stream` must be seekable: the start of the document is read once to find its layout (a
    hash set's records sit in `value`, a case export's in `value[*].Media`), then the records
    are read with ijson's C object builder. Raises `ExchangeFormatError` when the file is not
    a VICS document at all."""
    if stream.read(len(_BOM)) != _BOM:
        stream.seek(0)
    start = stream.tell()
    cases, header = _case_export(stream)
    stream.seek(start)
    model = _MODEL_VERSION.search(header)
    version = model.group(1) if model else None
    keep_category = version not in KNOWN_FILE_MODELS
    if not keep_category:
        yield FileNote("file", f"VICS {version} is a known-file data model whose categories are not Project VIC's 0-4: its records are read without a category")
    position = 0
    try:
        for entry in ijson.items(stream, _CASE_RECORD if cases else _RECORD, use_float=True):
            # In a hash set, or a case export whose header came after its records, an entry
            # holding a "Media" array is a case: its records follow from it.
            media = entry.get("Media") if isinstance(entry, dict) and not cases else None
            for record in media if isinstance(media, list) else (entry,):
                position += 1
                yield _record(record, f"record {position}", keep_category)
    except ijson.JSONError as exc:
        yield RecordError(f"record {position + 1}", f"the JSON breaks here, nothing after it was read: {_first_line(exc)}")


def _case_export(stream: IO[bytes]) -> tuple[bool, str]:
    """Whether the document is a case export (`...#Cases`), and its header (the data model),
    read up to its `value` array.

    Raises `ExchangeFormatError` for a document that is not VICS: not JSON, or no `value`."""
    header = ""
    try:
        for prefix, event, value in ijson.parse(stream):
            if prefix in ("odata.metadata", "@odata.context") and event == "string":
                header = value
            elif prefix == "value" and event == "start_array":
                return header.endswith("#Cases"), header
    except ijson.JSONError as exc:
        raise ExchangeFormatError(f"not a VICS JSON document: {_first_line(exc)}") from None
    raise ExchangeFormatError('not a VICS JSON document: it has no "value" array of Media records')


def _record(media: object, position: str, keep_category: bool) -> ExchangeRecord | RecordError:
    if not isinstance(media, dict):
        return RecordError(position, f"a Media record must be a JSON object, got {type(media).__name__}")
    fields = {str(key).lower(): value for key, value in media.items()}
    if not keep_category:
        fields.pop("category", None)
    try:
        return _from_media(fields, position)
    except (ValueError, TypeError) as exc:
        return RecordError(position, str(exc))


def _from_media(media: dict[str, Any], position: str) -> ExchangeRecord:
    alternative = _alternative_hashes(media.get("alternativehashes"))
    series = media.get("series")
    if isinstance(series, dict):  # some exporters write {"Name": ...}
        series = {key.lower(): value for key, value in series.items()}.get("name")
    tags = media.get("tags")
    if isinstance(tags, list):
        tags = ", ".join(str(tag) for tag in tags if str(tag).strip())
    files = media.get("mediafiles") or []
    return ExchangeRecord(
        md5=parse_text(media.get("md5"), "MD5"),
        sha1=parse_text(media.get("sha1"), "SHA1") or alternative.get("sha1"),
        photodna=parse_text(media.get("photodna"), "PhotoDNA") or alternative.get("photodna"),
        source_id=parse_text(media.get("mediaid"), "MediaID"),
        category=parse_int(media.get("category"), "Category"),
        victim_identified=parse_flag(media.get("victimidentified"), "VictimIdentified"),
        offender_identified=parse_flag(media.get("offenderidentified"), "OffenderIdentified"),
        distributed=parse_flag(media.get("isdistributed"), "IsDistributed"),
        series=parse_text(series, "Series"),
        tags=parse_text(tags, "Tags"),
        size=parse_int(media.get("mediasize"), "MediaSize"),
        media_type=parse_text(media.get("mimetype"), "MimeType"),
        date_updated=parse_text(media.get("dateupdated"), "DateUpdated"),
        precategorized=parse_flag(media.get("isprecategorized"), "IsPrecategorized"),
        precategorization_source=parse_text(media.get("precategorizationsource"), "PrecategorizationSource"),
        comments=parse_text(media.get("comments"), "Comments"),
        names=tuple(name for name in (_file_name(entry) for entry in files if isinstance(entry, dict)) if name),
        position=position,
    )


def _alternative_hashes(entries: object) -> dict[str, str]:
    """v1.x `AlternativeHashes`: {"sha1": ..., "photodna": ...} by lower-cased HashName."""
    found: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, dict):
            fields = {key.lower(): value for key, value in entry.items()}
            name, value = parse_text(fields.get("hashname"), "HashName"), parse_text(fields.get("hashvalue"), "HashValue")
            if name and value:
                found.setdefault(name.lower(), value)
    return found


def _file_name(entry: dict[str, Any]) -> str | None:
    fields = {key.lower(): value for key, value in entry.items()}
    return parse_text(fields.get("filename"), "FileName")


def write_vics(records: Iterable[ExchangeRecord], out: IO[str], version: str = "2.0") -> int:
    """Write `records` as a VICS hash set of `version`, one Media record per line (streamed:
    any number of records); returns how many were written. Records without an MD5, the key
    of every VICS Media record, cannot be written and must be filtered out by the caller."""
    if version not in HEADERS:
        raise ValueError(f"VICS version must be one of {', '.join(VERSIONS)}, not {version!r}")
    key, context = HEADERS[version]
    out.write("{" + json.dumps(key) + ": " + json.dumps(context) + ', "value": [')
    count = 0
    for record in records:
        if not record.md5:
            raise ValueError(f"record {record.source_id or count + 1} has no MD5; a VICS Media record needs one")
        out.write(("," if count else "") + "\n" + json.dumps(_media(record, version), ensure_ascii=False))
        count += 1
    out.write("\n]}\n")
    return count


def _media(record: ExchangeRecord, version: str) -> dict[str, Any]:
    media: dict[str, Any] = {}
    if record.source_id is not None:
        media["MediaID"] = int(record.source_id) if record.source_id.isdigit() else record.source_id
    values = {
        "Category": record.category,
        "MD5": record.md5.upper() if record.md5 else None,
        "SHA1": record.sha1.upper() if record.sha1 else None,
        "MediaSize": record.size,
        "MimeType": record.media_type,
        "VictimIdentified": record.victim_identified,
        "OffenderIdentified": record.offender_identified,
        "IsDistributed": record.distributed,
        "Series": record.series,
        "Tags": record.tags,
        "Comments": record.comments,
        "IsPrecategorized": record.precategorized,
    }
    if version == "2.0":  # fields of the 2.0 model only
        values |= {"DateUpdated": record.date_updated, "PrecategorizationSource": record.precategorization_source}
    media.update({name: value for name, value in values.items() if value is not None})
    if record.photodna is not None:
        if version == "2.0":
            media["PhotoDNA"] = record.photodna
        else:
            media["AlternativeHashes"] = [{"HashName": "PhotoDNA", "HashValue": record.photodna, "MD5": record.md5.upper() if record.md5 else None}]
    return media


def write_vics_with_comments(records: Iterable[tuple[ExchangeRecord, str | None]], out: IO[str], version: str = "2.0") -> int:
    """`write_vics`, with a text for each record's `Comments`, the free-text field a VICS Media
    record has (v1.3 and v2.0): where the clues pinned to a picture travel with it. Kept apart
    from `write_vics` so the hash-set export stays exactly as it is. `Comments` that came in with
    the record (another catalogue's clues, read back by `read_vics`) stay first, and the new text
    adds only lines not already there: a clue passed on from catalogue to catalogue, or sent back
    to where it was written, is neither lost nor doubled."""
    if version not in HEADERS:
        raise ValueError(f"VICS version must be one of {', '.join(VERSIONS)}, not {version!r}")
    key, context = HEADERS[version]
    out.write("{" + json.dumps(key) + ": " + json.dumps(context) + ', "value": [')
    count = 0
    for record, comments in records:
        if not record.md5:
            raise ValueError(f"record {record.source_id or count + 1} has no MD5; a VICS Media record needs one")
        joined = _joined_comments(record.comments, comments)
        media = _media(record, version) | ({"Comments": joined} if joined else {})
        out.write(("," if count else "") + "\n" + json.dumps(media, ensure_ascii=False))
        count += 1
    out.write("\n]}\n")
    return count


def _joined_comments(kept: str | None, added: str | None) -> str | None:
    lines = (kept or "").splitlines()
    lines += [line for line in (added or "").splitlines() if line not in lines]
    return "\n".join(lines) or None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class VicsFormat:
    """Project VIC VICS JSON behind the interop protocol."""

    name = "vics"
    title = "Project VIC VICS JSON (reads v1.2 known-file sets, v1.3 and v2.0; writes v1.3 or v2.0)"
    expresses = Expresses(
        signals=("md5", "sha1", "photodna"),
        keys=("md5",),
        fields=frozenset(
            {"source_id", "category", "victim_identified", "offender_identified", "distributed", "series", "tags", "size", "media_type"}
            | {"date_updated", "precategorized", "precategorization_source", "comments"}
        ),
    )
    options = (FormatOption("vics-version", f"VICS field names to write: {' or '.join(VERSIONS)}.", Direction.EXPORT, VERSIONS, "2.0"),)

    def read(self, path: Path, options: Options) -> Iterator[ExchangeRecord | RecordError]:
        with path.open("rb") as stream:
            yield from read_vics(stream)

    def write(self, records: Iterable[ExchangeRecord], out: IO[str], options: Options) -> int:
        return write_vics(records, out, options.get("vics-version", "2.0"))
