"""The descriptor index: exact while small, IVF + fast-scan PQ past EXACT_UP_TO, saved in FAISS's
format and mapped read-only; and geometric verification tells copies from other views."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from mediamatch.index import descriptors
from mediamatch.index.descriptors import EXACT_UP_TO, DescriptorIndex, point_ids, split_ids
from mediamatch.index.faiss_files import IndexFileError
from mediamatch.index.verify import CONTAINS, RELATED, verify


def random_descriptors(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 128), dtype=np.uint8)


def test_ids_carry_row_and_keypoint() -> None:
    ids = point_ids(np.array([3, 9]), np.array([2, 3]))
    rows, points = split_ids(ids)
    assert rows.tolist() == [3, 3, 9, 9, 9] and points.tolist() == [0, 1, 0, 1, 2]


def test_small_catalogue_is_exact_and_large_one_is_quantised(tmp_path: Path) -> None:
    small = DescriptorIndex.build(random_descriptors(500), np.arange(500))
    assert small.trained_on == 0 and small.needs_training(EXACT_UP_TO)
    vectors = random_descriptors(EXACT_UP_TO + 1000)
    large = DescriptorIndex.build(vectors, np.arange(len(vectors)))
    assert "FastScan" in type(large.index).__name__ and large.trained_on == len(vectors)
    assert large.bytes_per_descriptor == 24  # 16-byte code + 8-byte id: 256 keypoints in 6 KiB
    _, ids = large.search(vectors[:200], 1)
    assert np.mean(ids[:, 0] == np.arange(200)) > 0.5  # random vectors are the worst case for PQ
    assert not large.needs_training(2 * len(vectors)) and large.needs_training(2 * len(vectors) + 1)


def test_saved_index_is_mapped_read_only_and_reloaded_to_grow(tmp_path: Path) -> None:
    vectors = random_descriptors(EXACT_UP_TO + 500, seed=1)
    path = tmp_path / "similar-index"
    DescriptorIndex.build(vectors, np.arange(len(vectors))).save(path)
    mapped = DescriptorIndex.load(path, len(vectors))
    assert mapped.mapped and len(mapped) == len(vectors)
    with pytest.raises(IndexFileError, match="read-only"):
        mapped.add(vectors[:1], np.array([10**6]))
    writable = DescriptorIndex.load(path, len(vectors), writable=True)
    writable.add(vectors[:1], np.array([10**6]))
    assert len(writable) == len(vectors) + 1
    (tmp_path / "junk").write_bytes(b"not an index")
    with pytest.raises(IndexFileError):
        DescriptorIndex.load(tmp_path / "junk", 0)


def test_empty_index_answers_nothing() -> None:
    distances, ids = DescriptorIndex.empty().search(random_descriptors(3), 2)
    assert ids.shape == (3, 2) and (ids == -1).all() and distances.shape == (3, 2)
    assert descriptors.factory_for(10) == "IDMap2,Flat"


def scattered(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform([0, 0], [640, 480], (count, 2)).astype(np.float32)


def test_verification_calls_a_turned_copy_contains_and_a_perspective_view_related() -> None:
    known = scattered(80)
    turn = cv2.getRotationMatrix2D((320, 240), 10, 0.6)
    copied = cv2.transform(known[None], turn)[0]
    alignment = verify(copied, known, (640, 480), (640, 480))
    assert alignment is not None and alignment.relation == CONTAINS and alignment.inliers >= 75
    assert alignment.rotation == pytest.approx(10, abs=0.5) and alignment.scale == pytest.approx(0.6, abs=0.01)
    assert "rotated 10°, 60% of the picture's width" in alignment.transform
    side = np.array([[1.0, 0.08, 10], [0.05, 1.0, 5], [0.0004, 0.0002, 1.0]])
    viewed = cv2.perspectiveTransform(known[None], side)[0]
    other = verify(viewed, known, (640, 480), (640, 480))
    assert other is not None and other.relation == RELATED


def test_verification_refuses_pairs_that_do_not_line_up() -> None:
    assert verify(scattered(200, seed=1), scattered(200, seed=2), (640, 480), (640, 480)) is None
    assert verify(scattered(5), scattered(5), (640, 480), (640, 480)) is None  # too few pairs
    clustered = np.random.default_rng(3).uniform(300, 303, (40, 2)).astype(np.float32)
    assert verify(clustered + 50, clustered, (640, 480), (640, 480)) is None  # one patch, not a picture
