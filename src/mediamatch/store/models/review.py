"""Platform hits and their human review: what a platform matched, who decided it, and what
that decision produced.

Nothing a platform reports goes anywhere before a person has looked at it. A hit waits as
`pending`; a reviewer confirms it (a `HitReport` is written: the record an authority would
receive) or rejects it (the indicator is disputed: an open `IndicatorDispute` keeps it out of
every later hash list until someone resolves it). The review itself is a row of its own, one
per hit at most (a unique key, so two reviewers deciding at once cannot both succeed).

An indicator is a row of `media_signals`: its id is what hash lists publish and what
platforms send back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediamatch.store.models.auth import User, UTCDateTime, utcnow
from mediamatch.store.models.base import Base
from mediamatch.store.models.catalogue import Agency, MediaSignal

HIT_STATUSES = ("pending", "confirmed", "rejected")
DECISIONS = ("confirm", "reject")
MATERIAL_TYPES = ("known", "new")


class IndicatorDispute(Base):
    """An indicator someone believes is wrong (a rejected hit, a reported false positive).

    While `resolved_at` is NULL the indicator is left out of every new hash list, so a
    platform stops matching benign content on it at its next update.
    """

    __tablename__ = "indicator_disputes"
    __table_args__ = (Index("ix_indicator_disputes_signal_id_resolved_at", "signal_id", "resolved_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    signal_id: Mapped[int] = mapped_column(ForeignKey("media_signals.id", ondelete="CASCADE"))
    hit_id: Mapped[int | None] = mapped_column(ForeignKey("hits.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    disputed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # None only where no account raised it (a maintenance script); reviews always name one.
    disputed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    indicator: Mapped[MediaSignal] = relationship()


class Hit(Base):
    """One match a platform (or an in-house detector such as the stream watcher) reported.

    The same hash on the same indicator under the same platform reference, from the same
    reporter, is one hit: the unique key makes a retried batch harmless.
    """

    __tablename__ = "hits"
    __table_args__ = (
        CheckConstraint(f"status IN {HIT_STATUSES!r}", name="status_known"),
        CheckConstraint("distance >= 0", name="distance_positive"),
        UniqueConstraint("agency_id", "source", "signal_id", "signal", "value", "reference", name="uq_hits_report"),
        Index("ix_hits_status_reported_at", "status", "reported_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(32), default="platform")
    source_label: Mapped[str | None] = mapped_column(Text)  # e.g. which stream a detector watched
    signal: Mapped[str] = mapped_column(String(32))  # their hash: signal type ...
    value: Mapped[str] = mapped_column(String(128))  # ... and value
    signal_id: Mapped[int] = mapped_column(ForeignKey("media_signals.id"), index=True)
    distance: Mapped[int] = mapped_column(Integer)
    list_name: Mapped[str | None] = mapped_column(String(200))
    list_version: Mapped[int | None] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(500))  # opaque to us: the platform's own id
    stream_time: Mapped[float | None] = mapped_column(Float)  # seconds into a stream or video
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    content_sha256: Mapped[str | None] = mapped_column(String(64))  # encrypted blob of their upload
    indicator: Mapped[MediaSignal] = relationship()
    agency: Mapped[Agency | None] = relationship()


class HitReview(Base):
    """A reviewer's decision on a hit; at most one per hit."""

    __tablename__ = "hit_reviews"
    __table_args__ = (CheckConstraint(f"decision IN {DECISIONS!r}", name="decision_known"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hit_id: Mapped[int] = mapped_column(ForeignKey("hits.id", ondelete="CASCADE"), unique=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    action_taken: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewer: Mapped[User] = relationship()


class HitReport(Base):
    """The report a confirmed hit produces, shaped on the EU CSA Regulation's report template
    (Art. 13: provider identity, date and time, the indicator and whether the material is
    known or new, whether the provider removed or disabled access, urgency), kept to what we
    hold. No user data: platforms never send us any, and this record must not invent it.

    The provider's name and country are copied, not only referenced: a report is a record of
    what was said at the time and must not change when an agency is renamed later.
    """

    __tablename__ = "hit_reports"
    __table_args__ = (CheckConstraint(f"material_type IN {MATERIAL_TYPES!r}", name="material_type_known"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hit_id: Mapped[int] = mapped_column(ForeignKey("hits.id", ondelete="CASCADE"), unique=True)
    provider_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    provider_name: Mapped[str] = mapped_column(String(200))
    provider_country: Mapped[str | None] = mapped_column(String(2))
    provider_reference: Mapped[str] = mapped_column(String(500))
    hit_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stream_time: Mapped[float | None] = mapped_column(Float)
    signal: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(128))
    signal_id: Mapped[int] = mapped_column(ForeignKey("media_signals.id"))
    distance: Mapped[int] = mapped_column(Integer)
    material_type: Mapped[str] = mapped_column(String(8), default="known")
    content_available: Mapped[bool] = mapped_column(default=False)
    action_taken: Mapped[str] = mapped_column(Text, default="")
    urgent: Mapped[bool] = mapped_column(default=False)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
