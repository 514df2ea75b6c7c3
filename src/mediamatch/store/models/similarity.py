"""Local features of catalogued pictures and video frames, for similarity search.

One row per picture, or per sampled frame of a video (with its time): the packed feature set
(signals/local_features.py, the CATALOGUE_POINTS strongest keypoints). The descriptor index
(index/descriptors.py) is built from these rows and kept beside the catalogue; its ids point
back at them, so a verified hit says which item, and for a video when in it. Kept apart from
`media_signals` on purpose: nothing that reads hash values (hash lists, exchange exports,
reports) ever sees them.
"""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from mediamatch.store.models.base import Base


class MediaFeatures(Base):
    __tablename__ = "media_features"
    id: Mapped[int] = mapped_column(primary_key=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media_items.id", ondelete="CASCADE"), index=True)
    signal: Mapped[str] = mapped_column(String(32))
    timestamp: Mapped[float | None] = mapped_column(Float)  # seconds into a video; None for a still
    data: Mapped[bytes] = mapped_column(LargeBinary)
