"""What the shared server keeps beyond the catalogue: notifications to agencies and the
webhooks they asked to be called on.

A notification is written when a series an agency worked on changes in a way that changes its
work (a victim identified), so no unit keeps searching for a child another unit has found.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mediamatch.store.models.auth import UTCDateTime, utcnow
from mediamatch.store.models.base import Base


class Notification(Base):
    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SeriesInterest(Base):
    """An agency that holds or has matched media of a series: it is told when the series changes."""

    __tablename__ = "series_interest"
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(32))  # "contributed" or "matched"
    first_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AgencyWebhook(Base):
    """Where to POST an agency's notifications (HTTPS only outside loopback)."""

    __tablename__ = "agency_webhooks"
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
