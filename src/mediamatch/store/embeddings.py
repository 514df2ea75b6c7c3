"""Queries of the catalogue's global-descriptor embeddings (`media_embeddings`): storing a
contributed file's, reading rows to build or catch up the embedding index, and the local
features a candidate is verified with."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mediamatch.catalog.hashes import HashRecord
from mediamatch.signals.global_descriptor import EmbeddingError, from_bytes
from mediamatch.signals.local_features import FeatureError, FeatureSet
from mediamatch.signals.registry import embedding_signals
from mediamatch.store.models.embeddings import MediaEmbedding
from mediamatch.store.models.similarity import MediaFeatures

BATCH = 2000


@dataclass(frozen=True, slots=True)
class EmbeddingRow:
    row_id: int
    media_id: int
    timestamp: float | None
    vector: np.ndarray


def add_embeddings(session: Session, media_id: int, record: HashRecord) -> int:
    """Store the record's embeddings for a media item that has none yet; returns how many rows
    were added. Zero vectors (blank or tiny pictures) are not stored: they can never be found."""
    names = {signal.name for signal in embedding_signals()}
    wanted = [features for features in record.features if features.signal in names]
    if not wanted or session.scalar(select(MediaEmbedding.id).where(MediaEmbedding.media_id == media_id).limit(1)) is not None:
        return 0
    added = 0
    for features in wanted:
        try:
            vector = from_bytes(features.data)
        except EmbeddingError:
            continue
        if np.any(vector):
            session.add(MediaEmbedding(media_id=media_id, signal=features.signal, timestamp=features.timestamp, data=features.data))
            added += 1
    return added


def iter_embedding_rows(session: Session, after_id: int = 0, up_to: int | None = None) -> Iterator[EmbeddingRow]:
    """Rows stored after `after_id` (up to `up_to` when given), in row order, read in batches."""
    while True:
        query = select(MediaEmbedding.id, MediaEmbedding.media_id, MediaEmbedding.timestamp, MediaEmbedding.data).where(MediaEmbedding.id > after_id)
        if up_to is not None:
            query = query.where(MediaEmbedding.id <= up_to)
        rows = session.execute(query.order_by(MediaEmbedding.id).limit(BATCH)).all()
        for row_id, media_id, timestamp, data in rows:
            yield EmbeddingRow(row_id, media_id, timestamp, from_bytes(data))
        if len(rows) < BATCH:
            return
        after_id = rows[-1][0]


def embedding_owners(session: Session, row_ids: Iterable[int]) -> dict[int, tuple[int, float | None]]:
    """For each row id: its media item and time."""
    wanted = sorted(set(row_ids))
    if not wanted:
        return {}
    query = select(MediaEmbedding.id, MediaEmbedding.media_id, MediaEmbedding.timestamp).where(MediaEmbedding.id.in_(wanted))
    return {row_id: (media_id, timestamp) for row_id, media_id, timestamp in session.execute(query)}


def last_embedding_row(session: Session) -> int:
    return session.scalar(select(func.max(MediaEmbedding.id))) or 0


def known_features(session: Session, media_ids: Iterable[int]) -> dict[tuple[int, float | None], FeatureSet]:
    """The stored local features of `media_ids`, by (media id, time): what a global-descriptor
    candidate is verified against geometrically."""
    wanted = sorted(set(media_ids))
    if not wanted:
        return {}
    query = select(MediaFeatures.media_id, MediaFeatures.timestamp, MediaFeatures.data).where(MediaFeatures.media_id.in_(wanted))
    found = {}
    for media_id, timestamp, data in session.execute(query):
        try:
            found[(media_id, timestamp)] = FeatureSet.from_bytes(data)
        except FeatureError:
            continue
    return found
