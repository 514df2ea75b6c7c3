"""Exact lookup of fixed-width digests (MD5, SHA-1, SHA-256) among millions of them.

Why sorted arrays and not a dict: a Python dict costs well over 100 bytes per digest (key
object, value list, table slot); 10M SHA-256 digests would take over 2 GB. Here the digests
sit in one sorted array of fixed-width byte strings (numpy "V" items, compared as raw bytes)
with their ids beside them, and a batch of queries is answered by two `searchsorted` calls.

The index is never changed once built, like the hash-list states that hold it: an update
builds a new one (see services/platform_matcher.py). It answers in the same shape as the
Hamming index (`search_many` gives (id, distance) pairs per query; the distance is always 0),
so a signal's owner need not care which kind of index its signal declares.
"""

from __future__ import annotations

import numpy as np


class ExactIndex:
    """Ids by digest, for digests of one fixed width."""

    def __init__(self, ids: np.ndarray, digests: np.ndarray) -> None:
        """`digests` is a (n, width) uint8 array; `ids[i]` is the id of row i."""
        digests = np.asarray(digests, np.uint8)
        if digests.ndim != 2 or len(digests) != len(ids):
            raise ValueError(f"{len(ids)} ids for digests of shape {digests.shape}; expected (n, width) with n ids")
        self.width = digests.shape[1]
        keys = np.ascontiguousarray(digests).view(f"V{self.width}").ravel()
        order = np.argsort(keys, kind="stable")  # stable: one digest's ids stay in the given order
        self.keys, self.ids = keys[order], np.asarray(ids)[order]

    def __len__(self) -> int:
        return len(self.ids)

    def search_many(self, queries: np.ndarray, radius: int = 0) -> list[list[tuple[int, int]]]:
        """(id, 0) for every stored digest equal to each query; `radius` is ignored (exact)."""
        queries = np.asarray(queries, np.uint8)
        if queries.ndim != 2 or queries.shape[1] != self.width:
            raise ValueError(f"expected queries of shape (n, {self.width}), got {queries.shape}")
        wanted = np.ascontiguousarray(queries).view(f"V{self.width}").ravel()
        low = np.searchsorted(self.keys, wanted, "left")
        high = np.searchsorted(self.keys, wanted, "right")
        return [[(int(found), 0) for found in self.ids[start:end]] for start, end in zip(low, high)]
