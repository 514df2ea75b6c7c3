"""Local features: SIFT keypoints and descriptors of a picture, for copies PDQ cannot see.

PDQ describes a whole picture, so a crop, a rotation by a few degrees or a picture pasted into
another changes it past its radius. Local features describe small patches around keypoints
(OpenCV's SIFT: scale- and rotation-invariant), so a part of a known picture, turned, scaled or
surrounded by something else, still shares keypoints with it; geometric verification (RANSAC,
services/similar.py) then says how the two align and which share of the known picture is there.

A picture is reduced before detection (the keypoints' coordinates are in that reduced picture,
with its size kept beside them): a searched picture to QUERY_SIDE pixels on its longest side,
keeping QUERY_POINTS keypoints, a catalogued one to CATALOGUE_SIDE, keeping its CATALOGUE_POINTS
strongest (the index's size budget, 8 KiB per picture: index/descriptors.py). The two sides
differ on purpose: a copy is usually no larger than its original and often much smaller (a
picture pasted at 40% of a host's width, a thumbnail), so the catalogue is described at coarse
scales and the searched picture at fine ones; and a catalogued picture is described once, a
searched one every time a drive is triaged. Keypoint numbers must fit the index's ids
(index/descriptors.py POINT_BITS: at most 2048).

These are not hash values: a feature set has no string form, no Hamming distance, and it never
travels in a hash list or an exchange export (local descriptors can be inverted into a rough
picture), which is why the registry keeps "descriptor" signals apart from the hash signals every
list and export iterates (`registry.all_signals`).

Packed form (`FeatureSet.to_bytes`), little-endian: magic b"MMLF", version (uint16) = 1, the
reduced picture's width and height (uint16 each), the point count n (uint32), then n points as
float32 (x, y) pairs, then n descriptors of 128 uint8.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from mediamatch.signals.base import ComputesFrom, IndexKind, MediaKind, SignalType

# SIFT's cost grows with the pixels it works on (it doubles the picture first): at 320 px a picture
# costs 14 ms, at 512 px 37 ms (one core). Catalogue at 320 and queries at 512 against both at 512
# (benchmarks/bench_similar.py, 40 queries per edit): pasted at 40% 33/40 against 27/40, crops and
# rotations within one query of each other, building 1.8x faster (BENCHMARKS.md, similarity).
QUERY_SIDE = 512
CATALOGUE_SIDE = 320
# A searched picture keeps more keypoints than a catalogued one: in a picture pasted into another
# the host's keypoints crowd out the pasted one's (pasted at 40% width: found 27/40 with 800 points,
# 30/40 with 1500; benchmarks/bench_similar.py).
QUERY_POINTS = 1500
FEW_POINTS = 64  # a catalogued picture with fewer keypoints at CATALOGUE_SIDE is described at QUERY_SIDE
CATALOGUE_POINTS = 256  # 256 PQ codes of 24 bytes (code + id) = 6 KiB, under the 8 KiB budget per picture
DESCRIPTOR_BYTES = 128
MIN_SIDE = 16  # smaller pictures have no room for a keypoint's 16x16 patch
_HEADER = struct.Struct("<4sHHHI")
_MAGIC = b"MMLF"
_VERSION = 1


class FeatureError(ValueError):
    """Bytes that are not a packed feature set."""


@dataclass(frozen=True, slots=True, eq=False)
class FeatureSet:
    """The keypoints of one picture: where (`points`, float32 (n, 2) in the reduced picture of
    `width` x `height`) and what they look like (`descriptors`, uint8 (n, 128))."""

    width: int
    height: int
    points: np.ndarray
    descriptors: np.ndarray

    def __len__(self) -> int:
        return len(self.points)

    def strongest(self, count: int) -> FeatureSet:
        """The first `count` keypoints (they are kept strongest first)."""
        return FeatureSet(self.width, self.height, self.points[:count], self.descriptors[:count])

    def within(self, box: tuple[float, float, float, float]) -> FeatureSet:
        """The keypoints inside `box` (x, y, w, h as shares 0-1 of the picture's sides)."""
        x, y, w, h = box
        px, py = self.points[:, 0] / self.width, self.points[:, 1] / self.height
        inside = (px >= x) & (px <= x + w) & (py >= y) & (py <= y + h)
        return FeatureSet(self.width, self.height, self.points[inside], self.descriptors[inside])

    def to_bytes(self) -> bytes:
        header = _HEADER.pack(_MAGIC, _VERSION, self.width, self.height, len(self))
        return header + np.ascontiguousarray(self.points, "<f4").tobytes() + np.ascontiguousarray(self.descriptors, np.uint8).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> FeatureSet:
        if len(data) < _HEADER.size:
            raise FeatureError("too short to be a feature set")
        magic, version, width, height, count = _HEADER.unpack_from(data)
        if magic != _MAGIC or version != _VERSION:
            raise FeatureError(f"not a version-{_VERSION} feature set (magic {magic!r}, version {version})")
        expected = _HEADER.size + count * (8 + DESCRIPTOR_BYTES)
        if len(data) != expected or not width or not height:
            raise FeatureError(f"damaged feature set ({len(data)} bytes, header says {expected})")
        points = np.frombuffer(data, "<f4", count * 2, _HEADER.size).reshape(count, 2)
        descriptors = np.frombuffer(data, np.uint8, count * DESCRIPTOR_BYTES, _HEADER.size + count * 8).reshape(count, DESCRIPTOR_BYTES)
        return cls(width, height, points, descriptors)


def empty_features(width: int = 1, height: int = 1) -> FeatureSet:
    return FeatureSet(width, height, np.zeros((0, 2), np.float32), np.zeros((0, DESCRIPTOR_BYTES), np.uint8))


def reduced(luma: np.ndarray, side: int = QUERY_SIDE) -> np.ndarray:
    """The uint8 picture keypoints are found in: `luma` shrunk (area-averaged) to `side` pixels
    on its longest side."""
    import cv2

    height, width = luma.shape
    scale = min(1.0, side / max(height, width))
    picture = np.clip(luma, 0, 255).astype(np.uint8)
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        picture = cv2.resize(picture, size, interpolation=cv2.INTER_AREA)
    return picture


class LocalFeaturesSignal(SignalType):
    """SIFT keypoints of a still or a video frame, searched in the descriptor index."""

    name: ClassVar[str] = "local_features"
    index_kind: ClassVar[IndexKind] = "descriptor"
    bits: ClassVar[int] = 0  # no fixed-width value: a set of up to QUERY_POINTS descriptors
    media_kinds: ClassVar[frozenset[MediaKind]] = frozenset({"image", "video_frame"})
    computes_from: ClassVar[ComputesFrom | None] = "features"
    # Geometric verification decides, not a distance: see services/similar.py for the measured
    # inlier thresholds; this is the fewest inliers anything is reported with.
    default_threshold: ClassVar[int] = 12
    threshold_source: ClassVar[str] = "benchmarks/bench_similar.py: 0 false matches over 20,000+ unrelated pairs of benign photos"

    @classmethod
    def validate(cls, value: str) -> str:
        raise ValueError(f"{cls.name}: a feature set has no string form")

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        raise ValueError(f"{cls.name}: feature sets are compared by geometric verification, not a distance")

    @classmethod
    def examples(cls) -> list[str]:
        return []

    @classmethod
    def compute_features(cls, luma: np.ndarray, *, catalogue: bool = False) -> bytes:
        return (cls.catalogue_features(luma) if catalogue else cls.features(luma)).to_bytes()

    @classmethod
    def catalogue_features(cls, luma: np.ndarray) -> FeatureSet:
        """The keypoints a catalogued picture or frame is stored with (see the module docstring);
        a picture with few keypoints at CATALOGUE_SIDE is described at QUERY_SIDE instead, where
        it has a few more and its copies' keypoints are at the scales of its own."""
        features = cls.features(luma, CATALOGUE_POINTS, CATALOGUE_SIDE)
        if len(features) < FEW_POINTS and max(luma.shape) > CATALOGUE_SIDE:
            return cls.features(luma, CATALOGUE_POINTS, QUERY_SIDE)
        return features

    @classmethod
    def features(cls, luma: np.ndarray, max_points: int = QUERY_POINTS, side: int = QUERY_SIDE) -> FeatureSet:
        """The keypoints of a float32 luma plane reduced to `side`, strongest first; none for a
        picture too small or too plain to have any (a blank picture yields an empty set, not an
        error)."""
        import cv2

        cv2.setNumThreads(1)  # callers parallelise by process (hashing workers): OpenCV's threads would fight them for cores
        picture = reduced(luma, side)
        height, width = picture.shape
        if min(height, width) < MIN_SIDE:
            return empty_features(width, height)
        keypoints, descriptors = cv2.SIFT.create(nfeatures=max_points).detectAndCompute(picture, None)
        if descriptors is None or not keypoints:
            return empty_features(width, height)
        order = np.argsort([-keypoint.response for keypoint in keypoints], kind="stable")[:max_points]
        points = np.array([keypoints[i].pt for i in order], np.float32).reshape(-1, 2)
        packed = np.clip(np.rint(descriptors[order]), 0, 255).astype(np.uint8)  # OpenCV's SIFT values are whole numbers 0-255
        return FeatureSet(width, height, points, packed)
