"""Queries of the catalogue's local features (`media_features`): storing a contributed file's,
reading rows to build or catch up the descriptor index, and the candidates a search verifies."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mediamatch.catalog.hashes import HashRecord
from mediamatch.signals.local_features import CATALOGUE_POINTS, FeatureError, FeatureSet
from mediamatch.store.models.similarity import MediaFeatures

BATCH = 500


@dataclass(frozen=True, slots=True)
class FeatureRow:
    row_id: int
    media_id: int
    timestamp: float | None
    features: FeatureSet


def add_features(session: Session, media_id: int, record: HashRecord) -> int:
    """Store the record's features (the CATALOGUE_POINTS strongest keypoints of each picture or
    frame), and the miniature of a low-detail one, for a media item that has none yet; returns
    how many rows were added. Feature sets with neither (blank pictures) are not stored: they
    can never be found."""
    if not record.features or session.scalar(select(MediaFeatures.id).where(MediaFeatures.media_id == media_id).limit(1)) is not None:
        return 0
    added = 0
    for features in record.features:
        try:
            kept = FeatureSet.from_bytes(features.data).strongest(CATALOGUE_POINTS)
        except FeatureError:
            continue
        if kept.searchable:
            session.add(MediaFeatures(media_id=media_id, signal=features.signal, timestamp=features.timestamp, data=kept.to_bytes()))
            added += 1
    return added


def iter_feature_rows(session: Session, after_id: int = 0, up_to: int | None = None) -> Iterator[FeatureRow]:
    """Rows stored after `after_id` (up to `up_to` when given), in row order, read in batches."""
    while True:
        query = select(MediaFeatures.id, MediaFeatures.media_id, MediaFeatures.timestamp, MediaFeatures.data).where(MediaFeatures.id > after_id)
        if up_to is not None:
            query = query.where(MediaFeatures.id <= up_to)
        rows = session.execute(query.order_by(MediaFeatures.id).limit(BATCH)).all()
        for row_id, media_id, timestamp, data in rows:
            yield FeatureRow(row_id, media_id, timestamp, FeatureSet.from_bytes(data))
        if len(rows) < BATCH:
            return
        after_id = rows[-1][0]


def feature_rows(session: Session, row_ids: Iterable[int]) -> dict[int, FeatureRow]:
    wanted = sorted(set(row_ids))
    found: dict[int, FeatureRow] = {}
    for start in range(0, len(wanted), BATCH):
        query = select(MediaFeatures.id, MediaFeatures.media_id, MediaFeatures.timestamp, MediaFeatures.data).where(
            MediaFeatures.id.in_(wanted[start : start + BATCH])
        )
        for row_id, media_id, timestamp, data in session.execute(query):
            found[row_id] = FeatureRow(row_id, media_id, timestamp, FeatureSet.from_bytes(data))
    return found


def last_feature_row(session: Session) -> int:
    return session.scalar(select(func.max(MediaFeatures.id))) or 0
