"""ExactIndex: every id stored under a digest is found, and nothing else is.

Why the shared-prefix case: digests that agree on most of their bytes must still be told
apart (the keys are compared as whole byte strings).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from mediamatch.index.exact import ExactIndex


def sha256(n: int) -> bytes:
    return hashlib.sha256(str(n).encode()).digest()


def as_array(digests: list[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(digests), np.uint8).reshape(len(digests), -1)


@pytest.fixture(scope="module")
def digests() -> list[bytes]:
    return [sha256(n) for n in range(30_000)]


def test_every_stored_digest_is_found_with_its_id(digests: list[bytes]) -> None:
    ids = np.arange(len(digests), dtype=np.uint64) * 3 + 1
    index = ExactIndex(ids, as_array(digests))
    assert len(index) == len(digests)
    wanted = [0, 1, 123, 29_999, *range(0, 30_000, 97)]
    assert index.search_many(as_array([digests[n] for n in wanted])) == [[(3 * n + 1, 0)] for n in wanted]


def test_missing_digests_give_empty_lists(digests: list[bytes]) -> None:
    index = ExactIndex(np.arange(100), as_array(digests[:100]))
    assert index.search_many(as_array([digests[100], digests[5], sha256(-1)])) == [[], [(5, 0)], []]
    assert ExactIndex(np.zeros(0, np.int64), np.zeros((0, 32), np.uint8)).search_many(as_array([digests[0]])) == [[]]


def test_one_digest_with_several_ids_keeps_them_all(digests: list[bytes]) -> None:
    index = ExactIndex(np.array([7, 3, 5, 9]), as_array([digests[0], digests[0], digests[1], digests[0]]))
    assert index.search_many(as_array([digests[0], digests[1]])) == [[(7, 0), (3, 0), (9, 0)], [(5, 0)]]


def test_digests_sharing_all_but_their_last_byte_are_told_apart() -> None:
    prefix = bytes(range(15))
    keys = [prefix + bytes([n]) for n in range(5)]  # width 16, like MD5
    index = ExactIndex(np.arange(10, 15), as_array(keys))
    assert index.search_many(as_array(keys)) == [[(10 + n, 0)] for n in range(5)]
    assert index.search_many(as_array([prefix + bytes([9])])) == [[]]


def test_mismatched_shapes_are_refused(digests: list[bytes]) -> None:
    with pytest.raises(ValueError, match="2 ids"):
        ExactIndex(np.arange(2), as_array(digests[:3]))
    index = ExactIndex(np.arange(3), as_array(digests[:3]))
    with pytest.raises(ValueError, match=r"shape \(n, 32\)"):
        index.search_many(as_array([hashlib.sha1(b"a").digest()]))
