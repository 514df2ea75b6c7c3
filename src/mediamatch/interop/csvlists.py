"""Platform hash lists as plain text: ThreatExchange "file" lists and NCMEC-style CSV rows.

Two layouts, told apart by the first line:

- **Signal lines**, python-threatexchange's file collaboration (facebook/ThreatExchange,
  python-threatexchange/threatexchange/exchanges/impl/file_api.py): one signal per line,
  `signal_type value` (split at the first space), or a bare value when the list's signal type
  is given separately. We also take a comma or tab as the separator, blank lines and `#`
  comments. A bare 32- or 40-digit hex value is an MD5 or SHA-1; a bare 64-digit one could be
  SHA-256 or PDQ, so it needs the signal type.
- **Rows with a header**, as NCMEC's hash sharing entries carry them (python-threatexchange
  exchanges/clients/ncmec/hash_api.py: an entry `id`, its `classification` such as "A1", and
  fingerprints `md5`, `sha1`, `pdna` (PhotoDNA), `pdq`): a comma-separated file whose header
  names some of `id, md5, sha1, sha256, pdq, pdna|photodna, classification, category,
  baseline, series, type`. An NCMEC classification is kept as the item's tags; it is not a
  Project VIC category, so `category` stays unset unless a column gives it.

- **`threatexchange dataset -P --csv` output** (python-threatexchange cli/dataset_cmd.py): a
  header `signal_type,signal_str,collab,category,tags`, one signal per row. The opinion
  category (`POSITIVE_CLASS`, `INVESTIGATION_SEED`) and tags are kept as the item's tags; a
  `NEGATIVE_CLASS` row (its source says: a false positive, or test data) is reported, not imported.

Signal type names are resolved by the signal registry (`signals.registry.resolve_signal`): ours
(`md5`, `sha1`, `sha256`, `pdq`) and python-threatexchange's and HMA's (`video_md5`,
`video_sha256`, `photo_md5`, `pdq`), in any case (`PDQ`), plus `photodna`/`pdna` (NCMEC's
PhotoDNA, stored as received). Other types (`url`, `raw_text`, `tmk_pdqf`, a whole-video
`vpdq`) are not kept by the catalogue: such lines are reported, not guessed at.

We write rows (`id,md5,sha1,sha256,pdq,photodna,category,baseline`: what a platform needs to
match and to prioritise, nothing about series or victims) or signal lines. `--naming
threatexchange` writes signal lines in python-threatexchange's names, which its file
collaboration (`threatexchange config collab edit local_file`) and HMA read: a hash that tool
has no type for (SHA-1, PhotoDNA) is left out, and an item left with no line is counted as not
written.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import IO

from mediamatch.interop.base import Direction, Expresses, FormatOption, Options, read_text
from mediamatch.interop.records import (
    HEX_FIELDS,
    ExchangeFormatError,
    ExchangeRecord,
    RecordError,
    format_flag,
    parse_flag,
    parse_int,
    parse_text,
)
from mediamatch.signals.base import NAMINGS
from mediamatch.signals.registry import accepted_names, get_signal, outside_name, resolve_signal

PHOTODNA_TYPES = ("photodna", "pdna")  # not a registered signal: kept as received, never computed
DATASET_COLUMNS = ("signal_type", "signal_str", "collab", "category", "tags")  # `threatexchange dataset -P --csv`
NOT_IMPORTED_OPINIONS = frozenset({"negative_class"})  # python-threatexchange SignalOpinionCategory
ROW_COLUMNS = ("id", "md5", "sha1", "sha256", "pdq", "photodna", "category", "baseline")
_ROW_FIELDS = {
    "id": "source_id", "md5": "md5", "sha1": "sha1", "sha256": "sha256", "pdq": "pdq", "photodna": "photodna",
    "pdna": "photodna", "category": "category", "baseline": "baseline", "series": "series", "type": "media_type",
    "classification": "tags",
}  # fmt: skip
_PARSERS = {"category": parse_int, "baseline": parse_flag}
_HASH_COLUMNS = {"md5", "sha1", "sha256", "pdq", "photodna", "pdna"}
_HEX = re.compile(r"^[0-9a-f]{32,}$")  # a value, so the line is an entry, not a header
_SEPARATOR = re.compile(r"[ ,\t]+")
_BARE_BY_LENGTH = {32: "md5", 40: "sha1"}


class Layout(StrEnum):
    ROWS = "rows"
    SIGNALS = "signals"


def record_field(signal_type: str) -> str | None:
    """The `ExchangeRecord` field a list's signal type fills (any tool's name, any case), or
    None for a type the catalogue does not keep."""
    if signal_type.strip().lower() in PHOTODNA_TYPES:
        return "photodna"
    signal = resolve_signal(signal_type)
    return signal.name if signal is not None and signal.name in HEX_FIELDS else None


def kept_signal_types() -> tuple[str, ...]:
    """Every signal type name a list may use for a hash the catalogue keeps."""
    return tuple(sorted({*(name for name in accepted_names() if record_field(name)), *PHOTODNA_TYPES}))


def read_csv_list(stream: IO[str], signal_type: str | None = None) -> Iterator[ExchangeRecord | RecordError]:
    """Every entry of a hash list, in file order, or the error of its line ("line N").

    `signal_type` is the type of bare values (a list of one signal type). `stream` is text
    opened with newline=""; a byte-order mark is skipped."""
    if signal_type is not None and record_field(signal_type) is None:
        raise ExchangeFormatError(f"unknown signal type {signal_type!r}; known: {', '.join(kept_signal_types())}")
    numbered = ((number, line.lstrip("\ufeff") if number == 1 else line) for number, line in enumerate(stream, start=1))
    entries = ((number, line) for number, line in numbered if line.strip() and not line.lstrip().startswith("#"))
    first = next(entries, None)
    if first is None:
        return
    header = [name.strip().lower() for name in next(csv.reader([first[1]]))]
    if header[:2] == list(DATASET_COLUMNS[:2]):
        yield from _dataset_rows(header, entries)
    elif set(header) & _HASH_COLUMNS and not any(_HEX.match(cell) for cell in header):
        yield from _rows(header, entries)
    else:
        yield from _signal_lines([first], signal_type)
        yield from _signal_lines(entries, signal_type)


def _rows(header: list[str], lines: Iterator[tuple[int, str]]) -> Iterator[ExchangeRecord | RecordError]:
    for number, line in lines:
        position = f"line {number}"
        try:
            cells = next(csv.reader([line]))
            if len(cells) > len(header):
                raise ValueError(f"{len(cells)} cells for {len(header)} columns")
            fields: dict[str, object] = {}
            for name, cell in zip(header, cells):
                if name in _ROW_FIELDS:
                    fields[_ROW_FIELDS[name]] = _PARSERS.get(name, parse_text)(cell, name)
            yield ExchangeRecord(**fields, position=position)  # type: ignore[arg-type]
        except (ValueError, csv.Error) as exc:
            yield RecordError(position, str(exc))


def _dataset_rows(header: list[str], lines: Iterator[tuple[int, str]]) -> Iterator[ExchangeRecord | RecordError]:
    """Rows of `threatexchange dataset -P --csv`: a signal each, with its opinion and tags."""
    for number, line in lines:
        position = f"line {number}"
        try:
            cells = dict(zip(header, next(csv.reader([line]))))
            kind, value = cells.get("signal_type", "").strip(), cells.get("signal_str", "").strip()
            opinion = " ".join(filter(None, (cells.get("category", "").strip(), cells.get("tags", "").strip())))
            if cells.get("category", "").strip().lower() in NOT_IMPORTED_OPINIONS:
                yield RecordError(
                    position, f"{kind} {value[:80]}: its source marks it a false positive or test data ({cells['category'].strip()}); not imported"
                )
            elif (field := record_field(kind)) is None:
                yield RecordError(position, f"signal type {kind!r} is not kept by this catalogue (known: {', '.join(kept_signal_types())})")
            else:
                yield ExchangeRecord(**{field: value}, tags=opinion or None, position=position)  # type: ignore[arg-type]
        except (ValueError, csv.Error) as exc:
            yield RecordError(position, str(exc))


def _signal_lines(lines: Iterable[tuple[int, str]], signal_type: str | None) -> Iterator[ExchangeRecord | RecordError]:
    for number, line in lines:
        position = f"line {number}"
        parts = _SEPARATOR.split(line.strip(), maxsplit=1)
        if len(parts) == 2:
            kind, value = parts[0].lower(), parts[1].strip()
        else:
            value = parts[0]
            kind = (signal_type or _BARE_BY_LENGTH.get(len(value), "")).lower()
            if not kind:
                yield RecordError(
                    position, f"a bare value of {len(value)} characters needs its signal type (sha256 or pdq): give it on the line or for the list"
                )
                continue
        if (field := record_field(kind)) is None:
            yield RecordError(position, f"signal type {kind!r} is not kept by this catalogue (known: {', '.join(kept_signal_types())})")
            continue
        try:
            yield ExchangeRecord(**{field: value}, position=position)  # type: ignore[arg-type]
        except ValueError as exc:
            yield RecordError(position, str(exc))


def write_csv_list(records: Iterable[ExchangeRecord], out: IO[str], layout: Layout = Layout.ROWS, naming: str = NAMINGS[0]) -> int:
    """Write `records` as rows (one per item) or signal lines (one per hash, each under its name
    in `naming`); returns how many items were written (an item none of whose hashes `naming` has
    a name for is not)."""
    if layout is Layout.ROWS and naming != NAMINGS[0]:
        raise ExchangeFormatError(f"--naming {naming} writes signal lines (python-threatexchange reads no CSV rows): leave out --csv-layout rows")
    count = 0
    if layout is Layout.ROWS:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(ROW_COLUMNS)
        for record in records:
            writer.writerow([
                record.source_id or "", record.md5 or "", record.sha1 or "", record.sha256 or "", record.pdq or "",
                record.photodna or "", "" if record.category is None else record.category, format_flag(record.baseline),
            ])  # fmt: skip
            count += 1
        return count
    names = {field: _line_name(field, naming) for field in (*HEX_FIELDS, "photodna")}
    for record in records:
        lines = [f"{name} {value}\n" for field, name in names.items() if name and (value := getattr(record, field))]
        out.writelines(lines)
        count += bool(lines)
    return count


def _line_name(field: str, naming: str) -> str | None:
    """The signal type a line of `field` is written under in `naming` (None: that tool has none)."""
    if field == "photodna":
        return field if naming == NAMINGS[0] else None
    return outside_name(get_signal(field), naming)


class CsvListFormat:
    """NCMEC-style CSV rows and ThreatExchange signal lines behind the interop protocol. Rows
    carry a category and Baseline but no series: an item in two series is one row."""

    name = "csv"
    title = "NCMEC-style CSV rows or ThreatExchange signal lines (`type value`)"
    expresses = Expresses(
        signals=("md5", "sha1", "sha256", "pdq", "photodna"),
        keys=("md5", "sha1", "sha256", "pdq", "photodna"),
        fields=frozenset({"source_id", "category", "baseline"}),
    )
    options = (
        FormatOption(  # no fixed choices: the names come from the signal registry, loaded when a list is read
            "signal-type",
            "the signal type of lines that hold a bare value (md5, sha1, sha256, pdq, photodna, or python-threatexchange's name for one).",
            Direction.IMPORT,
        ),
        FormatOption(
            "csv-layout",
            "rows (id and hashes per item) or signals (one `type value` line per hash); default rows, signals with --naming threatexchange.",
            Direction.EXPORT,
            tuple(layout.value for layout in Layout),
        ),
        FormatOption(
            "naming",
            "the signal type names lines are written with: mediamatch's (md5, sha256 ...) or python-threatexchange's and HMA's (video_md5, video_sha256, pdq).",
            Direction.EXPORT,
            NAMINGS,
            NAMINGS[0],
        ),
    )

    def read(self, path: Path, options: Options) -> Iterator[ExchangeRecord | RecordError]:
        return read_text(path, lambda text: read_csv_list(text, options.get("signal-type")))

    def write(self, records: Iterable[ExchangeRecord], out: IO[str], options: Options) -> int:
        naming = options.get("naming", NAMINGS[0])
        layout = options.get("csv-layout") or (Layout.ROWS if naming == NAMINGS[0] else Layout.SIGNALS)
        return write_csv_list(records, out, Layout(layout), naming)
