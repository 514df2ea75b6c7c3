"""The audit trail's table: one row per audited action, append-only and hash-chained.

Each row stores the SHA-256 of the row before it (`prev_hash`) and of itself (`row_hash`, over
every column but itself; see `audit.trail.row_hash`), so editing, deleting or reordering a row
breaks the chain at that row and `mediamatch audit verify` names it. `seq` is both the key and
the chain position: 1, 2, 3 … with no gaps, assigned under a lock by `audit.trail.record`.

The migration adds triggers that refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL), so
the application cannot rewrite history by accident; the chain is what catches someone who
bypasses the triggers with the database owner's rights.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mediamatch.store.models.base import Base


class AuditEventRow(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id"),)

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)  # UTC
    actor: Mapped[str] = mapped_column(String(200), index=True)
    agency: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)  # an AuditAction value
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON, exactly as hashed
    source_ip: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))
