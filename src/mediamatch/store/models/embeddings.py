"""Global-descriptor embeddings of catalogued pictures and video frames (signals/global_descriptor.py).

One row per picture, or per sampled frame of a video (with its time). The embedding index
(index/embeddings.py) is built from these rows and kept beside the catalogue; its ids are the
row ids. Kept apart from `media_signals` like `media_features`: nothing that reads hash values
(hash lists, exchange exports, reports) ever sees them.
"""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from mediamatch.store.models.base import Base


class MediaEmbedding(Base):
    __tablename__ = "media_embeddings"
    id: Mapped[int] = mapped_column(primary_key=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media_items.id", ondelete="CASCADE"), index=True)
    signal: Mapped[str] = mapped_column(String(32))
    timestamp: Mapped[float | None] = mapped_column(Float)  # seconds into a video; None for a still
    data: Mapped[bytes] = mapped_column(LargeBinary)
