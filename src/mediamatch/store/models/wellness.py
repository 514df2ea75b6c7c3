"""Each account's wellness settings for the browser workspace (how pictures are shown).

One row per user, written when the user first saves the settings page; until then the
defaults in `services.wellness` apply (greyscale, blurred, muted, no autoplay), so the safe
way of showing material never depends on a row existing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from mediamatch.store.models.auth import UTCDateTime, utcnow
from mediamatch.store.models.base import Base


class WellnessSettings(Base):
    __tablename__ = "wellness_settings"
    __table_args__ = (
        CheckConstraint("blur_px BETWEEN 0 AND 64", name="blur_px_range"),
        CheckConstraint("thumb_px BETWEEN 64 AND 1024", name="thumb_px_range"),
        CheckConstraint("break_minutes BETWEEN 0 AND 480", name="break_minutes_range"),
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    blur_px: Mapped[int] = mapped_column(Integer)
    greyscale: Mapped[bool] = mapped_column(Boolean)
    thumb_px: Mapped[int] = mapped_column(Integer)
    muted: Mapped[bool] = mapped_column(Boolean)
    autoplay: Mapped[bool] = mapped_column(Boolean)
    break_minutes: Mapped[int] = mapped_column(Integer)  # 0: no reminder
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
