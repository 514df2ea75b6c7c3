"""Exact radius search over 256-bit PDQ hashes by multi-index hashing.

Why this structure: a brute-force scan reads every stored hash for every query (320 MB per
query at 10M hashes). Multi-index hashing splits each hash into 16 chunks of 16 bits. If two
hashes differ in at most 31 bits, the pigeonhole principle says at least one chunk differs in
at most one bit (16 chunks x 2 bits = 32 > 31). So probing, in each chunk's table, the query's
own chunk value and its 16 one-bit neighbours finds EVERY hash within distance 31; each
candidate is then verified with an exact popcount. Nothing within the radius can be missed,
and for radii below 31 the same probe set is a superset of what is needed.

Layout (per chunk, CSR style): `order[c]` lists row numbers sorted by chunk value and
`offsets[c][v] : offsets[c][v+1]` is the slice of rows whose chunk c equals v. Memory is
32 bytes (hash) + 64 bytes (16 uint32 row numbers) + the id per stored hash.

New hashes go to a small unsorted tail that is scanned by brute force and merged into the
tables once it grows past MERGE_AT, so adding a few items never rebuilds the index (Meta's HMA
rebuilds its whole index every minute).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

HASH_BYTES = 32
CHUNKS = 16
CHUNK_VALUES = 1 << 16
MAX_RADIUS = 31  # the largest radius the 16 x 16-bit pigeonhole guarantees
MERGE_AT = 65_536

_ONE_BIT_FLIPS = np.concatenate([[0], 1 << np.arange(16)]).astype(np.uint16)


def hashes_from_hex(values: Sequence[str]) -> np.ndarray:
    """(n, 32) uint8 array from PDQ hex strings (canonical byte order: `bytes.fromhex`)."""
    if not values:
        return np.zeros((0, HASH_BYTES), np.uint8)
    return np.frombuffer(bytes.fromhex("".join(values)), np.uint8).reshape(-1, HASH_BYTES).copy()


def chunk_values(hashes: np.ndarray) -> np.ndarray:
    """(n, 16) uint16 chunk values of (n, 32) uint8 hashes."""
    return np.ascontiguousarray(hashes).view(">u2").reshape(-1, CHUNKS).astype(np.uint16)


def distances(stored: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Hamming distance from `query` (32,) to each row of `stored` (n, 32)."""
    xor = np.bitwise_xor(stored.view(np.uint64), np.ascontiguousarray(query).view(np.uint64))
    return np.bitwise_count(xor).sum(axis=1, dtype=np.int32)


class PDQIndex:
    """All stored PDQ hashes within a Hamming radius (<= 31) of a query, never missing one."""

    def __init__(self) -> None:
        self.ids = np.zeros(0, np.int64)
        self.hashes = np.zeros((0, HASH_BYTES), np.uint8)
        self.order = np.zeros((CHUNKS, 0), np.uint32)
        self.offsets = np.zeros((CHUNKS, CHUNK_VALUES + 1), np.uint32)
        self.tail_ids: list[np.ndarray] = []
        self.tail_hashes: list[np.ndarray] = []
        self._tail_rows = 0

    def __len__(self) -> int:
        return len(self.ids) + self._tail_rows

    @classmethod
    def from_arrays(cls, ids: np.ndarray, hashes: np.ndarray) -> PDQIndex:
        index = cls()
        index.ids = np.ascontiguousarray(ids, np.int64)
        index.hashes = np.ascontiguousarray(hashes, np.uint8).reshape(-1, HASH_BYTES)
        index._build_tables()
        return index

    def add(self, ids: np.ndarray, hashes: np.ndarray) -> None:
        """Add hashes with their ids; cheap for small batches, merged into the tables in bulk."""
        ids = np.ascontiguousarray(ids, np.int64).ravel()
        hashes = np.ascontiguousarray(hashes, np.uint8).reshape(-1, HASH_BYTES)
        if len(ids) != len(hashes):
            raise ValueError(f"{len(ids)} ids for {len(hashes)} hashes")
        self.tail_ids.append(ids)
        self.tail_hashes.append(hashes)
        self._tail_rows += len(ids)
        if self._tail_rows >= max(MERGE_AT, len(self.ids) // 8):
            self.merge()

    def merge(self) -> None:
        """Fold the tail into the sorted tables."""
        if not self._tail_rows:
            return
        self.ids = np.concatenate([self.ids, *self.tail_ids])
        self.hashes = np.concatenate([self.hashes, *self.tail_hashes])
        self.tail_ids, self.tail_hashes, self._tail_rows = [], [], 0
        self._build_tables()

    def _build_tables(self) -> None:
        chunks = chunk_values(self.hashes)
        count = len(self.hashes)
        if count >= 2**32:
            raise ValueError("more than 2^32 hashes in one index; shard it")
        self.order = np.empty((CHUNKS, count), np.uint32)
        self.offsets = np.empty((CHUNKS, CHUNK_VALUES + 1), np.uint32)
        for chunk in range(CHUNKS):
            column = chunks[:, chunk]
            self.order[chunk] = np.argsort(column, kind="stable")
            self.offsets[chunk, 0] = 0
            np.cumsum(np.bincount(column, minlength=CHUNK_VALUES), out=self.offsets[chunk, 1:])

    def _candidates(self, query: np.ndarray) -> np.ndarray:
        probes = chunk_values(query.reshape(1, HASH_BYTES))[0][:, None] ^ _ONE_BIT_FLIPS[None, :]  # (16, 17)
        chunk_rows = np.arange(CHUNKS)[:, None]
        starts = self.offsets[chunk_rows, probes].ravel().astype(np.int64)
        ends = self.offsets[chunk_rows, probes.astype(np.int64) + 1].ravel().astype(np.int64)
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(0, np.int64)
        # Concatenate the 272 slices of the flattened order array without a Python loop.
        flat_starts = starts + np.repeat(np.arange(CHUNKS), 17) * len(self.ids)
        keep = lengths > 0
        flat_starts, lengths = flat_starts[keep], lengths[keep]
        steps = np.ones(total, np.int64)
        boundaries = np.cumsum(lengths)[:-1]
        steps[0] = flat_starts[0]
        steps[boundaries] = flat_starts[1:] - (flat_starts[:-1] + lengths[:-1] - 1)
        return self.order.reshape(-1)[np.cumsum(steps)]

    def search(self, query: np.ndarray, radius: int = MAX_RADIUS) -> list[tuple[int, int]]:
        """(id, distance) of every stored hash within `radius` of `query`, nearest first."""
        if not 0 <= radius <= MAX_RADIUS:
            raise ValueError(f"radius must be between 0 and {MAX_RADIUS}, got {radius}")
        query = np.ascontiguousarray(query, np.uint8).reshape(HASH_BYTES)
        found_ids: list[np.ndarray] = []
        found_dist: list[np.ndarray] = []
        if len(self.ids):
            rows = self._candidates(query)
            dist = distances(self.hashes[rows], query)
            hit = dist <= radius
            rows, dist = rows[hit], dist[hit]
            rows, first = np.unique(rows, return_index=True)
            found_ids.append(self.ids[rows])
            found_dist.append(dist[first])
        for ids, hashes in zip(self.tail_ids, self.tail_hashes):
            dist = distances(hashes, query)
            hit = dist <= radius
            found_ids.append(ids[hit])
            found_dist.append(dist[hit])
        if not found_ids:
            return []
        all_ids, all_dist = np.concatenate(found_ids), np.concatenate(found_dist)
        ranked = np.lexsort((all_ids, all_dist))
        return [(int(all_ids[i]), int(all_dist[i])) for i in ranked]

    def search_many(self, queries: np.ndarray, radius: int = MAX_RADIUS) -> list[list[tuple[int, int]]]:
        """`search` for each row of an (m, 32) array of queries."""
        queries = np.ascontiguousarray(queries, np.uint8).reshape(-1, HASH_BYTES)
        return [self.search(query, radius) for query in queries]
