"""Triage runs started in the browser, and their rows.

A run's rows are kept in the catalogue database (not only in the run's state file) so the
results grid can filter, sort and page over 100,000 files with indexed queries: each filter
the grid offers (status, series, media kind, category) has an index that starts with the run
and ends with the row's position, so a page is an index range scan whatever the run's size.
The full row (every signal, every match) is kept as JSON in `data`, read only for the rows
of the page shown.

A run belongs to one agency: only that agency's accounts see it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mediamatch.store.models.auth import UTCDateTime, utcnow
from mediamatch.store.models.base import Base

RUN_KINDS = ("upload", "archive", "server", "report")
RUN_STATES = ("queued", "running", "finished", "failed")


class TriageRun(Base):
    """One triage an agency started in the browser (or a CLI report it opened there)."""

    __tablename__ = "triage_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    started_by: Mapped[str] = mapped_column(String(200))  # the account's username, as the audit trail names it
    kind: Mapped[str] = mapped_column(String(16))  # one of RUN_KINDS
    label: Mapped[str] = mapped_column(Text)  # what was triaged, in words (a folder's name, an archive's, a server path)
    folder: Mapped[str] = mapped_column(Text)  # the run's working folder on the server (uploads, state file, thumbnails)
    source: Mapped[str] = mapped_column(Text, default="")  # the collection triaged; "" for an opened report
    state: Mapped[str] = mapped_column(String(16), default="queued")  # one of RUN_STATES
    total: Mapped[int | None] = mapped_column(Integer)  # entries expected, when cheap to know
    done: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[str] = mapped_column(Text, default="{}")  # JSON {status: rows}
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TriageRunRow(Base):
    """One file of a run: the columns the grid filters and sorts on, and the whole row as JSON."""

    __tablename__ = "triage_run_rows"
    __table_args__ = (
        Index("ix_triage_run_rows_status", "run_id", "status", "seq"),
        Index("ix_triage_run_rows_series", "run_id", "series", "seq"),
        Index("ix_triage_run_rows_media_kind", "run_id", "media_kind", "seq"),
        Index("ix_triage_run_rows_category", "run_id", "category", "seq"),
        Index("ix_triage_run_rows_path", "run_id", "path", "seq"),
        Index("ix_triage_run_rows_size", "run_id", "size", "seq"),
        Index("ix_triage_run_rows_distance", "run_id", "best_distance", "seq"),
        Index("ix_triage_run_rows_media_id", "media_id"),
    )
    run_id: Mapped[int] = mapped_column(ForeignKey("triage_runs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    path: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))
    media_kind: Mapped[str] = mapped_column(String(16))  # "image", "video" or "other"
    size: Mapped[int | None] = mapped_column(BigInteger)
    series: Mapped[str | None] = mapped_column(String(200))  # the best match's first series
    category: Mapped[int | None] = mapped_column(Integer)  # set by the user, else the best match's
    category_set: Mapped[bool] = mapped_column(Boolean, default=False)  # whether a user chose `category`
    best_distance: Mapped[int | None] = mapped_column(Integer)
    media_id: Mapped[int | None] = mapped_column(Integer)  # the best match's catalogue item
    known_from: Mapped[str | None] = mapped_column(Text)  # the first contribution of that item: "agency (case)"
    contributed_series: Mapped[str | None] = mapped_column(String(200))  # set once the file was contributed from here
    data: Mapped[str] = mapped_column(Text)  # the triage row as JSON (services.triage.plain_row)
