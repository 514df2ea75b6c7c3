"""Writing, checking and searching the audit trail in the database.

`record` appends an event inside the caller's transaction, so an action and its audit event
commit or roll back together: there is never a metadata change without its event, nor an event
for a change that did not happen.

The chain never forks and never skips a seq, and an append costs one statement in the usual
case (every API request appends one, so this is the server's hot path). Each engine remembers
the head it last wrote or read; the append inserts the next row with an INSERT … SELECT whose
WHERE clause holds only while that head is still the table's last row, and ON CONFLICT DO
NOTHING on `seq` turns a concurrent writer's row at the same position into "nothing
inserted" rather than an error. When nothing is inserted (another process or request wrote
first, or a remembered row was rolled back), the head is read afresh and the append tried
again: on PostgreSQL under a transaction-scoped advisory lock, so writers that lost a race
queue instead of retrying against each other (SQLite already holds its one write lock from
`BEGIN IMMEDIATE`, see `store.db`). The primary key on `seq` is the backstop.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from sqlalchemy import ColumnElement, Engine, Select, exists, literal, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from mediamatch.audit.chain import GENESIS_HASH, RECORD_FIELDS, AuditRecord, VerifyResult, as_utc, check_chain
from mediamatch.audit.events import AuditAction, AuditEvent
from mediamatch.store.models.audit import AuditEventRow

# Any fixed 64-bit number will do; the same one in every process. This one spells "mm-audit".
ADVISORY_LOCK_KEY = int.from_bytes(b"mm-audit", "big")
VERIFY_BATCH = 10_000
MAX_APPEND_TRIES = 100  # each failed try means another writer appended: progress is being made


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last row of a chain: where the next row goes and what it must point back to."""

    seq: int
    row_hash: str


GENESIS = ChainHead(0, GENESIS_HASH)
# The head each engine last saw, a hint only: a wrong one costs a retry, never a bad row.
_known_heads: weakref.WeakKeyDictionary[Engine, ChainHead] = weakref.WeakKeyDictionary()


def record(session: Session, event: AuditEvent) -> int:
    """Append `event`, stamped with the current UTC time, and return its seq."""
    engine = session.get_bind().engine
    head = _known_heads.get(engine)
    for attempt in range(MAX_APPEND_TRIES):
        if head is None or attempt > 0:
            head = _read_head(session, locked=attempt > 0)
        sealed = _sealed(event, head)
        if _append_after(session, head, sealed):
            _known_heads[engine] = ChainHead(sealed.seq, sealed.row_hash)
            return sealed.seq
    raise RuntimeError(f"could not append to the audit trail after {MAX_APPEND_TRIES} tries")


def _read_head(session: Session, *, locked: bool) -> ChainHead:
    if locked and session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    last = session.execute(select(AuditEventRow.seq, AuditEventRow.row_hash).order_by(AuditEventRow.seq.desc()).limit(1)).first()
    return ChainHead(last.seq, last.row_hash) if last else GENESIS


def _sealed(event: AuditEvent, head: ChainHead) -> AuditRecord:
    unsealed = AuditRecord(
        seq=head.seq + 1,
        at=datetime.now(timezone.utc),
        actor=event.actor,
        agency=event.agency,
        action=str(event.action),
        object_type=event.object_type,
        object_id=event.object_id,
        detail=event.detail_json,
        source_ip=event.source_ip,
        prev_hash=head.row_hash,
        row_hash="",
    )
    return replace(unsealed, row_hash=unsealed.computed_hash())


def _append_after(session: Session, head: ChainHead, sealed: AuditRecord) -> bool:
    """Insert `sealed` if `head` is still the last row; False when another row got there first."""
    table = AuditEventRow.__table__
    values = select(*(literal(getattr(sealed, name), table.c[name].type).label(name) for name in RECORD_FIELDS))
    nothing_after = ~exists().where(AuditEventRow.seq > head.seq)
    if head.seq:
        values = values.where(exists().where(AuditEventRow.seq == head.seq, AuditEventRow.row_hash == head.row_hash), nothing_after)
    else:
        values = values.where(nothing_after)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(AuditEventRow).from_select(list(RECORD_FIELDS), values).on_conflict_do_nothing(index_elements=["seq"])
    return session.execute(statement.returning(AuditEventRow.seq)).first() is not None


def verify(engine: Engine, batch_size: int = VERIFY_BATCH) -> VerifyResult:
    """Check the whole chain, reading it in seq order a batch at a time.

    Each batch is its own short transaction: on SQLite every transaction holds the write lock,
    and a long check must not stop the service from recording events. The table is
    append-only, so batches read at different moments still form one consistent chain.
    """

    def run(statement: Select[AuditEventRow]) -> Sequence[object]:
        with engine.connect() as conn:
            return conn.execute(statement).all()

    return check_chain(_in_seq_order(run, select(AuditEventRow), batch_size))


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What an auditor is looking for; empty fields match everything. `since` is inclusive,
    `until` exclusive; naive times are taken as UTC."""

    actor: str | None = None
    agency: str | None = None
    actions: tuple[AuditAction, ...] = ()
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        for column, value in (
            (AuditEventRow.actor, self.actor),
            (AuditEventRow.agency, self.agency),
            (AuditEventRow.object_type, self.object_type),
            (AuditEventRow.object_id, self.object_id),
        ):
            if value is not None:
                found.append(column == value)
        if self.actions:
            found.append(AuditEventRow.action.in_([str(action) for action in self.actions]))
        if self.since is not None:
            found.append(AuditEventRow.at >= as_utc(self.since))
        if self.until is not None:
            found.append(AuditEventRow.at < as_utc(self.until))
        return found


def query(session: Session, where: AuditFilter = AuditFilter(), *, limit: int = 100, offset: int = 0, newest_first: bool = False) -> list[AuditRecord]:
    """One page of the events matching `where`, in seq order (or newest first)."""
    order = AuditEventRow.seq.desc() if newest_first else AuditEventRow.seq
    statement = _select(where).order_by(order).limit(limit).offset(offset)
    return [_to_record(row) for row in session.scalars(statement)]


def iter_events(session: Session, where: AuditFilter = AuditFilter(), batch_size: int = 5_000) -> Iterator[AuditRecord]:
    """Every event matching `where`, in seq order, a batch at a time (for exports of any size)."""
    return _in_seq_order(lambda statement: session.scalars(statement).all(), _select(where), batch_size)


def _in_seq_order(run: Callable[[Select[AuditEventRow]], Sequence[object]], statement: Select[AuditEventRow], batch_size: int) -> Iterator[AuditRecord]:
    """The rows of `statement` in seq order, fetched `batch_size` at a time by `run`, each batch
    after the last seq seen (no lower bound at first: a row moved to seq 0 or below must show)."""
    after: int | None = None
    while True:
        page = statement if after is None else statement.where(AuditEventRow.seq > after)
        batch = [_to_record(row) for row in run(page.order_by(AuditEventRow.seq).limit(batch_size))]
        yield from batch
        if len(batch) < batch_size:
            return
        after = batch[-1].seq


def _select(where: AuditFilter) -> Select[AuditEventRow]:
    return select(AuditEventRow).where(*where.conditions())


def _to_record(row: object) -> AuditRecord:
    """A stored row (ORM object or Core row) as a record, its time made UTC-aware again."""
    values = {name: getattr(row, name) for name in RECORD_FIELDS}
    values["at"] = as_utc(values["at"])
    return AuditRecord(**values)
