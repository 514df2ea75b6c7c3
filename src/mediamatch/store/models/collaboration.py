"""Working together on a series: who investigates it, what clues were found in it, who was
asked for help, and the search over all of that text.

Agencies avoid duplicated work by claiming a series (an `Investigation`); a claim is never
deleted, only ended (closed or handed over, with a reason), so its history stays. A `Clue` is
a note pinned to a picture, a region of it, a video time range or the whole series; each change
keeps the previous state as a `ClueRevision`. A clue marked `agency` is seen by its own agency
only, on every route. A `HelpRequest` asks other agencies about a clue with a crop of the
picture that a second person of the asking agency must approve before anyone else sees it.

`SearchDocument` is the one table full-text search reads: clues and comments are written to it
by the services that write them, series (name and notes) by database triggers, so a series made
by any code path is findable. The text index itself (SQLite FTS5 table, PostgreSQL GIN index)
is made by migration 0008 and is not a model: `described_by_models` tells autogenerate to leave it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediamatch.store.models.auth import UTCDateTime, utcnow
from mediamatch.store.models.base import Base
from mediamatch.store.models.catalogue import Agency, Contribution, Series

CLUE_KINDS = ("location", "language", "object", "clothing", "product", "landscape", "audio", "other")
VISIBILITIES = ("all", "agency")  # every agency / the author's agency only
END_KINDS = ("closed", "handed_over")
HELP_STATUSES = ("awaiting_approval", "sent", "rejected")
DOCUMENT_KINDS = ("clue", "comment", "series")
SEARCH_FTS_TABLE = "search_documents_fts"  # SQLite FTS5 (and its shadow tables, same prefix)
SEARCH_GIN_INDEX = "ix_search_documents_text_fts"  # PostgreSQL


def _one_of(*columns: str) -> str:
    return " + ".join(f"(CASE WHEN {column} IS NULL THEN 0 ELSE 1 END)" for column in columns)


class Investigation(Base):
    """An agency's claim on a series or on a single item: open while `ended_at` is NULL."""

    __tablename__ = "investigations"
    __table_args__ = (
        CheckConstraint(f"{_one_of('series_id', 'media_id')} = 1", name="one_target"),
        CheckConstraint(f"end_kind IS NULL OR end_kind IN {END_KINDS!r}", name="end_kind_known"),
        Index("ix_investigations_series_id_ended_at", "series_id", "ended_at"),
        Index("ix_investigations_media_id_ended_at", "media_id", "ended_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media_items.id", ondelete="CASCADE"))
    case_reference: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(500))
    claimed_by: Mapped[str] = mapped_column(String(200))  # the account's user name
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_kind: Mapped[str | None] = mapped_column(String(16))
    end_reason: Mapped[str | None] = mapped_column(Text)
    ended_by: Mapped[str | None] = mapped_column(String(200))
    handed_to_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    agency: Mapped[Agency] = relationship(foreign_keys=[agency_id])
    handed_to: Mapped[Agency | None] = relationship(foreign_keys=[handed_to_id])
    series: Mapped[Series | None] = relationship()


class Clue(Base):
    """A note pinned to a series, or to one of its pictures (whole, a box of it, a time range)."""

    __tablename__ = "clues"
    __table_args__ = (
        CheckConstraint(f"kind IN {CLUE_KINDS!r}", name="kind_known"),
        CheckConstraint(f"visibility IN {VISIBILITIES!r}", name="visibility_known"),
        CheckConstraint("confidence BETWEEN 0 AND 100", name="confidence_range"),
        CheckConstraint("box_width IS NULL OR (box_width > 0 AND box_height > 0 AND box_left >= 0 AND box_top >= 0)", name="box_valid"),
        CheckConstraint("time_start IS NULL OR (time_start >= 0 AND time_end >= time_start)", name="time_valid"),
        Index("ix_clues_series_id_deleted_at", "series_id", "deleted_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media_items.id", ondelete="CASCADE"), index=True)
    box_left: Mapped[int | None] = mapped_column(Integer)  # pixels of the upright picture
    box_top: Mapped[int | None] = mapped_column(Integer)
    box_width: Mapped[int | None] = mapped_column(Integer)
    box_height: Mapped[int | None] = mapped_column(Integer)
    time_start: Mapped[float | None] = mapped_column(Float)  # seconds into a video
    time_end: Mapped[float | None] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    confidence: Mapped[int] = mapped_column(Integer, default=50)  # percent
    visibility: Mapped[str] = mapped_column(String(8), default="all")
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    agency: Mapped[Agency] = relationship()
    series: Mapped[Series] = relationship()


class ClueRevision(Base):
    """A clue as it was before an edit or deletion (JSON of its fields), and who changed it."""

    __tablename__ = "clue_revisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    clue_id: Mapped[int] = mapped_column(ForeignKey("clues.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # "edited" or "deleted"
    before: Mapped[str] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Comment(Base):
    """One message of a discussion thread under a clue, a series or a help request (an answer)."""

    __tablename__ = "comments"
    __table_args__ = (CheckConstraint(f"{_one_of('clue_id', 'series_id', 'help_request_id')} = 1", name="one_thread"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clue_id: Mapped[int | None] = mapped_column(ForeignKey("clues.id", ondelete="CASCADE"), index=True)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    help_request_id: Mapped[int | None] = mapped_column(ForeignKey("help_requests.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    author: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    agency: Mapped[Agency] = relationship()


class HelpRequest(Base):
    """ "Who recognises this?": a question about a clue to all agencies or to some countries,
    with a crop that stays inside the asking agency until a second person approves it."""

    __tablename__ = "help_requests"
    __table_args__ = (CheckConstraint(f"status IN {HELP_STATUSES!r}", name="status_known"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clue_id: Mapped[int] = mapped_column(ForeignKey("clues.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    question: Mapped[str] = mapped_column(Text)
    countries: Mapped[str] = mapped_column(String(400), default="")  # space-separated ISO codes; empty: every agency
    crop_sha256: Mapped[str | None] = mapped_column(String(64))  # encrypted blob of the crop
    status: Mapped[str] = mapped_column(String(24), default="awaiting_approval")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clue: Mapped[Clue] = relationship()
    agency: Mapped[Agency] = relationship()


class Subscription(Base):
    """A specialist's field: help requests about this country and/or clue kind reach them
    (NULL: any). Notifications go to the specialist's agency, naming the specialist."""

    __tablename__ = "subscriptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    country: Mapped[str | None] = mapped_column(String(2))
    kind: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SearchDocument(Base):
    """One searchable text with what search filters on, copied from its source row."""

    __tablename__ = "search_documents"
    __table_args__ = (
        CheckConstraint(f"kind IN {DOCUMENT_KINDS!r}", name="kind_known"),
        Index("ix_search_documents_kind_object_id", "kind", "object_id", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    object_id: Mapped[int] = mapped_column(Integer)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))  # the author's; NULL for a series
    visible_to: Mapped[int | None] = mapped_column(Integer)  # NULL: every agency; else only this agency id
    clue_kind: Mapped[str | None] = mapped_column(String(16))
    country: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    text: Mapped[str] = mapped_column(Text)


#: The statistics' "first contribution of a series" is one seek per series with this index.
Index("ix_contributions_series_id_contributed_at", Contribution.series_id, Contribution.contributed_at)


def described_by_models(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's `include_name`: False for the search index objects migration 0008 makes by
    hand (an FTS5 virtual table and its shadow tables, a GIN expression index), which no
    model describes and autogenerate must neither drop nor report."""
    if name is None:
        return True
    return not (name.startswith(SEARCH_FTS_TABLE) or name == SEARCH_GIN_INDEX)
