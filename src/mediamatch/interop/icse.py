"""INTERPOL ICSE hash export: a `;`-separated CSV with a header row.

Columns (as IPED's ICSE reader expects them, sepinf-inc/IPED HashDBTool `icseHeaderColumns`):
`MD5;SHA1;PhotoDNA;Image ID;Is distributed;Victim identified;Offender identified;Series name;
Number of submissions;File Available;Media Type;Baseline`. Column names are matched without
regard to case, in any order; other columns are ignored and missing ones read as "not
stated", but a file with none of the hash columns is refused. Flags are yes/no words or
true/false (IPED maps y/yes/t/true and n/no/f/false; 1/0 are taken too). We write
"true"/"false": no ICSE export was available to confirm its own spelling, and every reader
we found accepts these.

Encoding: IPED reads an export in the system's encoding, and ICSE exports saved on Western
European Windows systems are Windows-1252 (cp1252). The encoding is taken from `--encoding`
when given; otherwise a UTF-8 or UTF-16 byte-order mark says it, a file that is valid UTF-8
throughout is UTF-8, and any other file is read as cp1252 with a warning in the import summary
(rather than being refused whole).

`Image ID` is the sender's id for the item: it is kept on import and written back on export.

PhotoDNA values are opaque: kept exactly as the cell holds them (surrounding blanks aside) and
written back unchanged, never decoded or compared. "Media Type" is kept as given ("Image",
"Video"); a catalogue MIME type is written as ICSE's word for it.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from mediamatch.interop.base import Direction, Expresses, FileNote, FormatOption, Options
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


FALLBACK_ENCODING = "cp1252"
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_CHUNK = 1 << 20


def detect_encoding(path: Path) -> tuple[str, str | None]:
    """The encoding of the export at `path`, and a warning when it was a guess: a byte-order
    mark's, else UTF-8 when every byte decodes as UTF-8, else cp1252."""
    with path.open("rb") as stream:
        head = stream.read(4)
        for bom, encoding in _BOMS:
            if head.startswith(bom):
                return encoding, None
        stream.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := stream.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return FALLBACK_ENCODING, (
                f"{path.name} is not UTF-8: read as Windows-1252 (cp1252), the encoding of Western European Windows systems; "
                "if it was saved in another, import again with --encoding"
            )
    return "utf-8", None


def encoding_of(path: Path, given: str | None) -> tuple[str, str | None]:
    """`given` (checked to be an encoding Python knows), else the detected one."""
    if not given:
        return detect_encoding(path)
    try:
        name = codecs.lookup(given).name
    except LookupError:
        raise ExchangeFormatError(f"unknown encoding {given!r} (examples: utf-8, utf-16, cp1252, latin-1)") from None
    return ("utf-8-sig" if name == "utf-8" else name), None


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
    options = (
        FormatOption("encoding", "the text encoding of the export, such as cp1252 or utf-16 (default: detected; see docs/interop.md).", Direction.IMPORT),
    )

    def read(self, path: Path, options: Options) -> Iterator[ExchangeRecord | RecordError]:
        encoding, warning = encoding_of(path, options.get("encoding"))
        if warning:
            yield FileNote("file", warning)
        read = 0
        with path.open(encoding=encoding, errors="strict", newline="") as text:
            try:
                for read, entry in enumerate(read_icse(text), start=1):  # noqa: B007 - `read` is used after the loop
                    yield entry
            except UnicodeDecodeError as exc:
                if not read:
                    raise ExchangeFormatError(f"{path.name} is not {encoding} text ({exc.reason}): give its encoding with --encoding") from None
                yield RecordError(
                    f"after entry {read}", f"the file stops being {encoding} text here, nothing after it was read: give its encoding with --encoding"
                )

    def write(self, records: Iterable[ExchangeRecord], out: IO[str], options: Options) -> int:
        return write_icse(records, out)
