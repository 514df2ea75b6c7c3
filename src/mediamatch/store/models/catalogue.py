"""The catalogue's tables: who contributed which known media, in which series, and whether
the victims shown are identified.

One media item per distinct content (keyed by SHA-256); every further upload of the same bytes
is a new contribution, never a second item. An item imported from another system's hash list
(Project VIC, ICSE, NCMEC) may have no SHA-256 yet: it is keyed by MD5/SHA-1 until someone
contributes the file, which then completes that same item. Signals are rows in
`media_signals`, so a new signal type (video frame hashes, a future perceptual hash) needs no
schema change. Victims and offenders carry only an opaque reference: real-world identities
stay in the agencies' own case systems.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediamatch.store.models.base import Base


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


media_series = Table(
    "media_series",
    Base.metadata,
    Column("media_id", ForeignKey("media_items.id", ondelete="CASCADE"), primary_key=True),
    Column("series_id", ForeignKey("series.id", ondelete="CASCADE"), primary_key=True, index=True),
)
media_victims = Table(
    "media_victims",
    Base.metadata,
    Column("media_id", ForeignKey("media_items.id", ondelete="CASCADE"), primary_key=True),
    Column("victim_id", ForeignKey("victims.id", ondelete="CASCADE"), primary_key=True, index=True),
)
series_victims = Table(
    "series_victims",
    Base.metadata,
    Column("series_id", ForeignKey("series.id", ondelete="CASCADE"), primary_key=True),
    Column("victim_id", ForeignKey("victims.id", ondelete="CASCADE"), primary_key=True, index=True),
)
series_offenders = Table(
    "series_offenders",
    Base.metadata,
    Column("series_id", ForeignKey("series.id", ondelete="CASCADE"), primary_key=True),
    Column("offender_id", ForeignKey("offenders.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Agency(Base):
    __tablename__ = "agencies"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    country: Mapped[str] = mapped_column(String(2), default="XX")  # ISO 3166-1 alpha-2
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("agency_id", "reference"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    reference: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    agency: Mapped[Agency] = relationship()


class Series(Base):
    __tablename__ = "series"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    victims: Mapped[list[Victim]] = relationship(secondary=series_victims)
    offenders: Mapped[list[Offender]] = relationship(secondary=series_offenders)


class _Person:
    """Victims and offenders share a shape: an opaque reference and an identification state."""

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(200), unique=True)
    identified: Mapped[bool] = mapped_column(Boolean, default=False)
    identified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Victim(_Person, Base):
    __tablename__ = "victims"
    identified_by_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    identified_by: Mapped[Agency | None] = relationship()


class Offender(_Person, Base):
    __tablename__ = "offenders"
    identified_by_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    identified_by: Mapped[Agency | None] = relationship()


class MediaItem(Base):
    __tablename__ = "media_items"
    __table_args__ = (CheckConstraint("category BETWEEN 0 AND 4", name="category_range"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str | None] = mapped_column(String(64), unique=True)  # None: known by hashes only
    md5: Mapped[str] = mapped_column(String(32), index=True)
    sha1: Mapped[str] = mapped_column(String(40), index=True)
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[float | None] = mapped_column(Float)  # seconds, for videos
    category: Mapped[int | None] = mapped_column(Integer)  # Project VIC 0-4; None: uncategorised, never in a hash list
    baseline: Mapped[bool] = mapped_column(Boolean, default=False)
    # What Project VIC / ICSE records say that the catalogue models nowhere else; None: not stated.
    distributed: Mapped[bool | None] = mapped_column(Boolean)
    tags: Mapped[str | None] = mapped_column(Text)
    submissions: Mapped[int | None] = mapped_column(Integer)  # ICSE "Number of submissions"
    file_available: Mapped[bool | None] = mapped_column(Boolean)  # ICSE "File Available"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    series: Mapped[list[Series]] = relationship(secondary=media_series)
    victims: Mapped[list[Victim]] = relationship(secondary=media_victims)
    signals: Mapped[list[MediaSignal]] = relationship(back_populates="media", cascade="all, delete-orphan")
    contributions: Mapped[list[Contribution]] = relationship(back_populates="media")


class MediaSignal(Base):
    __tablename__ = "media_signals"
    __table_args__ = (
        UniqueConstraint("media_id", "signal", "value"),
        Index("ix_media_signals_signal_value", "signal", "value"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media_items.id", ondelete="CASCADE"))
    signal: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(512))  # PhotoDNA: 192 base64 or 288 hex characters
    quality: Mapped[int | None] = mapped_column(Integer)
    # Seconds into the video of a frame hash (signal "vpdq"); None for whole-file signals.
    timestamp: Mapped[float | None] = mapped_column(Float)
    # True: the value of the picture as a viewer shows it (EXIF orientation applied), stored to be
    # searched and never exported. False: of the pixels as stored, the reference's hash, the one
    # hash lists and exports carry (`HashRecord.displayed`; migration 0009_interop_hashes).
    displayed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    media: Mapped[MediaItem] = relationship(back_populates="signals")


class Contribution(Base):
    __tablename__ = "contributions"
    id: Mapped[int] = mapped_column(primary_key=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media_items.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id"), index=True)
    original_name: Mapped[str] = mapped_column(Text, default="")
    contributed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    media: Mapped[MediaItem] = relationship(back_populates="contributions")
    agency: Mapped[Agency] = relationship()
    case: Mapped[Case | None] = relationship()
    series: Mapped[Series | None] = relationship()
