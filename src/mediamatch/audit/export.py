"""Audit events as files for auditors: JSON Lines (exact) and CSV (for spreadsheets).

Both carry every stored column, hashes included, with `detail` as the stored JSON text, so an
unfiltered JSONL export can be re-verified, row by row and link by link, with the rule in
`audit.chain` and no access to the database.

CSV cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or
carriage return) are prefixed with `'`, as OWASP advises: actors, object ids and search terms
in `detail` are typed by users, and an audit file must not attack the auditor who opens it.
JSONL is left exact.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import TextIO

from mediamatch.audit.chain import RECORD_FIELDS, AuditRecord, format_time

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


def record_to_dict(record: AuditRecord) -> dict[str, str | int]:
    """A record's columns with `at` in the hashed text form."""
    values: dict[str, str | int] = {name: getattr(record, name) for name in RECORD_FIELDS}
    values["at"] = format_time(record.at)
    return values


def write_jsonl(records: Iterable[AuditRecord], out: TextIO) -> int:
    """One JSON object per line; returns the number written."""
    count = 0
    for record in records:
        out.write(json.dumps(record_to_dict(record), ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(records: Iterable[AuditRecord], out: TextIO) -> int:
    """A header row, then one row per record; returns the number written."""
    writer = csv.DictWriter(out, fieldnames=RECORD_FIELDS)
    writer.writeheader()
    count = 0
    for record in records:
        writer.writerow({name: _defused(value) for name, value in record_to_dict(record).items()})
        count += 1
    return count


def _defused(value: str | int) -> str | int:
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


WRITERS: dict[ExportFormat, Callable[[Iterable[AuditRecord], TextIO], int]] = {
    ExportFormat.JSONL: write_jsonl,
    ExportFormat.CSV: write_csv,
}
