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

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numba
import numpy as np

HASH_BYTES = 32
CHUNKS = 16
CHUNK_VALUES = 1 << 16
MAX_RADIUS = 31  # the largest radius the 16 x 16-bit pigeonhole guarantees
MERGE_AT = 65_536
SEARCH_THREADS = os.cpu_count() or 1
QUERIES_PER_THREAD = 32  # below this a batch is searched on the calling thread

_ONE_BIT_FLIPS = np.concatenate([[0], 1 << np.arange(16)]).astype(np.uint16)


def hashes_from_hex(values: Sequence[str]) -> np.ndarray:
    """(n, 32) uint8 array from PDQ hex strings (canonical byte order: `bytes.fromhex`)."""
    if not values:
        return np.zeros((0, HASH_BYTES), np.uint8)
    # Check each value: joined, a 62- and a 66-digit value would silently make two wrong hashes.
    for value in values:
        if len(value) != 2 * HASH_BYTES:
            raise ValueError(f"a PDQ hash is 64 hex digits, got {len(value)}: {value[:80]!r}")
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
        index.ids = np.ascontiguousarray(ids, np.int64).ravel()
        index.hashes = np.ascontiguousarray(hashes, np.uint8).reshape(-1, HASH_BYTES)
        if len(index.ids) != len(index.hashes):
            raise ValueError(f"{len(index.ids)} ids for {len(index.hashes)} hashes")
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
        """One counting sort per chunk (the chunk value is the bucket), on every core: 10M
        hashes index in under a second, where 16 numpy argsorts took 4.5 s (a platform's
        matcher builds these tables on its first start)."""
        count = len(self.hashes)
        if count >= 2**32:
            raise ValueError("more than 2^32 hashes in one index; shard it")
        self.order = np.empty((CHUNKS, count), np.uint32)
        self.offsets = np.empty((CHUNKS, CHUNK_VALUES + 1), np.uint32)
        hashes = np.ascontiguousarray(self.hashes)
        list(_pool().map(lambda chunk: _sort_chunk(hashes, chunk, self.order[chunk], self.offsets[chunk]), range(CHUNKS)))

    def search(self, query: np.ndarray, radius: int = MAX_RADIUS) -> list[tuple[int, int]]:
        """(id, distance) of every stored hash within `radius` of `query`, nearest first."""
        return self.search_many(np.asarray(query, np.uint8).reshape(1, HASH_BYTES), radius)[0]

    def search_many(self, queries: np.ndarray, radius: int = MAX_RADIUS) -> list[list[tuple[int, int]]]:
        """`search` for each row of an (m, 32) array of queries, in one compiled pass."""
        if not 0 <= radius <= MAX_RADIUS:
            raise ValueError(f"radius must be between 0 and {MAX_RADIUS}, got {radius}")
        queries = np.ascontiguousarray(queries, np.uint8).reshape(-1, HASH_BYTES)
        found_ids: list[list[np.ndarray]] = [[] for _ in queries]
        found_dist: list[list[np.ndarray]] = [[] for _ in queries]
        if len(self.ids):
            stored = np.ascontiguousarray(self.hashes).view(np.uint64)
            words, chunks = queries.view(np.uint64), chunk_values(queries)
            parts = min(SEARCH_THREADS, len(queries) // QUERIES_PER_THREAD) or 1
            bounds = np.linspace(0, len(queries), parts + 1).astype(int)

            def search_part(part: int) -> tuple[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
                low, high = bounds[part], bounds[part + 1]
                return low, _search_tables(words[low:high], chunks[low:high], self.order, self.offsets, stored, radius)

            # The kernel releases the GIL, so a large batch is searched on every core.
            results = [search_part(0)] if parts == 1 else list(_pool().map(search_part, range(parts)))
            for low, (starts, rows, dist) in results:
                for offset in range(len(starts) - 1):
                    part_slice = slice(starts[offset], starts[offset + 1])
                    found_ids[low + offset].append(self.ids[rows[part_slice]])
                    found_dist[low + offset].append(dist[part_slice])
        for ids, hashes in zip(self.tail_ids, self.tail_hashes):
            for number, query in enumerate(queries):
                tail_dist = distances(hashes, query)
                hit = tail_dist <= radius
                found_ids[number].append(ids[hit])
                found_dist[number].append(tail_dist[hit])
        return [_ranked(ids, dist) for ids, dist in zip(found_ids, found_dist)]


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(SEARCH_THREADS, thread_name_prefix="pdq-search")


def _ranked(ids: list[np.ndarray], dist: list[np.ndarray]) -> list[tuple[int, int]]:
    if not ids:
        return []
    all_ids, all_dist = np.concatenate(ids), np.concatenate(dist)
    order = np.lexsort((all_ids, all_dist))
    return [(int(all_ids[i]), int(all_dist[i])) for i in order]


@numba.njit(cache=True, nogil=True)
def _sort_chunk(hashes, chunk, order_row, offsets_row):  # type: ignore[no-untyped-def]
    """Rows sorted by the value of `chunk` (stable), and where each value's rows start."""
    high, low = 2 * chunk, 2 * chunk + 1  # chunks are big-endian 16-bit words
    starts = np.zeros(CHUNK_VALUES + 1, np.int64)
    for row in range(hashes.shape[0]):
        starts[(np.int64(hashes[row, high]) << 8 | hashes[row, low]) + 1] += 1
    for value in range(CHUNK_VALUES):
        starts[value + 1] += starts[value]
    offsets_row[:] = starts
    for row in range(hashes.shape[0]):
        value = np.int64(hashes[row, high]) << 8 | hashes[row, low]
        order_row[starts[value]] = row
        starts[value] += 1


@numba.njit(cache=True, nogil=True)
def _popcount(word: np.uint64) -> int:
    word = word - ((word >> np.uint64(1)) & np.uint64(0x5555555555555555))
    word = (word & np.uint64(0x3333333333333333)) + ((word >> np.uint64(2)) & np.uint64(0x3333333333333333))
    word = (word + (word >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return int((word * np.uint64(0x0101010101010101)) >> np.uint64(56))


@numba.njit(cache=True, nogil=True)
def _bucket_hits(query, order_row, low, high, stored, radius):  # type: ignore[no-untyped-def]
    """How many rows of one bucket lie within `radius`. Kept free of side effects so the
    compiler vectorises it (gathered loads, several rows at once): most buckets hold no hit,
    and this scan is where a search spends its time (measured 1.7x faster than one loop that
    also records hits)."""
    q0, q1, q2, q3 = query[0], query[1], query[2], query[3]
    hits = 0
    for j in range(low, high):
        row = order_row[j]
        distance = _popcount(stored[row, 0] ^ q0) + _popcount(stored[row, 1] ^ q1) + _popcount(stored[row, 2] ^ q2) + _popcount(stored[row, 3] ^ q3)
        if distance <= radius:
            hits += 1
    return hits


@numba.njit(cache=True, nogil=True)
def _found_in_earlier_chunk(x0, x1, x2, x3, chunk):  # type: ignore[no-untyped-def]
    """Whether a hit of `chunk` differs from the query in <= 1 bit in an earlier chunk, i.e.
    was already reported from that chunk's table (chunk c is bits 16*(c%4).. of word c//4)."""
    for earlier in range(chunk):
        word = x0 if earlier < 4 else x1 if earlier < 8 else x2 if earlier < 12 else x3
        if _popcount((word >> np.uint64(16 * (earlier % 4))) & np.uint64(0xFFFF)) <= 1:
            return True
    return False


@numba.njit(cache=True, nogil=True)
def _search_tables(queries, query_chunks, order, offsets, stored, radius):  # type: ignore[no-untyped-def]
    """Rows within `radius` of each query: scan the 17 probed buckets of each chunk table,
    verifying each candidate with a popcount in place (no candidate array is built).

    A hash close enough is found once per chunk where it differs from the query in <= 1 bit;
    it is reported only from the first such chunk, so results need no de-duplication.
    Returns (starts, rows, distances): query q's hits are rows[starts[q]:starts[q+1]]."""
    count = queries.shape[0]
    starts = np.zeros(count + 1, np.int64)
    rows_out = []
    dist_out = []
    for q in range(count):
        query = queries[q]
        for chunk in range(16):
            value = int(query_chunks[q, chunk])
            for flip in range(17):
                probe = value if flip == 0 else value ^ (1 << (flip - 1))
                low, high = offsets[chunk, probe], offsets[chunk, probe + 1]
                if _bucket_hits(query, order[chunk], low, high, stored, radius) == 0:
                    continue
                for j in range(low, high):  # rare: a bucket holding a hit is scanned again
                    row = order[chunk, j]
                    x0, x1 = stored[row, 0] ^ query[0], stored[row, 1] ^ query[1]
                    x2, x3 = stored[row, 2] ^ query[2], stored[row, 3] ^ query[3]
                    distance = _popcount(x0) + _popcount(x1) + _popcount(x2) + _popcount(x3)
                    if distance <= radius and not _found_in_earlier_chunk(x0, x1, x2, x3, chunk):
                        rows_out.append(row)
                        dist_out.append(distance)
        starts[q + 1] = len(rows_out)
    rows = np.empty(len(rows_out), np.int64)
    dist = np.empty(len(dist_out), np.int32)
    for i in range(len(rows_out)):
        rows[i] = rows_out[i]
        dist[i] = dist_out[i]
    return starts, rows, dist
