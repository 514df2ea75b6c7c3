"""Signed checkpoints of the audit chain's head, kept outside the database.

The hash chain shows an edited, deleted or reordered row, but not two changes made with the
database owner's rights: deleting rows from the end (even all of them), or rewriting rows and
recomputing every hash after them. Both leave a chain that verifies. A checkpoint fixes the
head at a moment (its seq, its row hash, the row's time and when the checkpoint was made),
signed with an Ed25519 key that the database never holds, and is written to a file kept
elsewhere (or sent to a second party). Checked later against the database:

- the chain ends below the checkpoint's seq: rows were removed from the end (TRUNCATED);
- the row at the checkpoint's seq has another hash: it, or a row before it, was rewritten
  and the chain recomputed (REWRITTEN).

Rows written after the newest checkpoint are protected by the chain alone until the next
one, so checkpoints are made on a schedule: by the server itself (`mediamatch serve
--checkpoint-every MINUTES`, `CheckpointSchedule`: one thread in the serving process, however
many worker processes answer requests) or by cron running `mediamatch audit checkpoint`.

A checkpoint file holds one JSON object per line, newest last. Each object has `format`
(`mediamatch-audit-checkpoint/1`), `seq`, `row_hash`, `row_at`, `made_at` and `signature`:
the base64 Ed25519 signature of the canonical JSON (sorted keys, no spaces, UTF-8) of the
other fields, so an auditor's own tool can check it with the public key alone.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine, select

from mediamatch.audit import trail
from mediamatch.audit.chain import GENESIS_HASH, format_time
from mediamatch.store.models.audit import AuditEventRow

FORMAT = "mediamatch-audit-checkpoint/1"
log = logging.getLogger(__name__)


class CheckpointError(ValueError):
    """A checkpoint cannot be made (the chain is broken) or read (unsigned, forged, malformed)."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int  # 0: the trail was empty
    row_hash: str
    row_at: str  # the head row's time, chain.format_time; "" for an empty trail
    made_at: str

    def signed_bytes(self) -> bytes:
        return json.dumps({"format": FORMAT, **asdict(self)}, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def line(self, key: Ed25519PrivateKey) -> str:
        """The signed JSON line for a checkpoint file."""
        signature = base64.b64encode(key.sign(self.signed_bytes())).decode("ascii")
        return json.dumps({"format": FORMAT, **asdict(self), "signature": signature}, sort_keys=True, ensure_ascii=False)


def make_checkpoint(engine: Engine, now: datetime) -> Checkpoint:
    """The current head, after checking the whole chain: a checkpoint must never vouch for a
    chain that is already broken."""
    result = trail.verify(engine)
    if not result.ok:
        raise CheckpointError(f"the audit trail is broken at seq {result.first_bad_seq} ({result.reason}); no checkpoint made")
    if result.checked == 0:
        return Checkpoint(0, GENESIS_HASH, "", format_time(now))
    with engine.connect() as conn:
        at = conn.scalar(select(AuditEventRow.at).where(AuditEventRow.seq == result.checked))
    assert at is not None  # the chain just verified `checked` rows
    return Checkpoint(result.checked, result.head_hash, format_time(at), format_time(now))


def append_checkpoint(path: Path, checkpoint: Checkpoint, key: Ed25519PrivateKey) -> str:
    """Add the signed checkpoint to the file at `path` (created if missing), flushed to disk;
    returns the line written."""
    line = checkpoint.line(key)
    append_line(path, line)
    return line


def append_line(path: Path, line: str) -> None:
    """Add one signed checkpoint line to the file at `path` (created if missing), flushed to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def parse_checkpoint(line: str, public_key: Ed25519PublicKey) -> Checkpoint:
    """The checkpoint in one signed line, or CheckpointError if it is malformed or its
    signature does not verify with `public_key`."""
    try:
        data = json.loads(line)
        if data.pop("format") != FORMAT:
            raise ValueError("not a mediamatch audit checkpoint")
        signature = base64.b64decode(data.pop("signature"), validate=True)
        checkpoint = Checkpoint(**data)
        if not isinstance(checkpoint.seq, int) or checkpoint.seq < 0:
            raise ValueError("seq is not a whole number")
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error) as exc:
        raise CheckpointError(f"not a readable checkpoint: {exc}") from None
    try:
        public_key.verify(signature, checkpoint.signed_bytes())
    except InvalidSignature:
        raise CheckpointError(f"the checkpoint of seq {checkpoint.seq} made {checkpoint.made_at} is not signed by this key") from None
    return checkpoint


def read_checkpoints(path: Path, public_key: Ed25519PublicKey) -> list[Checkpoint]:
    """Every checkpoint in the file, oldest first; CheckpointError names the first bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CheckpointError(f"{path}: {exc.strerror or exc}") from None
    found = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                found.append(parse_checkpoint(line, public_key))
            except CheckpointError as exc:
                raise CheckpointError(f"{path} line {number}: {exc}") from None
    if not found:
        raise CheckpointError(f"{path} holds no checkpoint")
    return found


class Finding(StrEnum):
    TRUNCATED = "truncated"  # rows removed from the end
    REWRITTEN = "rewritten"  # a row at or before the checkpoint changed, hashes recomputed


@dataclass(frozen=True, slots=True)
class CheckpointResult:
    ok: bool
    checked: int  # checkpoints compared
    finding: Finding | None = None
    checkpoint: Checkpoint | None = None  # the first one the database no longer matches
    reason: str = ""


def check_checkpoints(engine: Engine, checkpoints: Sequence[Checkpoint]) -> CheckpointResult:
    """Compare the database with each checkpoint, oldest first (one row read per checkpoint)."""
    with engine.connect() as conn:
        head = conn.scalar(select(AuditEventRow.seq).order_by(AuditEventRow.seq.desc()).limit(1)) or 0
        wanted = sorted({checkpoint.seq for checkpoint in checkpoints if 0 < checkpoint.seq <= head})
        rows = conn.execute(select(AuditEventRow.seq, AuditEventRow.row_hash).where(AuditEventRow.seq.in_(wanted))) if wanted else ()
        stored = {seq: row_hash for seq, row_hash in rows}  # noqa: C416 - dict() would read a Result as a mapping
    for count, checkpoint in enumerate(checkpoints):
        when = f"the checkpoint made {checkpoint.made_at}"
        if head < checkpoint.seq:
            reason = f"the trail ends at seq {head}, but {when} saw seq {checkpoint.seq}: rows {head + 1}-{checkpoint.seq} were removed from the end"
            return CheckpointResult(False, count, Finding.TRUNCATED, checkpoint, reason)
        if checkpoint.seq and stored.get(checkpoint.seq) != checkpoint.row_hash:
            reason = f"row seq {checkpoint.seq} no longer has the hash {when} recorded: it or a row before it was rewritten and the chain recomputed"
            return CheckpointResult(False, count, Finding.REWRITTEN, checkpoint, reason)
    return CheckpointResult(True, len(checkpoints))


Deliver = Callable[[str], None]  # takes a signed checkpoint line: appends it to a file, posts it


class CheckpointSchedule:
    """Signed checkpoints made by a thread of the serving process: one when it starts, one every
    `every`, and one when it stops (so the anchor is at most one interval behind the head).

    Run by the process that supervises the server's workers, never by the workers themselves,
    so there is one writer however many processes answer requests. A checkpoint that cannot be
    made (the chain is broken) or delivered is logged as an error and tried again at the next
    tick: the server keeps serving, and the missing checkpoint is visible in the file's times."""

    def __init__(self, engine: Engine, key: Ed25519PrivateKey, every: timedelta, deliveries: Sequence[Deliver]) -> None:
        if every <= timedelta(0):
            raise ValueError("a checkpoint interval must be positive")
        self.engine = engine
        self.key = key
        self.every = every
        self.deliveries = tuple(deliveries)
        self.made = 0  # checkpoints made and delivered everywhere
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-checkpoints", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Make the last checkpoint and end the thread."""
        self._stopping.set()
        self._thread.join()

    def checkpoint_now(self) -> bool:
        """Make and deliver one checkpoint; False (and an error logged) when it could not be."""
        try:
            line = make_checkpoint(self.engine, datetime.now(timezone.utc)).line(self.key)
        except Exception as exc:  # noqa: BLE001 - a broken chain or an unreachable database must not end the schedule
            log.error("audit checkpoint not made: %s", exc)
            return False
        delivered = True
        for deliver in self.deliveries:
            try:
                deliver(line)
            except Exception as exc:  # noqa: BLE001 - a full disk or an unreachable receiver: the others still get it
                log.error("audit checkpoint not delivered: %s", exc)
                delivered = False
        self.made += delivered
        return delivered

    def _run(self) -> None:
        self.checkpoint_now()
        while not self._stopping.wait(self.every.total_seconds()):
            self.checkpoint_now()
        self.checkpoint_now()
