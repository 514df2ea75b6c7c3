"""Similarity search against the catalogue: copies PDQ cannot see, and related pictures.

The catalogue's local features (store/features.py: one row per picture or sampled video frame)
are held in a descriptor index (index/descriptors.py) saved beside the catalogue, like the PDQ
index, with the last feature row it holds: the next start maps the file and reads only the rows
stored since. A search finds the candidate rows whose keypoints a picture shares and verifies
each geometrically (index/similarity.py, index/verify.py); a verified hit becomes a `Match`
whose `relation` says "contains" (a crop, a rotated, resized or pasted copy: the file is known)
or "related" (the same scene or object, not a copy), with the regions that match. Low-detail
pictures, which have too few keypoints, are also found whole by their miniatures (an exact
index saved beside the descriptor index: index/miniatures.py).

Used by triage as a second pass on files that matched nothing exact or by PDQ
(`second_pass`), by `mediamatch similar` and `POST /api/v1/query/similar` (region search:
`search_picture`), and by the server for remote triage (features travel, never pictures).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mediamatch.catalog.hashes import Features, HashRecord
from mediamatch.catalog.records import Match, MatchDetail
from mediamatch.config import index_file_for, url_key
from mediamatch.index.descriptors import DescriptorIndex, point_ids
from mediamatch.index.faiss_files import IndexFileError
from mediamatch.index.miniatures import MiniatureIndex
from mediamatch.index.similarity import Hit, KnownRow, search
from mediamatch.index.state_file import StateFile
from mediamatch.index.verify import CONTAINS
from mediamatch.media.hashing import hash_bytes
from mediamatch.media.limits import CATALOGUE_LIMITS
from mediamatch.services.catalogue_changes import follow_changes
from mediamatch.services.frame_matching import time_ranges
from mediamatch.signals.local_features import FeatureError, FeatureSet, LocalFeaturesSignal
from mediamatch.store import features as feature_store
from mediamatch.store import repo

ROW_CACHE_LIMIT = 100_000  # known feature rows kept in memory (2-40 KB each)
DEFAULT_LIMIT = 20
NO_DESCRIPTORS = "no descriptors: the picture is too small or too plain for similarity search (a near-uniform picture resembles every other)"


class SavedDescriptorIndex:
    """The descriptor index of one catalogue, in a file beside it (FAISS format), the index of
    its low-detail pictures' miniatures in `<file>.miniatures`, and their state file
    (index/state_file.py): which catalogue, the last feature row held, how many descriptors and
    miniatures, and how many descriptors the codebooks were trained on."""

    def __init__(self, path: Path, key: str, index: DescriptorIndex, last_row: int) -> None:
        self.path = path
        self.state = StateFile(path)
        self.miniatures_path = path.with_name(path.name + ".miniatures")
        self.key = key
        self.index = index
        self.miniatures = MiniatureIndex.empty()
        self.last_row = last_row

    @classmethod
    def open(cls, engine: Engine, path: Path) -> SavedDescriptorIndex:
        """The saved index when it is this catalogue's, caught up; else built from the catalogue."""
        key = url_key(engine.url.render_as_string(hide_password=True))
        saved = cls(path, key, DescriptorIndex.empty(), 0)
        state = saved.state.read({"key": key})
        try:
            if state and isinstance(last_row := state.get("last_row"), int) and isinstance(trained_on := state.get("trained_on"), int):
                index = DescriptorIndex.load(path, trained_on)
                miniatures = MiniatureIndex.load(saved.miniatures_path)
                if len(index) == state.get("count") and len(miniatures) == state.get("miniatures"):
                    saved.index, saved.miniatures, saved.last_row = index, miniatures, last_row
        except (OSError, IndexFileError):
            pass  # no usable saved index: built from the catalogue below
        saved.refresh(engine)
        return saved

    def refresh(self, engine: Engine) -> int:
        """Add the feature rows stored since (rebuilding both indexes when the codebooks need
        training, see `DescriptorIndex.needs_training`) and save; returns how many rows were added."""
        with Session(engine) as session:
            last = feature_store.last_feature_row(session)
            if last <= self.last_row:
                return 0
            rows = list(feature_store.iter_feature_rows(session, self.last_row, last))
            total = len(self.index) + sum(len(row.features) for row in rows)
            if self.index.needs_training(total):
                rows = list(feature_store.iter_feature_rows(session, 0, last))
                self.index = DescriptorIndex.build(*_arrays(rows))
                self.miniatures = MiniatureIndex.empty()
            else:
                if self.index.mapped:
                    self.index = DescriptorIndex.load(self.path, self.index.trained_on, writable=True)
                self.index.add(*_arrays(rows))
            self.miniatures.add([(row.row_id, row.features) for row in rows])
        self.last_row = last
        self._save()
        return len(rows)

    def _save(self) -> None:
        def write_files() -> None:
            self.index.save(self.path)
            self.miniatures.save(self.miniatures_path)

        state = {"key": self.key, "last_row": self.last_row, "count": len(self.index), "miniatures": len(self.miniatures), "trained_on": self.index.trained_on}
        self.state.replace(write_files, state)


def _arrays(rows: Sequence[feature_store.FeatureRow]) -> tuple[np.ndarray, np.ndarray]:
    if not rows:
        return np.zeros((0, 128), np.uint8), np.zeros(0, np.int64)
    descriptors = np.concatenate([row.features.descriptors for row in rows])
    ids = point_ids(np.array([row.row_id for row in rows], np.int64), np.array([len(row.features) for row in rows]))
    return descriptors, ids


class SimilarityMatcher:
    """Answers which catalogue items a picture (or a video's frames) contains or relates to.

    Kept current like the catalogue matcher: `invalidate()` (called through
    `catalogue_changes`) makes the next search catch up first."""

    def __init__(self, engine: Engine, saved: SavedDescriptorIndex) -> None:
        self.engine = engine
        self.saved = saved
        self._rows: dict[int, KnownRow] = {}
        self._details: dict[int, MatchDetail] = {}
        self._stale = False
        self._refreshing = threading.Lock()

    @classmethod
    def open(cls, engine: Engine, path: Path | None = None) -> SimilarityMatcher:
        path = path or index_file_for(engine.url.render_as_string(hide_password=False), ".similar-index")
        matcher = cls(engine, SavedDescriptorIndex.open(engine, path))
        follow_changes(engine, matcher)
        return matcher

    def invalidate(self) -> None:
        self._stale = True

    def refresh(self) -> int:
        with self._refreshing:
            self._stale = False
            self._details.clear()
            return self.saved.refresh(self.engine)

    def find(self, features: FeatureSet, session: Session | None = None, timestamp: float | None = None) -> list[tuple[Hit, MatchDetail]]:
        """Verified hits of one picture or frame, with what is known of each hit's item."""
        if self._stale:
            self.refresh()
        with nullcontext(session) if session is not None else Session(self.engine) as session:
            hits = search(self.saved.index, features, lambda rows: self._known_rows(session, rows), self.saved.miniatures)
            media_ids = {hit.known.media_id for hit in hits}
            missing = media_ids - self._details.keys()
            if missing:
                self._details.update(repo.match_details(session, missing))
        return [(hit, self._details[hit.known.media_id]) for hit in hits if hit.known.media_id in self._details]

    def matches(self, feature_sets: Iterable[Features], session: Session | None = None) -> list[Match]:
        """The matches of one file: its picture's features, or its sampled frames' (each item
        once, by its strongest hit, with the times on both sides for videos)."""
        best: dict[int, Match] = {}
        query_times: dict[int, set[float]] = {}
        known_times: dict[int, set[float]] = {}
        for packed in feature_sets:
            try:
                features = FeatureSet.from_bytes(packed.data)
            except FeatureError:
                continue
            for hit, detail in self.find(features, session):
                media_id = hit.known.media_id
                if packed.timestamp is not None:
                    query_times.setdefault(media_id, set()).add(packed.timestamp)
                if hit.known.timestamp is not None:
                    known_times.setdefault(media_id, set()).add(hit.known.timestamp)
                match = as_match(hit, detail)
                if media_id not in best or _strength(match) > _strength(best[media_id]):
                    best[media_id] = match
        return sorted(
            (
                replace(match, query_seconds=time_ranges(query_times.get(media_id, set())), known_seconds=time_ranges(known_times.get(media_id, set())))
                for media_id, match in best.items()
            ),
            key=lambda match: (-_strength(match)[0], -_strength(match)[1], match.media_id),
        )

    def similar(self, records: Sequence[HashRecord]) -> list[list[Match]]:
        """For each record, its similarity matches (empty without features)."""
        with Session(self.engine) as session:
            return [self.matches(record.features, session) if record.features else [] for record in records]

    def _known_rows(self, session: Session, row_ids: set[int]) -> Mapping[int, KnownRow]:
        missing = row_ids - self._rows.keys()
        if missing:
            if len(self._rows) > ROW_CACHE_LIMIT:
                self._rows.clear()
            for row_id, row in feature_store.feature_rows(session, missing).items():
                self._rows[row_id] = KnownRow(row.media_id, row.timestamp, row.features)
        return {row_id: self._rows[row_id] for row_id in row_ids if row_id in self._rows}


def _strength(match: Match) -> tuple[int, int]:
    return (match.relation == CONTAINS, match.inliers or 0)


def as_match(hit: Hit, detail: MatchDetail) -> Match:
    alignment = hit.alignment
    return Match(
        media_id=detail.media_id,
        series=detail.series,
        category=detail.category,
        baseline=detail.baseline,
        victim_identified=detail.victim_identified,
        signal="local_features",
        distance=0,
        transform=alignment.transform,
        relation=alignment.relation,
        inliers=alignment.inliers or None,  # None: found whole by its miniature, no keypoints to count
        known_area_share=alignment.known_share,
        query_region=alignment.query_region,
        known_region=alignment.known_region,
    )


def is_known_by_similarity(matches: Sequence[Match]) -> bool:
    return any(match.relation != "related" for match in matches)


@dataclass(frozen=True, slots=True)
class PictureSearch:
    """The answer to a region search: the matches, ranked, or why there are none."""

    matches: tuple[Match, ...] = ()
    error: str | None = None
    note: str | None = None


# A searched video is sampled as densely as a catalogued one (every frame, near-repeats dropped),
# its features described as a search's.
SEARCH_LIMITS = replace(CATALOGUE_LIMITS, features_for_catalogue=False)


def features_of(data: bytes, name: str = "query") -> tuple[list[Features], HashRecord]:
    """The local features of a picture or video given as bytes (and its record: size, error);
    not its embeddings, which region search does not use (the record keeps them)."""
    record = hash_bytes(data, name, SEARCH_LIMITS)
    return [packed for packed in record.features if packed.signal == LocalFeaturesSignal.name], record


def searchable(feature_sets: Iterable[Features]) -> bool:
    """Whether any of a file's local feature sets gives similarity search something to go on
    (keypoints or a miniature); damaged or other signals' sets give nothing."""
    for packed in feature_sets:
        if packed.signal != LocalFeaturesSignal.name:
            continue
        try:
            if FeatureSet.from_bytes(packed.data).searchable:
                return True
        except FeatureError:
            continue
    return False


def search_picture(matcher: SimilarityMatcher, data: bytes, box: tuple[int, int, int, int] | None = None, limit: int = DEFAULT_LIMIT) -> PictureSearch:
    """Catalogued pictures and video frames containing `data`'s picture, or the part of it in
    `box` (x, y, width, height in the picture's pixels), best first; bad input is an answer
    with `error` set, never an exception."""
    feature_sets, record = features_of(data)
    if record.error:
        return PictureSearch(error=record.error)
    if not feature_sets:
        return PictureSearch(error="not a picture or video")
    if box is not None:
        if record.frames or not record.width or not record.height:
            return PictureSearch(error="a box selects a region of a still picture")
        shares = _box_shares(box, record.width, record.height)
        if shares is None:
            return PictureSearch(error=f"the box {box} is not inside the {record.width}x{record.height} picture")
        feature_sets = [replace(packed, data=FeatureSet.from_bytes(packed.data).within(shares).to_bytes()) for packed in feature_sets]
    if not searchable(feature_sets):
        return PictureSearch(note=NO_DESCRIPTORS)
    return PictureSearch(matches=tuple(matcher.matches(feature_sets)[:limit]))


def _box_shares(box: tuple[int, int, int, int], width: int, height: int) -> tuple[float, float, float, float] | None:
    x, y, w, h = box
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
        return None
    return x / width, y / height, w / width, h / height


def second_pass(records: Sequence[HashRecord], found: list[list[Match]], lookup: SimilarityLookup) -> list[list[Match]]:
    """Triage's second pass: the records that matched nothing (no digest, no PDQ: low-quality
    pictures included, which PDQ never searches) and have features are searched by similarity."""
    wanted = [position for position, (record, matches) in enumerate(zip(records, found)) if not matches and record.features]
    if not wanted:
        return found
    answers = lookup.similar([records[position] for position in wanted])
    merged = list(found)
    for position, matches in zip(wanted, answers):
        merged[position] = matches
    return merged


@runtime_checkable
class SimilarityLookup(Protocol):
    """What the second pass needs: the local `SimilarityMatcher` or a server
    (`RemoteCatalogueMatcher.similar`, which receives features only)."""

    def similar(self, records: Sequence[HashRecord]) -> list[list[Match]]: ...
