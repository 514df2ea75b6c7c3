"""The global descriptor's part of similarity search: candidates by a learned embedding, each
verified by local features before anything is called known.

Triage's second pass asks local features first (services/similar.py). A file they found
nothing for, and that has an embedding (signals/global_descriptor.py: only where the model is
installed), is searched in the embedding index (index/embeddings.py, saved beside the
catalogue). Each catalogued picture or frame at cosine >= CANDIDATE_COSINE is then:

- verified geometrically against its stored local features (index/verify.py): a verified
  candidate is a match with the alignment's relation ("contains": the file is known), the
  evidence naming the global descriptor that found it;
- otherwise no match: where the keypoints do not align, or either side has too few to verify.
  On benign photos SSCD fed the luma plane puts a few unrelated photos above 0.5, and on
  low-detail pictures a cosine alone is no proof: the nearest unrelated low-detail picture at
  cosine 0.75 or more was taken for a copy 12 times over 12,285 unrelated pairs
  (benchmarks/bench_similar.py) when an unverified nearest candidate counted. Low-detail copies
  are found by their miniatures instead (index/miniatures.py), and what shares a scene by local
  features ("related").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mediamatch.catalog.hashes import HashRecord
from mediamatch.catalog.records import Match, MatchDetail
from mediamatch.config import index_file_for, url_key
from mediamatch.index.embeddings import EmbeddingIndex
from mediamatch.index.faiss_files import IndexFileError
from mediamatch.index.similarity import MAX_DISTANCE
from mediamatch.index.state_file import StateFile
from mediamatch.index.verify import CONTAINS, MIN_PAIRS, Alignment, verify
from mediamatch.services.catalogue_changes import follow_changes
from mediamatch.services.similar import SimilarityLookup
from mediamatch.signals.global_descriptor import EmbeddingError, GlobalDescriptorSignal, from_bytes, unavailable
from mediamatch.signals.local_features import FeatureError, FeatureSet, LocalFeaturesSignal
from mediamatch.signals.registry import embedding_signals
from mediamatch.store import embeddings as embedding_store
from mediamatch.store import repo

CANDIDATE_COSINE = GlobalDescriptorSignal.default_threshold / 100
NEIGHBOURS = 10


class SavedEmbeddingIndex:
    """The embedding index of one catalogue in a file beside it, with its state file
    (index/state_file.py: which catalogue, the last row held, how many vectors)."""

    def __init__(self, path: Path, key: str, index: EmbeddingIndex, last_row: int) -> None:
        self.path = path
        self.state = StateFile(path)
        self.key = key
        self.index = index
        self.last_row = last_row

    @classmethod
    def open(cls, engine: Engine, path: Path) -> SavedEmbeddingIndex:
        key = url_key(engine.url.render_as_string(hide_password=True))
        saved = cls(path, key, EmbeddingIndex.empty(), 0)
        state = saved.state.read({"key": key})
        try:
            if state and isinstance(last_row := state.get("last_row"), int):
                index = EmbeddingIndex.load(path)
                if len(index) == state.get("count"):
                    saved.index, saved.last_row = index, last_row
        except (OSError, IndexFileError):
            pass  # no usable saved index: built from the catalogue below
        saved.refresh(engine)
        return saved

    def refresh(self, engine: Engine) -> int:
        """Add the rows stored since and save; returns how many were added."""
        with Session(engine) as session:
            last = embedding_store.last_embedding_row(session)
            if last <= self.last_row:
                return 0
            rows = list(embedding_store.iter_embedding_rows(session, self.last_row, last))
        if rows:
            self.index.add(np.stack([row.vector for row in rows]), np.array([row.row_id for row in rows], np.int64))
        self.last_row = last
        self.state.replace(lambda: self.index.save(self.path), {"key": self.key, "last_row": self.last_row, "count": len(self.index)})
        return len(rows)


@dataclass(frozen=True, slots=True)
class Candidate:
    media_id: int
    timestamp: float | None
    cosine: float


class GlobalDescriptorMatcher:
    """Finds catalogue items by embedding and decides each as the module says. Kept current
    like the other matchers: `invalidate()` makes the next search catch up first."""

    def __init__(self, engine: Engine, saved: SavedEmbeddingIndex) -> None:
        self.engine = engine
        self.saved = saved
        self._stale = False

    @classmethod
    def open(cls, engine: Engine, path: Path | None = None) -> GlobalDescriptorMatcher:
        path = path or index_file_for(engine.url.render_as_string(hide_password=False), ".embedding-index")
        matcher = cls(engine, SavedEmbeddingIndex.open(engine, path))
        follow_changes(engine, matcher)
        return matcher

    def invalidate(self) -> None:
        self._stale = True

    def matches(self, record: HashRecord, session: Session) -> list[Match]:
        """The matches of one file by its embeddings (each item once, by its strongest)."""
        if self._stale:
            self._stale = False
            self.saved.refresh(self.engine)
        local = {packed.timestamp: packed.data for packed in record.features if packed.signal == LocalFeaturesSignal.name}
        candidates: list[tuple[float | None, Candidate]] = []
        for packed in record.features:
            if packed.signal != GlobalDescriptorSignal.name:
                continue
            try:
                vector = from_bytes(packed.data)
            except EmbeddingError:
                continue
            found = [(row, cosine) for row, cosine in self.saved.index.search(vector, NEIGHBOURS) if cosine >= CANDIDATE_COSINE]
            owners = embedding_store.embedding_owners(session, [row for row, _ in found])
            candidates.extend((packed.timestamp, Candidate(*owners[row], cosine)) for row, cosine in found if row in owners)
        if not candidates:
            return []
        media_ids = {candidate.media_id for _, candidate in candidates}
        known = embedding_store.known_features(session, media_ids)
        details = repo.match_details(session, media_ids)
        best: dict[int, Match] = {}
        for timestamp, candidate in candidates:
            if candidate.media_id not in details:
                continue
            query, stored = _features(local.get(timestamp)), known.get((candidate.media_id, candidate.timestamp))
            match = decide(candidate, query, stored, details[candidate.media_id])
            if match is not None and (candidate.media_id not in best or _strength(match) > _strength(best[candidate.media_id])):
                best[candidate.media_id] = match
        return sorted(best.values(), key=lambda match: (_strength(match), -match.media_id), reverse=True)


def decide(candidate: Candidate, query: FeatureSet | None, known: FeatureSet | None, detail: MatchDetail) -> Match | None:
    """One candidate's verdict (see the module's docstring), or None."""
    if query is None or known is None or len(query) < MIN_PAIRS or len(known) < MIN_PAIRS:
        return None
    alignment = verify_pair(query, known)
    if alignment is None:
        return None
    evidence = f"global descriptor, cosine {candidate.cosine:.2f}, verified by local features"
    return _match(candidate, detail, alignment, f"{alignment.transform} ({evidence})")


def verify_pair(query: FeatureSet, known: FeatureSet) -> Alignment | None:
    """Geometric verification of one known picture: each query keypoint paired with its nearest
    known one (mutually nearest, within index/similarity.py's MAX_DISTANCE), then RANSAC."""
    a = query.descriptors.astype(np.float32)
    b = known.descriptors.astype(np.float32)
    distances = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    nearest_known = distances.argmin(1)
    nearest_query = distances.argmin(0)
    query_numbers = np.nonzero((nearest_query[nearest_known] == np.arange(len(a))) & (distances.min(1) <= MAX_DISTANCE**2))[0]
    if len(query_numbers) < MIN_PAIRS:
        return None
    return verify(query.points[query_numbers], known.points[nearest_known[query_numbers]], (query.width, query.height), (known.width, known.height))


def _features(data: bytes | None) -> FeatureSet | None:
    if data is None:
        return None
    try:
        return FeatureSet.from_bytes(data)
    except FeatureError:
        return None


def _match(candidate: Candidate, detail: MatchDetail, alignment: Alignment, evidence: str) -> Match:
    return Match(
        media_id=detail.media_id,
        series=detail.series,
        category=detail.category,
        baseline=detail.baseline,
        victim_identified=detail.victim_identified,
        signal=GlobalDescriptorSignal.name,
        distance=round((1 - candidate.cosine) * 100),
        transform=evidence,
        relation=alignment.relation,
        inliers=alignment.inliers,
        known_area_share=alignment.known_share,
        query_region=alignment.query_region,
        known_region=alignment.known_region,
    )


def _strength(match: Match) -> tuple[bool, int]:
    return (match.relation == CONTAINS, -match.distance)


class WithGlobalDescriptor:
    """A second-pass lookup: local features first, then the global descriptor for the records
    they found nothing for."""

    def __init__(self, local: SimilarityLookup, matcher: GlobalDescriptorMatcher) -> None:
        self.local = local
        self.matcher = matcher

    def similar(self, records: Sequence[HashRecord]) -> list[list[Match]]:
        answers = self.local.similar(records)
        with Session(self.matcher.engine) as session:
            return [matches or self.matcher.matches(record, session) for record, matches in zip(records, answers)]


def with_global_descriptor(local: SimilarityLookup, engine: Engine) -> SimilarityLookup:
    """`local`, joined by the global descriptor where its model is installed here."""
    if not embedding_signals():
        return local
    return WithGlobalDescriptor(local, GlobalDescriptorMatcher.open(engine))


def global_descriptor_off() -> str | None:
    """Why the global descriptor takes no part here (once per triage run), or None."""
    return unavailable()
