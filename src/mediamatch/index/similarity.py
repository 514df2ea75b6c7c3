"""Searching the descriptor index: which catalogued pictures a picture shares keypoints with,
verified geometrically.

Every keypoint of the searched picture asks the index for its NEIGHBOURS nearest catalogued
keypoints closer than MAX_DISTANCE; each neighbour votes for the feature row (picture or video
frame) it belongs to. The CANDIDATES rows with most votes are verified (index/verify.py) with
the pairs that voted for them, each keypoint of either picture used once (its closest pair),
so a repeated pattern cannot count one keypoint many times.

A low-detail picture is also searched by its miniature (`low_detail_hits`, index/miniatures.py):
the nearest catalogued miniatures, decided by `resemblance`. Only the nearest that passes is a
hit (low-detail pictures resemble one another: the nearest is the one most likely right), with
any others within DUPLICATE_RMS of it (the same picture catalogued twice).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from mediamatch.index.descriptors import DescriptorIndex, split_ids
from mediamatch.index.miniatures import DUPLICATE_RMS, MiniatureIndex, resemblance, whole_picture
from mediamatch.index.verify import CONTAINS, MIN_PAIRS, Alignment, verify
from mediamatch.signals.local_features import FeatureSet

NEIGHBOURS = 2
MAX_DISTANCE = 260.0  # L2 between SIFT descriptors (norm 512): pairs past this are unrelated patches
CANDIDATES = 10


@dataclass(frozen=True, slots=True)
class KnownRow:
    """A catalogued picture or video frame: which item, when in it (None for a still), its keypoints."""

    media_id: int
    timestamp: float | None
    features: FeatureSet


@dataclass(frozen=True, slots=True)
class Hit:
    row: int
    known: KnownRow
    alignment: Alignment


def search(
    index: DescriptorIndex, query: FeatureSet, known_rows: Callable[[set[int]], Mapping[int, KnownRow]], miniatures: MiniatureIndex | None = None
) -> list[Hit]:
    """Verified hits of `query`, copies (`contains`) first, then by inliers; `known_rows` gives
    the stored features of the candidate rows. With `miniatures`, a low-detail query is also
    searched by its miniature (a row found both ways keeps its keypoints' hit)."""
    hits = keypoint_hits(index, query, known_rows)
    if miniatures is not None:
        found = {hit.row for hit in hits}
        hits += [hit for hit in low_detail_hits(miniatures, query, known_rows) if hit.row not in found]
    return sorted(hits, key=lambda hit: (hit.alignment.relation != CONTAINS, -hit.alignment.inliers, hit.row))


def low_detail_hits(miniatures: MiniatureIndex, query: FeatureSet, known_rows: Callable[[set[int]], Mapping[int, KnownRow]]) -> list[Hit]:
    """The catalogued low-detail pictures `query` is a copy of, by their miniatures (see the
    module's docstring)."""
    if query.miniature is None:
        return []
    candidates = miniatures.nearest(query.miniature)
    known = known_rows({row for row, _ in candidates}) if candidates else {}
    passed = []
    for row, _ in candidates:
        if (stored := known.get(row)) is not None and (found := resemblance(query, stored.features)) is not None:
            passed.append((found, row, stored))
    passed.sort(key=lambda item: (item[0].rms, item[1]))
    return [Hit(row, stored, whole_picture(query, stored.features, found)) for found, row, stored in passed if found.rms <= passed[0][0].rms + DUPLICATE_RMS]


def keypoint_hits(index: DescriptorIndex, query: FeatureSet, known_rows: Callable[[set[int]], Mapping[int, KnownRow]]) -> list[Hit]:
    """Hits by shared keypoints, verified geometrically (see the module's docstring)."""
    if len(query) < MIN_PAIRS or not len(index):
        return []
    distances, ids = index.search(query.descriptors, NEIGHBOURS)
    keep = (ids >= 0) & (distances <= MAX_DISTANCE**2)
    query_numbers = np.nonzero(keep)[0]
    rows, points = split_ids(ids[keep])
    order = np.argsort(distances[keep], kind="stable")
    pairs: dict[int, dict[str, list[int]]] = {}
    used: set[tuple[int, str, int]] = set()
    for position in order:  # closest pairs first: each keypoint keeps its best pair per row
        row, query_number, point = int(rows[position]), int(query_numbers[position]), int(points[position])
        if (row, "q", query_number) in used or (row, "k", point) in used:
            continue
        used.update({(row, "q", query_number), (row, "k", point)})
        slot = pairs.setdefault(row, {"query": [], "known": []})
        slot["query"].append(query_number)
        slot["known"].append(point)
    candidates = sorted((row for row, slot in pairs.items() if len(slot["query"]) >= MIN_PAIRS), key=lambda row: -len(pairs[row]["query"]))[:CANDIDATES]
    if not candidates:
        return []
    known = known_rows(set(candidates))
    hits = []
    for row in candidates:
        if (stored := known.get(row)) is None:
            continue
        slot = pairs[row]
        known_numbers = np.array(slot["known"])
        if known_numbers.max() >= len(stored.features):
            continue  # an index older than the rows it points at: rebuilt on the next catch-up
        alignment = verify(
            query.points[np.array(slot["query"])],
            stored.features.points[known_numbers],
            (query.width, query.height),
            (stored.features.width, stored.features.height),
        )
        if alignment is not None:
            hits.append(Hit(row, stored, alignment))
    return hits
