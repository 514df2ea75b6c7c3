"""INTERPOL ICSE hash export: a `;`-separated CSV with a header row.

Columns (as IPED's ICSE reader expects them, sepinf-inc/IPED HashDBTool `icseHeaderColumns`):
`MD5;SHA1;PhotoDNA;Image ID;Is distributed;Victim identified;Offender identified;Series name;
Number of submissions;File Available;Media Type;Baseline`. Column names are matched without
regard to case, in any order; other columns are ignored and missing ones read as "not
stated", but a file with none of the hash columns is refused. Flags are yes/no words or
true/false (IPED maps y/yes/t/true and n/no/f/false; 1/0 are taken too). We write
"true"/"false": no ICSE export was available to confirm its own spelling, and every reader
we found accepts these.

PhotoDNA values are opaque: kept exactly as the cell holds them (surrounding blanks aside) and
written back unchanged, never decoded or compared. "Media Type" is kept as given ("Image",
"Video"); a catalogue MIME type is written as ICSE's word for it.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from mediamatch.interop.base import Expresses, Options, read_text
from mediamatch.interop.records import (
    ExchangeFormatError,
    ExchangeRecord,
    RecordError,
    format_flag,
    parse_flag,
    parse_int,
    parse_text,
)

COLUMNS = (
    "MD5", "SHA1", "PhotoDNA", "Image ID", "Is distributed", "Victim identified", "Offender identified",
    "Series name", "Number of submissions", "File Available", "Media Type", "Baseline",
)  # fmt: skip
DELIMITER = ";"
HASH_COLUMNS = ("md5", "sha1", "photodna")
_READERS: dict[str, tuple[str, Callable[[object, str], object]]] = {
    "md5": ("md5", parse_text),
    "sha1": ("sha1", parse_text),
    "photodna": ("photodna", parse_text),
    "image id": ("source_id", parse_text),
    "is distributed": ("distributed", parse_flag),
    "victim identified": ("victim_identified", parse_flag),
    "offender identified": ("offender_identified", parse_flag),
    "series name": ("series", parse_text),
    "number of submissions": ("submissions", parse_int),
    "file available": ("file_available", parse_flag),
    "media type": ("media_type", parse_text),
    "baseline": ("baseline", parse_flag),
}


def read_icse(stream: IO[str]) -> Iterator[ExchangeRecord | RecordError]:
    """Every row of an ICSE export as a record, or as the error that row has ("line N").

    `stream` is text opened with newline="" (the csv module's rule); a byte-order mark is
    skipped. Raises `ExchangeFormatError` when the header names no hash column."""
    reader = csv.reader(stream, delimiter=DELIMITER)
    header = next(reader, None)
    if header is None:
        raise ExchangeFormatError("empty file: an ICSE export starts with a header row")
    names = [name.lstrip("\ufeff").strip().lower() for name in header]
    if not set(names) & set(HASH_COLUMNS):
        raise ExchangeFormatError(f"not an ICSE hash export: the header ({DELIMITER.join(header)[:200]!r}) has no MD5, SHA1 or PhotoDNA column")
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        position = f"line {reader.line_num}"
        if len(row) > len(names):
            yield RecordError(position, f"{len(row)} cells for {len(names)} columns (a ';' inside a value must be quoted)")
            continue
        try:
            fields: dict[str, object] = {}
            for name, cell in zip(names, row):
                if name in _READERS:
                    field, parse = _READERS[name]
                    fields[field] = parse(cell, name)
            yield ExchangeRecord(**fields, position=position)  # type: ignore[arg-type]
        except ValueError as exc:
            yield RecordError(position, str(exc))


def write_icse(records: Iterable[ExchangeRecord], out: IO[str]) -> int:
    """Write `records` as an ICSE hash export; returns how many rows were written."""
    writer = csv.writer(out, delimiter=DELIMITER, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    for record in records:
        writer.writerow(
            [
                record.md5 or "", record.sha1 or "", record.photodna or "", record.source_id or "",
                format_flag(record.distributed), format_flag(record.victim_identified), format_flag(record.offender_identified),
                record.series or "", "" if record.submissions is None else str(record.submissions),
                format_flag(record.file_available), icse_media_type(record.media_type), format_flag(record.baseline),
            ]
        )  # fmt: skip
        count += 1
    return count


def icse_media_type(media_type: str | None) -> str:
    """ICSE's word for a catalogue media type: "Image" for image/*, "Video" for video/*."""
    if not media_type:
        return ""
    kind = media_type.split("/", 1)[0].lower()
    return {"image": "Image", "video": "Video"}.get(kind, media_type)


class IcseFormat:
    """INTERPOL ICSE hash exports behind the interop protocol. ICSE has no category column:
    its records import uncategorised unless the importer states one."""

    name = "icse"
    title = "INTERPOL ICSE hash export (;-separated, the 12 documented columns)"
    expresses = Expresses(
        signals=HASH_COLUMNS,
        keys=HASH_COLUMNS,
        fields=frozenset({field for field, _ in _READERS.values()} - set(HASH_COLUMNS)),
    )
    options = ()

    def read(self, path: Path, options: Options) -> Iterator[ExchangeRecord | RecordError]:
        return read_text(path, read_icse)

    def write(self, records: Iterable[ExchangeRecord], out: IO[str], options: Options) -> int:
        return write_icse(records, out)
