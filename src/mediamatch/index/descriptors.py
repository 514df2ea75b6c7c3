"""The descriptor index: nearest catalogued keypoints of each keypoint of a searched picture.

FAISS holds the descriptors of every catalogued picture and video frame. Each entry's id packs
which feature row of the catalogue it belongs to and which of that row's keypoints it is
(`row << POINT_BITS | point`), so a neighbour says at once which picture it votes for and
where in it the keypoint lies (services/similar.py verifies the geometry).

Size: a catalogue of more than EXACT_UP_TO descriptors is an inverted file with 4-bit product
quantisation searched with SIMD lookup tables (`IVF<n>,PQ32x4fs`, FAISS "fast scan", codes not
relative to their list's centroid so one distance table per query serves every list), whose
coarse quantiser is a graph (HNSW) over the list centroids (`IVF<n>_HNSW32,PQ32x4fs`): an exact
scan of a million-picture index's 16,384 centroids costs each of a picture's 1,500 keypoints
about as much as searching its lists, the graph a few hundred distances. 16 bytes
of code and an 8-byte id per descriptor, so the CATALOGUE_POINTS = 256 keypoints of a picture
take 6 KiB, under the 8 KiB budget. Measured against 8-bit PQ16 on residuals (the textbook
IVFADC): nearest-neighbour recall 0.69 against 0.78, but 30x faster to search, and geometric
verification needs only a dozen true pairs (benchmarks/bench_similar.py). A small catalogue, whose codebooks could not be
trained on enough descriptors, is searched exactly (`IDMap2,Flat`, 520 bytes per descriptor).
An index trained on fewer than half the descriptors it now holds (up to TRAINED_ENOUGH) is
rebuilt by its owner (`needs_training`), so codebooks follow the catalogue as it grows and the
cost of retraining is paid a bounded number of times.

On disk it is FAISS's own index format (written with `faiss.serialize_index`, read memory-mapped
read-only), never pickle; `load` refuses a file FAISS cannot read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mediamatch.index.faiss_files import FaissFile, IndexFileError, faiss, read_index

POINT_BITS = 11  # up to 2048 keypoints per feature row
PQ_BYTES = 16
# Descriptors: below this, codebooks would be trained on too little (4-bit PQ needs 16 centroids
# per sub-vector, the coarse quantiser 16-64 lists: a few thousand descriptors train both). Kept
# low because an exact scan costs each searched keypoint every catalogued descriptor: at 20,000 it
# was half the time of triage's second pass against a catalogue of 60 photos.
EXACT_UP_TO = 5_000
TRAINED_ENOUGH = 1_000_000  # descriptors: codebooks trained on this many are not retrained
TRAIN_SAMPLE = 200_000  # descriptors a training run samples (k-means cost grows with it)
MAX_LISTS = 16_384
NPROBE = 8  # inverted lists searched per query descriptor: 16 gave the same recall at twice the cost (BENCHMARKS.md)
QUANTISER_EF = 64  # HNSW candidates kept while finding a descriptor's NPROBE nearest lists (at least NPROBE)
DIMENSIONS = 128


def point_ids(rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The ids of every keypoint of feature rows `rows` holding `counts` keypoints each."""
    return np.concatenate([(np.int64(row) << POINT_BITS) + np.arange(count, dtype=np.int64) for row, count in zip(rows, counts)] or [np.zeros(0, np.int64)])


def split_ids(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(feature rows, keypoint numbers) of index ids."""
    return ids >> POINT_BITS, ids & ((1 << POINT_BITS) - 1)


def factory_for(count: int) -> str:
    """The FAISS index for a catalogue of `count` descriptors (see the module docstring)."""
    if count < EXACT_UP_TO:
        return "IDMap2,Flat"
    lists = int(min(MAX_LISTS, max(16, 2 ** round(np.log2(np.sqrt(count))))))
    return f"IVF{lists}_HNSW32,PQ{PQ_BYTES * 2}x4fs"


class DescriptorIndex(FaissFile):
    """Descriptors by id, searched for nearest neighbours (squared L2 on SIFT's 0-255 values)."""

    def __init__(self, index: Any, trained_on: int, *, mapped: bool = False) -> None:
        super().__init__(index)
        self.trained_on = trained_on  # descriptors the codebooks were trained on (0: exact index)
        self.mapped = mapped  # memory-mapped read-only: `load` it again writable before adding

    @classmethod
    def build(cls, descriptors: np.ndarray, ids: np.ndarray, seed: int = 0) -> DescriptorIndex:
        """An index of `descriptors` (uint8 (n, 128)) with their `ids`, trained on a sample of them."""
        vectors = np.ascontiguousarray(descriptors, np.float32)
        index = faiss().index_factory(DIMENSIONS, factory_for(len(vectors)))
        trained_on = 0
        if not index.is_trained:
            index.by_residual = False
            sample = vectors
            if len(vectors) > TRAIN_SAMPLE:
                sample = vectors[np.random.default_rng(seed).choice(len(vectors), TRAIN_SAMPLE, replace=False)]
            index.train(sample)
            trained_on = len(vectors)
        built = cls(index, trained_on)
        built.add(descriptors, ids)
        return built

    @classmethod
    def empty(cls) -> DescriptorIndex:
        return cls(faiss().index_factory(DIMENSIONS, "IDMap2,Flat"), 0)

    @property
    def bytes_per_descriptor(self) -> int:
        """Code plus id, as the index stores them."""
        return (PQ_BYTES if self.trained_on else DIMENSIONS * 4) + 8

    def needs_training(self, total: int) -> bool:
        """Whether an index that would hold `total` descriptors should be built anew: it is exact
        but has outgrown it, or its codebooks saw under half of what it holds (up to TRAINED_ENOUGH)."""
        if not self.trained_on:
            return total >= EXACT_UP_TO
        return self.trained_on < TRAINED_ENOUGH and total > 2 * self.trained_on

    def add(self, descriptors: np.ndarray, ids: np.ndarray) -> None:
        if self.mapped:
            raise IndexFileError("a memory-mapped index is read-only: load it writable to add to it")
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(descriptors, np.float32), np.ascontiguousarray(ids, np.int64))

    def search(self, descriptors: np.ndarray, neighbours: int) -> tuple[np.ndarray, np.ndarray]:
        """(squared distances, ids), each (n, neighbours); id -1 where fewer were found."""
        if not len(descriptors) or not len(self):
            return np.zeros((len(descriptors), neighbours), np.float32), np.full((len(descriptors), neighbours), -1, np.int64)
        if hasattr(self.index, "nprobe"):
            self.index.nprobe = NPROBE
            quantiser = faiss().downcast_index(self.index.quantizer)
            if hasattr(quantiser, "hnsw"):
                quantiser.hnsw.efSearch = QUANTISER_EF
        distances, ids = self.index.search(np.ascontiguousarray(descriptors, np.float32), neighbours)
        return distances, ids

    @classmethod
    def load(cls, path: Path, trained_on: int, *, writable: bool = False) -> DescriptorIndex:
        """The index saved at `path`: memory-mapped read-only, or read into memory when it is to
        be added to (FAISS aborts the process on an addition to a read-only mapping)."""
        return cls(read_index(path, "descriptor index", DIMENSIONS, mapped=not writable), trained_on, mapped=not writable)
