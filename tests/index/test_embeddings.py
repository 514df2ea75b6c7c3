"""The embedding index: inner-product search of unit vectors, saved and read back; a file that
is not one is refused with a reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mediamatch.index.embeddings import EmbeddingIndex
from mediamatch.index.faiss_files import IndexFileError


def unit_vectors(count: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, 512)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_nearest_rows_by_cosine_survive_a_save(tmp_path: Path) -> None:
    vectors = unit_vectors(50)
    index = EmbeddingIndex.empty()
    assert index.search(vectors[0], 3) == []
    index.add(vectors, np.arange(100, 150))
    [(row, cosine), *_] = index.search(vectors[7], 3)
    assert row == 107 and cosine == pytest.approx(1.0, abs=2e-3)
    index.save(tmp_path / "embeddings")
    loaded = EmbeddingIndex.load(tmp_path / "embeddings")
    assert len(loaded) == 50 and loaded.search(vectors[7], 1)[0][0] == 107


def test_a_file_that_is_not_an_index_is_refused(tmp_path: Path) -> None:
    (tmp_path / "junk").write_bytes(b"not an index")
    with pytest.raises(IndexFileError, match="not a readable embedding index"):
        EmbeddingIndex.load(tmp_path / "junk")
