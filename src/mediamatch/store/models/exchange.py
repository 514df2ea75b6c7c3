"""What other systems' hash-list records say of an item that the catalogue acts on nowhere else,
kept as given so an export writes it back: the sender's id for the item (ICSE `Image ID`, VICS
`MediaID`, an NCMEC id) and the VICS fields `DateUpdated`, `IsPrecategorized`,
`PrecategorizationSource` and `Comments`.

One row per item, only for items an import said any of this about; the first source to state
a field sets it (as for the item's other imported columns). An item without a row exports its
catalogue id as its id.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mediamatch.store.models.base import Base

KEPT_FIELDS = ("source_id", "date_updated", "precategorized", "precategorization_source", "comments")


class ExchangeFields(Base):
    __tablename__ = "media_exchange_fields"
    media_id: Mapped[int] = mapped_column(ForeignKey("media_items.id", ondelete="CASCADE"), primary_key=True)
    source_id: Mapped[str | None] = mapped_column(String(100))  # the sender's id, written back as the item's id
    date_updated: Mapped[str | None] = mapped_column(String(40))  # VICS DateUpdated, as written
    precategorized: Mapped[bool | None] = mapped_column(Boolean)  # VICS IsPrecategorized
    precategorization_source: Mapped[str | None] = mapped_column(String(200))  # VICS PrecategorizationSource
    comments: Mapped[str | None] = mapped_column(Text)  # VICS Comments
