"""What the catalogue keeps about hash lists: each published version, and which agencies
agreed that their contributions may be shared with platforms.

Consent is a row per agency (present: agreed), not a default: an agency's material reaches
platforms only after someone decided so, and who and when is kept. An item is exported when at
least one consenting agency contributed it, so one agency's refusal does not hide material
another agency chose to share.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mediamatch.store.models.auth import UTCDateTime, utcnow
from mediamatch.store.models.base import Base


class HashListVersion(Base):
    """One published version of a named list, with its delta from the version before."""

    __tablename__ = "hashlist_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    counts: Mapped[str] = mapped_column(Text)  # JSON {signal: entries}
    filter: Mapped[str] = mapped_column(Text)  # JSON, as written in the list's header
    key_id: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)  # where the server reads the file to serve it
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    delta_path: Mapped[str | None] = mapped_column(Text)
    delta_sha256: Mapped[str | None] = mapped_column(String(64))
    delta_size: Mapped[int | None] = mapped_column(BigInteger)


class PlatformSharingConsent(Base):
    """An agency that agreed its contributions may go into hash lists for platforms."""

    __tablename__ = "platform_sharing_consents"
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_by: Mapped[str] = mapped_column(String(200))
