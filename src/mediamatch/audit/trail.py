"""Writing, checking and searching the audit trail in the database.

`record` appends an event inside the caller's transaction, so an action and its audit event
commit or roll back together: there is never a metadata change without its event, nor an event
for a change that did not happen. Appends are serialised so the chain never forks: SQLite
already holds the write lock from `BEGIN IMMEDIATE` (see `store.db`), PostgreSQL takes a
transaction-scoped advisory lock. The primary key on `seq` is the backstop: a second writer
that somehow read the same last row fails to insert instead of forking the chain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from sqlalchemy import ColumnElement, Engine, Select, select, text
from sqlalchemy.orm import Session

from mediamatch.audit.chain import GENESIS_HASH, RECORD_FIELDS, AuditRecord, VerifyResult, as_utc, check_chain
from mediamatch.audit.events import AuditAction, AuditEvent
from mediamatch.store.models.audit import AuditEventRow

# Any fixed 64-bit number will do; the same one in every process. This one spells "mm-audit".
ADVISORY_LOCK_KEY = int.from_bytes(b"mm-audit", "big")
VERIFY_BATCH = 10_000


def record(session: Session, event: AuditEvent) -> int:
    """Append `event`, stamped with the current UTC time, and return its seq."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    last = session.execute(select(AuditEventRow.seq, AuditEventRow.row_hash).order_by(AuditEventRow.seq.desc()).limit(1)).first()
    unsealed = AuditRecord(
        seq=last.seq + 1 if last else 1,
        at=datetime.now(timezone.utc),
        actor=event.actor,
        agency=event.agency,
        action=str(event.action),
        object_type=event.object_type,
        object_id=event.object_id,
        detail=event.detail_json,
        source_ip=event.source_ip,
        prev_hash=last.row_hash if last else GENESIS_HASH,
        row_hash="",
    )
    sealed = replace(unsealed, row_hash=unsealed.computed_hash())
    session.add(AuditEventRow(**{name: getattr(sealed, name) for name in RECORD_FIELDS}))
    session.flush()
    return sealed.seq


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


def _in_seq_order(
    run: Callable[[Select[AuditEventRow]], Sequence[object]], statement: Select[AuditEventRow], batch_size: int
) -> Iterator[AuditRecord]:
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
