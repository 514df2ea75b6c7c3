"""Exact lookup of cryptographic digests (MD5, SHA-1, SHA-256) among millions of stored ones.

Why sorted arrays and not a dict: a Python dict costs well over 100 bytes per digest (key
object, value list, table slot); 10M SHA-256 digests would take over 2 GB. Here the digests
sit in one sorted (n, width) byte array with their ids: 8 bytes of prefix are searched with
`searchsorted`, then the full digest is compared. Fresh additions wait in a small dict until
the next `compact()`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np

COMPACT_AT = 65_536


class ExactIndex:
    """Maps digests (bytes of one fixed width) to the ids that hold them."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.keys = np.zeros((0, width), np.uint8)
        self.prefixes = np.zeros(0, np.uint64)
        self.ids = np.zeros(0, np.int64)
        self.pending: dict[bytes, list[int]] = defaultdict(list)

    def __len__(self) -> int:
        return len(self.ids) + sum(len(ids) for ids in self.pending.values())

    def add(self, ids: Iterable[int], keys: Iterable[bytes]) -> None:
        for media_id, key in zip(ids, keys, strict=True):
            if len(key) != self.width:
                raise ValueError(f"expected a {self.width}-byte digest, got {len(key)} bytes")
            self.pending[key].append(int(media_id))
        if len(self.pending) >= COMPACT_AT:
            self.compact()

    def compact(self) -> None:
        """Merge pending additions into the sorted arrays."""
        if not self.pending:
            return
        new_keys = [key for key, ids in self.pending.items() for _ in ids]
        new_ids = [media_id for ids in self.pending.values() for media_id in ids]
        keys = np.concatenate([self.keys, np.frombuffer(b"".join(new_keys), np.uint8).reshape(-1, self.width)])
        ids = np.concatenate([self.ids, np.asarray(new_ids, np.int64)])
        prefixes = _prefixes(keys)
        order = np.lexsort((ids, prefixes))
        self.keys, self.ids, self.prefixes = keys[order], ids[order], prefixes[order]
        self.pending.clear()

    def get(self, key: bytes) -> list[int]:
        """Ids stored under `key` (empty when unknown)."""
        found = list(self.pending.get(key, ()))
        if len(self.ids) and len(key) == self.width:
            prefix = _prefixes(np.frombuffer(key, np.uint8).reshape(1, -1))[0]
            low, high = np.searchsorted(self.prefixes, prefix, "left"), np.searchsorted(self.prefixes, prefix, "right")
            target = np.frombuffer(key, np.uint8)
            for row in range(low, high):
                if np.array_equal(self.keys[row], target):
                    found.append(int(self.ids[row]))
        return found


def _prefixes(keys: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(keys[:, :8]).view(">u8").ravel().astype(np.uint64)
