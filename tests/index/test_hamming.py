"""PDQIndex radius search checked against an independent brute-force scan.

Why brute force with `np.unpackbits`: it shares no code with the index (neither its chunk
tables nor its `distances` helper), so agreement means the multi-index probing really finds
every hash within the radius, including the worst cases the pigeonhole argument allows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mediamatch.index import hamming
from mediamatch.index.hamming import HASH_BYTES, MAX_RADIUS, PDQIndex, chunk_values, hashes_from_hex

STORED = 60_000
QUERIES = 24


def brute_force(ids: np.ndarray, hashes: np.ndarray, query: np.ndarray, radius: int) -> list[tuple[int, int]]:
    """(id, distance) within `radius`, nearest first then by id, by unpacking every bit."""
    dist = np.unpackbits(np.bitwise_xor(hashes, query[None, :]), axis=1).sum(axis=1)
    hit = np.flatnonzero(dist <= radius)
    return sorted(((int(ids[i]), int(dist[i])) for i in hit), key=lambda pair: (pair[1], pair[0]))


def flip_bits(rng: np.random.Generator, base: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """A copy of `base` (32,) with the given bit positions (0..255) inverted."""
    bits = np.unpackbits(base).copy()
    bits[positions] ^= 1
    return np.packbits(bits)


def flip_random(rng: np.random.Generator, base: np.ndarray, count: int) -> np.ndarray:
    return flip_bits(rng, base, rng.choice(256, size=count, replace=False))


def spread_flip(base: np.ndarray, per_chunk: list[int]) -> np.ndarray:
    """Flip `per_chunk[c]` bits inside each 16-bit chunk c: the pigeonhole's worst cases."""
    positions = [chunk * 16 + 3 * k for chunk, n in enumerate(per_chunk) for k in range(n)]
    return flip_bits(np.random.default_rng(0), base, np.asarray(positions, dtype=np.int64))


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    """Random stored hashes plus, for each query, planted copies at distances 0..32.

    Half the planted copies spread their flipped bits over chunks as evenly as possible
    (15 chunks with 2 bits and one with 1 at distance 31), so only one chunk can find them.
    """
    rng = np.random.default_rng(20240611)
    queries = rng.integers(0, 256, size=(QUERIES, HASH_BYTES), dtype=np.uint8)
    planted, planted_dist = [], []
    for q, query in enumerate(queries):
        for distance in range(33):
            if q % 2:
                per_chunk = [distance // 16 + (1 if c < distance % 16 else 0) for c in range(16)]
                planted.append(spread_flip(query, per_chunk))
            else:
                planted.append(flip_random(rng, query, distance))
            planted_dist.append(distance)
    random_part = rng.integers(0, 256, size=(STORED, HASH_BYTES), dtype=np.uint8)
    hashes = np.concatenate([random_part, np.asarray(planted, np.uint8)])
    ids = rng.permutation(len(hashes)).astype(np.int64) * 7 + 3  # ids unrelated to row numbers
    return {"ids": ids, "hashes": hashes, "queries": queries, "planted_dist": np.asarray(planted_dist)}


@pytest.fixture(scope="module")
def built(data: dict[str, np.ndarray]) -> PDQIndex:
    return PDQIndex.from_arrays(data["ids"], data["hashes"])


def test_planted_copies_have_the_intended_distances(data: dict[str, np.ndarray]) -> None:
    planted = data["hashes"][STORED:].reshape(QUERIES, 33, HASH_BYTES)
    for query, copies in zip(data["queries"], planted):
        dist = np.unpackbits(copies ^ query[None, :], axis=1).sum(axis=1)
        assert dist.tolist() == list(range(33))


@pytest.mark.parametrize("radius", [0, 1, 2, 10, 16, 30, 31])
def test_search_equals_brute_force(data: dict[str, np.ndarray], built: PDQIndex, radius: int) -> None:
    for query in data["queries"]:
        expected = brute_force(data["ids"], data["hashes"], query, radius)
        assert built.search(query, radius) == expected
        assert len(expected) >= radius + 1  # the planted copies at 0..radius are all there


def test_distance_31_found_and_32_not(data: dict[str, np.ndarray], built: PDQIndex) -> None:
    planted_ids = data["ids"][STORED:].reshape(QUERIES, 33)
    for query, ids in zip(data["queries"], planted_ids):
        found = dict(built.search(query, 31))
        assert found[int(ids[31])] == 31
        assert int(ids[32]) not in found
        assert all(found[int(ids[d])] == d for d in range(32))


def test_random_queries_with_no_near_neighbours(data: dict[str, np.ndarray], built: PDQIndex) -> None:
    rng = np.random.default_rng(7)
    for query in rng.integers(0, 256, size=(20, HASH_BYTES), dtype=np.uint8):
        assert built.search(query) == brute_force(data["ids"], data["hashes"], query, MAX_RADIUS) == []


def test_tail_and_merge_equal_brute_force(data: dict[str, np.ndarray]) -> None:
    """Items added after the build are found while in the tail and after they are merged."""
    split = 40_000
    index = PDQIndex.from_arrays(data["ids"][:split], data["hashes"][:split])
    rest_ids, rest_hashes = data["ids"][split:], data["hashes"][split:]
    for start in range(0, len(rest_ids), 5_000):  # several small batches, each below MERGE_AT
        index.add(rest_ids[start : start + 5_000], rest_hashes[start : start + 5_000])
    assert index._tail_rows == len(rest_ids) and len(index.ids) == split
    assert len(index) == len(data["ids"])
    for query in data["queries"]:
        assert index.search(query) == brute_force(data["ids"], data["hashes"], query, MAX_RADIUS)
    index.merge()
    assert index._tail_rows == 0 and len(index.ids) == len(data["ids"])
    for query in data["queries"]:
        assert index.search(query) == brute_force(data["ids"], data["hashes"], query, MAX_RADIUS)
        assert index.search(query, 12) == brute_force(data["ids"], data["hashes"], query, 12)


def test_add_merges_automatically_past_the_threshold(data: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hamming, "MERGE_AT", 1_000)
    index = PDQIndex()
    index.add(data["ids"][:999], data["hashes"][:999])
    assert index._tail_rows == 999 and len(index.ids) == 0
    index.add(data["ids"][999:2_000], data["hashes"][999:2_000])
    assert index._tail_rows == 0 and len(index.ids) == 2_000
    tail_planted = slice(STORED, None)  # planted copies go in the new tail, merged ones stay
    index.add(data["ids"][tail_planted], data["hashes"][tail_planted])
    assert index._tail_rows == len(data["ids"][tail_planted])
    ids = np.concatenate([data["ids"][:2_000], data["ids"][tail_planted]])
    hashes = np.concatenate([data["hashes"][:2_000], data["hashes"][tail_planted]])
    for query in data["queries"]:
        assert index.search(query) == brute_force(ids, hashes, query, MAX_RADIUS)


def test_empty_index_and_tail_only_index(data: dict[str, np.ndarray]) -> None:
    query = data["queries"][0]
    assert PDQIndex().search(query) == []
    assert PDQIndex.from_arrays(np.zeros(0, np.int64), np.zeros((0, HASH_BYTES), np.uint8)).search(query) == []
    index = PDQIndex()
    index.add(np.array([5, 6]), np.stack([query, flip_random(np.random.default_rng(1), query, 31)]))
    assert index.search(query) == [(5, 0), (6, 31)]


def test_search_many_equals_search(data: dict[str, np.ndarray], built: PDQIndex) -> None:
    queries = data["queries"]
    assert built.search_many(queries, 20) == [built.search(query, 20) for query in queries]
    assert built.search_many(queries[:1]) == [built.search(queries[0])]
    assert built.search_many(np.zeros((0, HASH_BYTES), np.uint8)) == []


def test_duplicates_are_each_returned_nearest_first_then_by_id() -> None:
    base = np.arange(HASH_BYTES, dtype=np.uint8)
    near = flip_random(np.random.default_rng(3), base, 4)
    index = PDQIndex.from_arrays(np.array([30, 10, 20, 40]), np.stack([near, base, near, base]))
    assert index.search(base) == [(10, 0), (40, 0), (20, 4), (30, 4)]
    assert index.search(base, 3) == [(10, 0), (40, 0)]


def test_radius_outside_the_guarantee_is_refused(built: PDQIndex) -> None:
    query = np.zeros(HASH_BYTES, np.uint8)
    for bad in (-1, 32, 64):
        with pytest.raises(ValueError, match="radius must be between 0 and 31"):
            built.search(query, bad)


def test_mismatched_ids_and_hashes_are_refused() -> None:
    hashes = np.zeros((3, HASH_BYTES), np.uint8)
    with pytest.raises(ValueError, match="2 ids for 3 hashes"):
        PDQIndex().add(np.array([1, 2]), hashes)
    with pytest.raises(ValueError, match="2 ids for 3 hashes"):
        PDQIndex.from_arrays(np.array([1, 2]), hashes)


def test_hashes_from_hex_uses_canonical_byte_order() -> None:
    values = ["f" * 64, "0123456789abcdef" * 4, "8" + "0" * 63]
    hashes = hashes_from_hex(values)
    assert hashes.shape == (3, HASH_BYTES) and hashes.dtype == np.uint8
    assert [bytes(row).hex() for row in hashes] == values
    assert hashes[2, 0] == 0x80  # the first hex digit is the high nibble of byte 0
    assert hashes_from_hex([]).shape == (0, HASH_BYTES)


def test_hashes_from_hex_refuses_wrong_lengths() -> None:
    """A 62- and a 66-digit value together are 64 bytes: they must not become two hashes."""
    with pytest.raises(ValueError, match="64 hex digits"):
        hashes_from_hex(["ab" * 31, "ab" * 33])
    with pytest.raises(ValueError):
        hashes_from_hex(["zz" * 32])


def test_real_pdq_hashes_find_their_edited_copies(testdata: Path) -> None:
    """The reference PDQ hashes of edited bridge photos sit within 31 of the original."""
    from mediamatch.media.hashing import hash_source

    folder = testdata / "threatexchange" / "pdq" / "data" / "bridge-mods"
    records = [hash_source(path) for path in sorted(folder.glob("*.jpg"))]
    hexes = [r.value("pdq") for r in records if r.value("pdq")]
    if len(hexes) < 4:
        pytest.skip("bridge-mods images not found in the test data")
    stored = hashes_from_hex(hexes)
    noise = np.random.default_rng(5).integers(0, 256, size=(20_000, HASH_BYTES), dtype=np.uint8)
    ids = np.arange(len(stored) + len(noise))
    all_hashes = np.concatenate([stored, noise])
    index = PDQIndex.from_arrays(ids, all_hashes)
    for row in range(len(stored)):
        expected = brute_force(ids, all_hashes, stored[row], MAX_RADIUS)
        assert index.search(stored[row]) == expected
        assert (row, 0) in expected


def test_the_tables_are_each_chunk_stably_sorted_with_its_value_offsets() -> None:
    """The counting sort that builds the tables equals numpy's stable argsort and bincount,
    on random hashes and on crowded ones (many equal chunk values)."""
    rng = np.random.default_rng(11)
    random = rng.integers(0, 256, (5000, 32), dtype=np.uint8)
    crowded = np.repeat(rng.integers(0, 256, (50, 32), dtype=np.uint8), 100, axis=0)
    for hashes in (random, crowded):
        index = PDQIndex.from_arrays(np.arange(len(hashes)), hashes)
        chunks = chunk_values(hashes)
        for chunk in range(16):
            assert np.array_equal(index.order[chunk], np.argsort(chunks[:, chunk], kind="stable"))
            assert index.offsets[chunk, 0] == 0
            assert np.array_equal(index.offsets[chunk, 1:], np.cumsum(np.bincount(chunks[:, chunk], minlength=65536)))
