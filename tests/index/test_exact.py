"""ExactIndex: digests found while pending and after compaction, and never confused.

Why the shared-prefix case: lookup narrows by the first 8 bytes and then compares the full
digest, so two digests that agree on their first 8 bytes must still be told apart.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from mediamatch.index import exact
from mediamatch.index.exact import ExactIndex


def sha256(n: int) -> bytes:
    return hashlib.sha256(str(n).encode()).digest()


@pytest.fixture(scope="module")
def digests() -> list[bytes]:
    return [sha256(n) for n in range(30_000)]


def test_get_while_pending_and_after_compact(digests: list[bytes]) -> None:
    index = ExactIndex(32)
    index.add(range(len(digests)), digests)
    assert len(index) == len(digests) and len(index.ids) == 0
    assert index.get(digests[123]) == [123]
    index.compact()
    assert not index.pending and len(index.ids) == len(digests)
    for n in (0, 1, 123, 29_999):
        assert index.get(digests[n]) == [n]
    assert all(index.get(digest) == [n] for n, digest in enumerate(digests[::97]) for n in [n * 97])


def test_missing_keys_give_an_empty_list(digests: list[bytes]) -> None:
    index = ExactIndex(32)
    assert index.get(digests[0]) == []
    index.add(range(100), digests[:100])
    assert index.get(digests[100]) == []
    index.compact()
    assert index.get(digests[100]) == []
    assert index.get(b"") == []
    assert index.get(digests[5][:16]) == []  # wrong width: not found, not an error


def test_one_digest_with_several_ids_across_pending_and_compacted(digests: list[bytes]) -> None:
    index = ExactIndex(32)
    index.add([7, 3], [digests[0], digests[0]])
    index.compact()
    index.add([5], [digests[0]])
    assert sorted(index.get(digests[0])) == [3, 5, 7]
    index.compact()
    assert index.get(digests[0]) == [3, 5, 7]
    assert len(index) == 3


def test_digests_sharing_the_first_eight_bytes_are_told_apart() -> None:
    prefix = bytes(range(8))
    keys = [prefix + bytes([n]) * 8 for n in range(5)]  # width 16, like MD5
    index = ExactIndex(16)
    index.add([10, 11, 12, 13, 14], keys)
    index.compact()
    for n, key in enumerate(keys):
        assert index.get(key) == [10 + n]
    assert index.get(prefix + bytes([9]) * 8) == []


def test_compact_keeps_earlier_compacted_entries(digests: list[bytes]) -> None:
    index = ExactIndex(32)
    index.add(range(1000), digests[:1000])
    index.compact()
    index.add(range(1000, 2000), digests[1000:2000])
    index.compact()
    index.compact()  # nothing pending: a no-op
    assert len(index) == 2000
    assert np.all(np.diff(index.prefixes.astype(np.float64)) >= 0)
    for n in (0, 999, 1000, 1999):
        assert index.get(digests[n]) == [n]


def test_compacts_automatically_past_the_threshold(digests: list[bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exact, "COMPACT_AT", 500)
    index = ExactIndex(32)
    index.add(range(499), digests[:499])
    assert len(index.pending) == 499
    index.add([499], [digests[499]])
    assert not index.pending and len(index.ids) == 500
    assert index.get(digests[250]) == [250]


def test_wrong_width_is_refused() -> None:
    index = ExactIndex(20)
    with pytest.raises(ValueError, match="expected a 20-byte digest, got 32 bytes"):
        index.add([1], [sha256(1)])
    with pytest.raises(ValueError):
        index.add([1, 2], [hashlib.sha1(b"a").digest()])  # ids and keys of different lengths
