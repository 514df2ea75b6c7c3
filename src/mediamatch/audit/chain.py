"""The hash chain, with no I/O: how a stored audit row is hashed and how a run of rows is checked.

Kept apart from the database code so the rule is written once and can be read (and re-implemented
by an auditor's own tool) without SQLAlchemy in the way.

`row_hash` is the SHA-256 of the row's fields in a fixed order, each written as its UTF-8 bytes
preceded by their length as 8 big-endian bytes, so no value can be shifted into its neighbour.
The fields are: the format tag `mediamatch-audit/1`, seq (decimal), at (UTC,
`YYYY-MM-DDTHH:MM:SS.ffffffZ`), actor, agency, action, object_type, object_id, detail (the
stored canonical JSON text), source_ip and prev_hash. The first row's prev_hash is
`GENESIS_HASH`. `seq` is hashed, so moving a row to another position breaks its hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime, timezone

FORMAT_TAG = "mediamatch-audit/1"
GENESIS_HASH = "0" * 64


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime. Naive values are taken as UTC: SQLite returns stored times naive."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def format_time(moment: datetime) -> str:
    """The one text form of a time that is hashed and exported (microseconds, as both back ends keep)."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One stored audit row, as read back. `action` stays text: a row written by a newer
    version, with an action this one does not know, must still be listed and verified."""

    seq: int
    at: datetime
    actor: str
    agency: str
    action: str
    object_type: str
    object_id: str
    detail: str
    source_ip: str
    prev_hash: str
    row_hash: str

    def computed_hash(self) -> str:
        """What `row_hash` must be for this row's contents and position."""
        values = (
            FORMAT_TAG,
            str(self.seq),
            format_time(self.at),
            self.actor,
            self.agency,
            self.action,
            self.object_type,
            self.object_id,
            self.detail,
            self.source_ip,
            self.prev_hash,
        )
        digest = hashlib.sha256()
        for value in values:
            data = value.encode("utf-8")
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
        return digest.hexdigest()


RECORD_FIELDS = tuple(field.name for field in fields(AuditRecord))  # also the export's column order


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of checking a chain. `first_bad_seq` is where it first breaks (for deleted
    rows, the first missing seq); `head_hash` is the last good row's hash, which an auditor can
    note down to detect later truncation of the tail, the one change a chain cannot show."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""
    head_hash: str = GENESIS_HASH


def check_chain(records: Iterable[AuditRecord]) -> VerifyResult:
    """Check rows given in seq order, stopping at the first one that breaks the chain."""
    checked = 0
    expected_seq, expected_prev = 1, GENESIS_HASH
    for record in records:
        problem = _problem(record, expected_seq, expected_prev)
        if problem is not None:
            first_bad_seq, reason = problem
            return VerifyResult(False, checked, first_bad_seq, reason, expected_prev)
        checked += 1
        expected_seq, expected_prev = record.seq + 1, record.row_hash
    return VerifyResult(True, checked, head_hash=expected_prev)


def _problem(record: AuditRecord, expected_seq: int, expected_prev: str) -> tuple[int, str] | None:
    """(first bad seq, reason naming the row) if `record` cannot follow the rows before it."""
    before = f"row seq {expected_seq - 1}" if expected_seq > 1 else "the start of the chain"
    if record.seq > expected_seq:
        missing = f"seq {expected_seq} is" if record.seq == expected_seq + 1 else f"seqs {expected_seq}-{record.seq - 1} are"
        return expected_seq, f"row seq {record.seq} follows {before}: {missing} missing (deleted)"
    if record.seq < expected_seq:
        place = f"after row seq {expected_seq - 1}" if expected_seq > 1 else "before seq 1, where the chain starts"
        return record.seq, f"row seq {record.seq} is out of place {place} (reordered or duplicated)"
    if record.computed_hash() != record.row_hash:
        return record.seq, f"row seq {record.seq}: contents do not match its row_hash (edited, or moved from another position)"
    if record.prev_hash != expected_prev:
        return record.seq, f"row seq {record.seq}: prev_hash does not match {before} (a row before it was replaced)"
    return None
