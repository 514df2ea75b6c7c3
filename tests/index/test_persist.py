"""Saving and loading a PDQIndex: identical search results, and damaged files refused clearly.

Why byte-level damage tests: the file is memory-mapped and trusted by the search code, so a
file cut short, from another program, or with a header that disagrees with its arrays must be
stopped at load with an IndexFileError that names the file and the reason, not crash later.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from mediamatch.index.hamming import HASH_BYTES, PDQIndex
from mediamatch.index.persist import MAGIC, IndexFileError, load_index, save_index

HEADER = struct.Struct("<8sIIQ")


def flip_random(rng: np.random.Generator, base: np.ndarray, count: int) -> np.ndarray:
    bits = np.unpackbits(base).copy()
    bits[rng.choice(256, size=count, replace=False)] ^= 1
    return np.packbits(bits)


@pytest.fixture(scope="module")
def sample() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(99)
    queries = rng.integers(0, 256, size=(16, HASH_BYTES), dtype=np.uint8)
    planted = [flip_random(rng, q, d) for q in queries for d in range(0, 33, 2)]
    hashes = np.concatenate([rng.integers(0, 256, size=(30_000, HASH_BYTES), dtype=np.uint8), np.asarray(planted)])
    ids = rng.permutation(len(hashes)).astype(np.int64) + 1_000_000
    return {"ids": ids, "hashes": hashes, "queries": queries}


@pytest.fixture
def saved(tmp_path: Path, sample: dict[str, np.ndarray]) -> Path:
    path = tmp_path / "pdq.idx"
    save_index(PDQIndex.from_arrays(sample["ids"], sample["hashes"]), path)
    return path


def test_round_trip_gives_identical_results(saved: Path, sample: dict[str, np.ndarray]) -> None:
    original = PDQIndex.from_arrays(sample["ids"], sample["hashes"])
    loaded = load_index(saved)
    assert len(loaded) == len(original)
    for name in ("ids", "hashes", "order", "offsets"):
        assert np.array_equal(np.asarray(getattr(loaded, name)), getattr(original, name)), name
    hits = 0
    for radius in (0, 8, 31):
        expected = original.search_many(sample["queries"], radius)
        assert loaded.search_many(sample["queries"], radius) == expected
        hits += sum(len(found) for found in expected)
    assert hits > 16 * 3  # the planted copies were really found, not two empty lists compared


def test_file_matches_the_documented_layout(saved: Path, sample: dict[str, np.ndarray]) -> None:
    raw = saved.read_bytes()
    magic, version, chunks, count = HEADER.unpack_from(raw)
    assert (magic, version, chunks, count) == (MAGIC, 1, 16, len(sample["ids"]))
    assert raw[HEADER.size : 64] == bytes(64 - HEADER.size)
    assert np.array_equal(np.frombuffer(raw, "<i8", count, offset=64), sample["ids"])
    assert len(raw) % 64 == 0


def test_save_merges_the_tail_and_loaded_index_accepts_additions(tmp_path: Path, sample: dict[str, np.ndarray]) -> None:
    index = PDQIndex.from_arrays(sample["ids"][:20_000], sample["hashes"][:20_000])
    index.add(sample["ids"][20_000:], sample["hashes"][20_000:])  # stays in the tail
    assert index._tail_rows > 0
    first = tmp_path / "first.idx"
    save_index(index, first)
    loaded = load_index(first)
    assert len(loaded) == len(sample["ids"]) and loaded._tail_rows == 0
    full = PDQIndex.from_arrays(sample["ids"], sample["hashes"])
    assert loaded.search_many(sample["queries"]) == full.search_many(sample["queries"])

    extra_ids = np.array([1, 2])
    extra = np.stack([sample["queries"][0], flip_random(np.random.default_rng(2), sample["queries"][1], 31)])
    loaded.add(extra_ids, extra)  # a tail over a memory-mapped index
    assert loaded.search(sample["queries"][0])[0] == (1, 0)
    assert (2, 31) in loaded.search(sample["queries"][1])
    save_index(loaded, first)  # overwrite the file the index is mapped from
    again = load_index(first)
    assert again.search_many(sample["queries"]) == loaded.search_many(sample["queries"])
    assert not list(tmp_path.glob("*.tmp"))


def test_empty_index_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "empty.idx"
    save_index(PDQIndex(), path)
    loaded = load_index(path)
    assert len(loaded) == 0
    assert loaded.search(np.zeros(HASH_BYTES, np.uint8)) == []


def rewrite(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_wrong_magic_is_refused(saved: Path) -> None:
    raw = bytearray(saved.read_bytes())
    raw[:8] = b"NOTANIDX"
    with pytest.raises(IndexFileError, match="not a mediamatch PDQ index") as caught:
        load_index(rewrite(saved, bytes(raw)))
    assert str(saved) in str(caught.value)


def test_other_file_types_are_refused(tmp_path: Path) -> None:
    with pytest.raises(IndexFileError, match="not a mediamatch PDQ index"):
        load_index(rewrite(tmp_path / "photo.idx", b"\xff\xd8\xff\xe0" + bytes(200)))
    with pytest.raises(IndexFileError, match="too short"):
        load_index(rewrite(tmp_path / "tiny.idx", b"MMPDQIX"))
    with pytest.raises(IndexFileError, match="too short"):
        load_index(rewrite(tmp_path / "zero.idx", b""))


def test_unknown_version_or_chunks_are_refused(saved: Path) -> None:
    raw = saved.read_bytes()
    magic, _version, chunks, count = HEADER.unpack_from(raw)
    with pytest.raises(IndexFileError, match="unsupported index format version 2"):
        load_index(rewrite(saved, HEADER.pack(magic, 2, chunks, count) + raw[HEADER.size :]))
    with pytest.raises(IndexFileError, match="with 8 chunks"):
        load_index(rewrite(saved, HEADER.pack(magic, 1, 8, count) + raw[HEADER.size :]))


def test_truncated_file_is_refused(saved: Path) -> None:
    raw = saved.read_bytes()
    for keep in (HEADER.size, 64, len(raw) // 2, len(raw) - 64):
        with pytest.raises(IndexFileError, match="truncated or damaged"):
            load_index(rewrite(saved, raw[:keep]))


def test_header_count_disagreeing_with_size_is_refused(saved: Path) -> None:
    raw = saved.read_bytes()
    magic, version, chunks, count = HEADER.unpack_from(raw)
    for wrong in (count + 1, count - 100, 2**40):
        with pytest.raises(IndexFileError, match="truncated or damaged"):
            load_index(rewrite(saved, HEADER.pack(magic, version, chunks, wrong) + raw[HEADER.size :]))
    with pytest.raises(IndexFileError, match="truncated or damaged"):
        load_index(rewrite(saved, raw + bytes(64)))  # trailing junk


def offsets_position(count: int) -> int:
    ids_end = 64 + 8 * count
    hashes_start = (ids_end + 63) // 64 * 64
    return (hashes_start + 32 * count + 63) // 64 * 64


def test_damaged_bucket_table_is_refused(saved: Path, sample: dict[str, np.ndarray]) -> None:
    raw = bytearray(saved.read_bytes())
    count = len(sample["ids"])
    start = offsets_position(count)
    offsets = np.frombuffer(bytes(raw[start : start + 4 * 16 * 65537]), "<u4").reshape(16, 65537)
    assert offsets[0, -1] == count  # the layout arithmetic above is right

    last = start + 4 * 65536  # chunk 0's final bound
    damaged = bytearray(raw)
    damaged[last : last + 4] = struct.pack("<I", count + 5)
    with pytest.raises(IndexFileError, match="bucket table does not add up"):
        load_index(rewrite(saved, bytes(damaged)))

    damaged = bytearray(raw)
    middle = start + 4 * 30_000  # a bound in the middle, made larger than the next ones
    damaged[middle : middle + 4] = struct.pack("<I", count)
    with pytest.raises(IndexFileError, match="bucket table"):
        load_index(rewrite(saved, bytes(damaged)))
