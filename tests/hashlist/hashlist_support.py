"""Sections of generated hashes for hash-list tests."""

from __future__ import annotations

import numpy as np

from mediamatch.hashlist.format import Section

WIDTHS = {"md5": 16, "sha1": 20, "sha256": 32, "pdq": 32}


def sections(rng: np.random.Generator, ids_by_signal: dict[str, list[int]]) -> dict[tuple[str, str], Section]:
    """Hashes derived from the id, so the same id has the same hash in every version."""
    found = {}
    for signal, ids in ids_by_signal.items():
        hashes = np.array([np.random.default_rng(i * 7 + len(signal)).integers(0, 256, WIDTHS[signal]) for i in ids], np.uint8).reshape(-1, WIDTHS[signal])
        found[("entries", signal)] = Section.of(np.array(ids, np.uint64), hashes, WIDTHS[signal])
    return found
