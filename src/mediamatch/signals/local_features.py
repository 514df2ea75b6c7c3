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

A low-detail picture (smooth gradients, dark skies, soft light, blur) has few stable keypoints,
and PDQ's bits are noise under its quality 50: it is described by its miniature instead, the whole
picture area-averaged to MINIATURE_SIDE x MINIATURE_SIDE grey levels (aspect ratio ignored: the
reduced picture's size says it). A resized, re-encoded copy keeps nearly the same miniature (the
decision: index/miniatures.py). Only pictures under LOW_DETAIL get one (`detail`, PDQ's
gradient-sum quality measured on the reduced picture), and none that is a plain ramp
(`structure` under MIN_STRUCTURE: a black frame, a blank wall, a cloudless sky look alike).

Packed form (`FeatureSet.to_bytes`), little-endian: magic b"MMLF", version (uint16) = 2, the
reduced picture's width and height (uint16 each), the point count n (uint32), then n points as
float32 (x, y) pairs, then n descriptors of 128 uint8, then the miniature's side m (uint16, 0 for
none) and m * m grey levels as float16, row by row. Version 1 (stored by earlier releases) ends
after the descriptors: it reads as a feature set without a miniature.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from mediamatch.signals.base import IndexKind, SimilaritySignal

if TYPE_CHECKING:
    import cv2

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
# A catalogued picture keeps at most this share of its keypoints from SIFT's finest octave, chosen
# among its CANDIDATE_POINTS strongest: by response alone most come from there, and a copy shown
# smaller than its original (pasted at 40%) has lost those details. Pasted at 40% found 35/40 at
# 0.25 and 0.5, 33/40 by response alone; crops and rotations unchanged (BENCHMARKS.md).
FINE_SHARE = 0.25
CANDIDATE_POINTS = 1000
FEW_POINTS = 64  # a catalogued picture with fewer keypoints at CATALOGUE_SIDE is described at QUERY_SIDE
CATALOGUE_POINTS = 256  # 256 PQ codes of 24 bytes (code + id) = 6 KiB, under the 8 KiB budget per picture
DESCRIPTOR_BYTES = 128
MIN_SIDE = 16  # smaller pictures have no room for a keypoint's 16x16 patch
# Low-detail pictures: `detail` is PDQ's quality measure (gradient sum of a 64x64 reduction / 90),
# read on the reduced picture; it stays within a few points of PDQ's own (measured on 450 generated,
# blurred, darkened and flattened photos and their copies). A copy often reads lower than its
# original (a 40% resize + JPEG 50 dropped an original of 63 to PDQ 49), so the cut-off sits well
# above PDQ's 50: every original whose copy fell under 50 read under 64 here.
LOW_DETAIL = 80
DETAIL_GRID = 64
MINIATURE_SIDE = 16  # copies within 1.0 grey levels (RMS), the nearest unrelated picture 1.6 away (8x8: 1.1; 24x24: 1.7, copies 1.1)
# Grey levels of structure beyond a plane (`structure`): under it a picture is a uniform field or a
# ramp, which every other uniform field or ramp of similar brightness resembles (of 300 generated
# cloudless skies, whose structure measured 0.05-0.7, 62 of 53,592 pairs passed a decision that
# looked at brightness and ramp alone). Of 450 blurred, darkened or flattened photos and generated
# pictures under LOW_DETAIL, 6 of 366 measured under it.
MIN_STRUCTURE = 1.5
MINIATURE_BYTES = 2 + 2 * MINIATURE_SIDE * MINIATURE_SIDE  # the packed miniature: its side, then float16 values
_HEADER = struct.Struct("<4sHHHI")
_SIDE = struct.Struct("<H")
_MAGIC = b"MMLF"
_VERSION = 2
_VERSIONS = (1, 2)


class FeatureError(ValueError):
    """Bytes that are not a packed feature set."""


@dataclass(frozen=True, slots=True, eq=False)
class FeatureSet:
    """The keypoints of one picture: where (`points`, float32 (n, 2) in the reduced picture of
    `width` x `height`) and what they look like (`descriptors`, uint8 (n, 128)); for a
    low-detail picture also its `miniature` (float32 grey levels, MINIATURE_SIDE square)."""

    width: int
    height: int
    points: np.ndarray
    descriptors: np.ndarray
    miniature: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.points)

    @property
    def searchable(self) -> bool:
        """Whether similarity search has anything to go on: keypoints or a miniature."""
        return len(self) > 0 or self.miniature is not None

    def strongest(self, count: int) -> FeatureSet:
        """The first `count` keypoints (they are kept strongest first), and the miniature."""
        return FeatureSet(self.width, self.height, self.points[:count], self.descriptors[:count], self.miniature)

    def within(self, box: tuple[float, float, float, float]) -> FeatureSet:
        """The keypoints inside `box` (x, y, w, h as shares 0-1 of the picture's sides); no
        miniature, which describes the whole picture."""
        x, y, w, h = box
        px, py = self.points[:, 0] / self.width, self.points[:, 1] / self.height
        inside = (px >= x) & (px <= x + w) & (py >= y) & (py <= y + h)
        return FeatureSet(self.width, self.height, self.points[inside], self.descriptors[inside])

    def to_bytes(self) -> bytes:
        header = _HEADER.pack(_MAGIC, _VERSION, self.width, self.height, len(self))
        keypoints = np.ascontiguousarray(self.points, "<f4").tobytes() + np.ascontiguousarray(self.descriptors, np.uint8).tobytes()
        if self.miniature is None:
            return header + keypoints + _SIDE.pack(0)
        return header + keypoints + _SIDE.pack(len(self.miniature)) + np.ascontiguousarray(self.miniature, "<f2").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> FeatureSet:
        if len(data) < _HEADER.size:
            raise FeatureError("too short to be a feature set")
        magic, version, width, height, count = _HEADER.unpack_from(data)
        if magic != _MAGIC or version not in _VERSIONS:
            raise FeatureError(f"not a feature set of version {' or '.join(map(str, _VERSIONS))} (magic {magic!r}, version {version})")
        keypoints_end = _HEADER.size + count * (8 + DESCRIPTOR_BYTES)
        side = _SIDE.unpack_from(data, keypoints_end)[0] if version >= 2 and len(data) >= keypoints_end + _SIDE.size else 0
        expected = keypoints_end + (_SIDE.size + 2 * side * side if version >= 2 else 0)
        if len(data) != expected or not width or not height:
            raise FeatureError(f"damaged feature set ({len(data)} bytes, header says {expected})")
        points = np.frombuffer(data, "<f4", count * 2, _HEADER.size).reshape(count, 2)
        descriptors = np.frombuffer(data, np.uint8, count * DESCRIPTOR_BYTES, _HEADER.size + count * 8).reshape(count, DESCRIPTOR_BYTES)
        miniature = np.frombuffer(data, "<f2", side * side, keypoints_end + _SIDE.size).reshape(side, side).astype(np.float32) if side else None
        return cls(width, height, points, descriptors, miniature)


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


def detail(picture: np.ndarray) -> int:
    """How much detail a picture has, on PDQ's quality scale: the sum of the grey-level steps
    between neighbours of its 64x64 area-averaged reduction (in hundredths of the full range) / 90."""
    import cv2

    grid = cv2.resize(picture.astype(np.float32), (DETAIL_GRID, DETAIL_GRID), interpolation=cv2.INTER_AREA)
    steps = np.trunc(np.abs(np.diff(grid, axis=0)) * 100 / 255).sum() + np.trunc(np.abs(np.diff(grid, axis=1)) * 100 / 255).sum()
    return int(steps // 90)


def miniature_of(picture: np.ndarray) -> np.ndarray:
    """The whole picture area-averaged to MINIATURE_SIDE square (float32 grey levels, rounded to
    float16 as it is packed, so a computed miniature and a stored one are the same)."""
    import cv2

    return cv2.resize(picture.astype(np.float32), (MINIATURE_SIDE, MINIATURE_SIDE), interpolation=cv2.INTER_AREA).astype(np.float16).astype(np.float32)


def structure(miniature: np.ndarray) -> np.ndarray:
    """The miniature less its best-fitting plane (brightness and a linear ramp), flattened: what
    tells one smooth picture from another of the same brightness and gradient."""
    side = len(miniature)
    y, x = np.mgrid[0:side, 0:side]
    plane = np.stack([np.ones(side * side), x.ravel(), y.ravel()], axis=1)
    values = miniature.astype(np.float64).ravel()
    coefficients, *_ = np.linalg.lstsq(plane, values, rcond=None)
    return values - plane @ coefficients


def low_detail_miniature(picture: np.ndarray) -> np.ndarray | None:
    """The miniature of a low-detail picture that is not a plain ramp; None otherwise."""
    if detail(picture) >= LOW_DETAIL:
        return None
    miniature = miniature_of(picture)
    return miniature if structure(miniature).std() >= MIN_STRUCTURE else None


def kept(keypoints: Sequence[cv2.KeyPoint], count: int, fine_share: float) -> np.ndarray:
    """The numbers of the `count` keypoints kept, strongest first, at most `fine_share` of them
    from SIFT's finest octave (the picture doubled: OpenCV's octave -1), filled from it where the
    coarser octaves have too few."""
    order = np.argsort([-keypoint.response for keypoint in keypoints], kind="stable")
    if fine_share >= 1 or len(order) <= count:
        return order[:count]
    fine = np.array([(keypoints[i].octave & 0xFF) >= 0x80 for i in order])  # OpenCV packs the octave, signed, in the low byte: -1 is 0xFF
    coarse = order[~fine]
    finest = order[fine][: max(round(count * fine_share), count - len(coarse))]
    chosen = np.concatenate([finest, coarse[: count - len(finest)]])
    return order[np.isin(order, chosen)]


class LocalFeaturesSignal(SimilaritySignal):
    """SIFT keypoints of a still or a video frame, searched in the descriptor index."""

    name: ClassVar[str] = "local_features"
    index_kind: ClassVar[IndexKind] = "descriptor"
    value_kind: ClassVar[str] = "a feature set"
    compared_by: ClassVar[str] = "geometric verification"
    # Geometric verification decides, not a distance: see services/similar.py for the measured
    # inlier thresholds; this is the fewest inliers anything is reported with.
    default_threshold: ClassVar[int] = 12
    threshold_source: ClassVar[str] = "benchmarks/bench_similar.py: 0 false matches over 20,000+ unrelated pairs of benign photos"

    @classmethod
    def compute_features(cls, luma: np.ndarray, *, catalogue: bool = False) -> bytes:
        return (cls.catalogue_features(luma) if catalogue else cls.features(luma)).to_bytes()

    @classmethod
    def catalogue_features(cls, luma: np.ndarray) -> FeatureSet:
        """The keypoints a catalogued picture or frame is stored with (see the module docstring);
        a picture with few keypoints at CATALOGUE_SIDE is described at QUERY_SIDE instead, where
        it has a few more and its copies' keypoints are at the scales of its own."""
        features = cls.features(luma, CATALOGUE_POINTS, CATALOGUE_SIDE, fine_share=FINE_SHARE)
        if len(features) < FEW_POINTS and max(luma.shape) > CATALOGUE_SIDE:
            return cls.features(luma, CATALOGUE_POINTS, QUERY_SIDE)
        return features

    @classmethod
    def features(cls, luma: np.ndarray, max_points: int = QUERY_POINTS, side: int = QUERY_SIDE, *, fine_share: float = 1.0) -> FeatureSet:
        """The keypoints of a float32 luma plane reduced to `side`, strongest first, and its
        miniature when it is low-detail; none for a picture too small or too plain to have any (a
        blank picture yields an empty set, not an error). At most `fine_share` of the keypoints
        come from SIFT's finest octave (`kept`), unless the others are too few."""
        import cv2

        cv2.setNumThreads(1)  # callers parallelise by process (hashing workers): OpenCV's threads would fight them for cores
        picture = reduced(luma, side)
        height, width = picture.shape
        if min(height, width) < MIN_SIDE:
            return empty_features(width, height)
        miniature = low_detail_miniature(picture)
        candidates = max_points if fine_share >= 1 else max(max_points, CANDIDATE_POINTS)
        keypoints, descriptors = cv2.SIFT.create(nfeatures=candidates).detectAndCompute(picture, None)
        if descriptors is None or not keypoints:
            return replace(empty_features(width, height), miniature=miniature)
        order = kept(keypoints, max_points, fine_share)
        points = np.array([keypoints[i].pt for i in order], np.float32).reshape(-1, 2)
        packed = np.clip(np.rint(descriptors[order]), 0, 255).astype(np.uint8)  # OpenCV's SIFT values are whole numbers 0-255
        return FeatureSet(width, height, points, packed, miniature)
