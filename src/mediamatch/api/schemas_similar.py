"""Request and response models of similarity search (`/api/v1/query/similar*`).

Remote triage sends each picture's local features (packed, base64), never the picture: the
model refuses anything that is not a well-formed feature set, so a search never sees bad bytes."""

from __future__ import annotations

import base64
import binascii

from pydantic import BaseModel, Field, field_validator

from mediamatch.catalog.records import Match
from mediamatch.signals.local_features import MINIATURE_BYTES, QUERY_POINTS, FeatureError, FeatureSet

MAX_ITEMS_PER_REQUEST = 64
MAX_FRAMES_PER_ITEM = 600  # a 20-minute video at one feature set per 2 s


class FeatureSetIn(BaseModel):
    signal: str = Field(max_length=32)
    timestamp: float | None = Field(default=None, ge=0, le=10**6)  # seconds into a video; None for a still
    data: str = Field(max_length=4 * (QUERY_POINTS * 136 + MINIATURE_BYTES + 64) // 3 + 8, description="FeatureSet.to_bytes(), base64")

    @field_validator("data")
    @classmethod
    def _well_formed(cls, value: str) -> str:
        try:
            features = FeatureSet.from_bytes(base64.b64decode(value, validate=True))
        except (binascii.Error, FeatureError) as exc:
            raise ValueError(f"not a packed feature set: {exc}") from None
        if len(features) > QUERY_POINTS:
            raise ValueError(f"at most {QUERY_POINTS} keypoints per feature set")
        return value

    def packed(self) -> bytes:
        return base64.b64decode(self.data)


class SimilarItem(BaseModel):
    label: str = Field(default="", max_length=500)
    features: list[FeatureSetIn] = Field(max_length=MAX_FRAMES_PER_ITEM)


class SimilarBatch(BaseModel):
    items: list[SimilarItem] = Field(min_length=1, max_length=MAX_ITEMS_PER_REQUEST)


class SimilarMatchOut(BaseModel):
    media_id: int
    series: list[str]
    category: int | None
    baseline: bool
    victim_identified: bool
    signal: str
    distance: int  # 0: geometric verification decides a similarity match, `inliers` says how strongly
    relation: str  # "contains" (a copy of the known picture or part of it) or "related" (same scene or objects)
    inliers: int | None
    known_area_share: float | None
    transform: str
    query_region: list[tuple[float, float]]
    known_region: list[tuple[float, float]]
    query_seconds: list[tuple[float, float]] = []
    known_seconds: list[tuple[float, float]] = []

    @classmethod
    def of(cls, match: Match) -> SimilarMatchOut:
        return cls(
            media_id=match.media_id, series=list(match.series), category=match.category, baseline=match.baseline,
            victim_identified=match.victim_identified, signal=match.signal, distance=match.distance, relation=match.relation, inliers=match.inliers,
            known_area_share=match.known_area_share, transform=match.transform, query_region=list(match.query_region),
            known_region=list(match.known_region), query_seconds=list(match.query_seconds), known_seconds=list(match.known_seconds),
        )  # fmt: skip


class SimilarResult(BaseModel):
    label: str
    matches: list[SimilarMatchOut]
    error: str | None = None
    note: str | None = None
