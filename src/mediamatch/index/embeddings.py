"""The embedding index: the catalogue's global-descriptor vectors, searched by inner product.

Embeddings are L2-normalised (signals/global_descriptor.py), so the inner product is their
cosine similarity. FAISS's scalar quantiser keeps each of the 512 numbers as float16: 1 KiB
per picture plus its id, no training (an index that must be retrained as the catalogue grows
would be rebuilt on every start of a small one), and scores within 0.001 of float32's, far
below the gap between a copy (0.5 and more) and an unrelated picture (under 0.3). Ids are the
`media_embeddings` row ids. On disk it is FAISS's own format, saved beside the catalogue like
the descriptor index (services/global_similar.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mediamatch.index.faiss_files import FaissFile, faiss, read_index
from mediamatch.signals.global_descriptor import DIMENSIONS


class EmbeddingIndex(FaissFile):
    @classmethod
    def empty(cls) -> EmbeddingIndex:
        module = faiss()
        return cls(module.IndexIDMap2(module.IndexScalarQuantizer(DIMENSIONS, module.ScalarQuantizer.QT_fp16, module.METRIC_INNER_PRODUCT)))

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, np.float32).reshape(-1, DIMENSIONS), np.ascontiguousarray(ids, np.int64))

    def search(self, vector: np.ndarray, neighbours: int) -> list[tuple[int, float]]:
        """The `neighbours` nearest rows of one vector: (row id, cosine), best first."""
        if not len(self):
            return []
        scores, ids = self.index.search(np.ascontiguousarray(vector, np.float32).reshape(1, DIMENSIONS), neighbours)
        return [(int(row), float(score)) for row, score in zip(ids[0], scores[0]) if row >= 0]

    @classmethod
    def load(cls, path: Path) -> EmbeddingIndex:
        return cls(read_index(path, "embedding index", DIMENSIONS, faiss().METRIC_INNER_PRODUCT))
