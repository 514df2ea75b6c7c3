"""Geometric verification: do the keypoints two pictures share line up as one picture would?

Nearest descriptors alone match noise (a brick wall resembles every brick wall); what makes a
copy is that many shared keypoints move together. RANSAC (OpenCV) fits two models to the
candidate pairs, known picture -> searched picture:

- a similarity (rotation, uniform scale, shift: `estimateAffinePartial2D`), which is how a crop,
  a rotated, resized or pasted copy, or a screenshot relates to the original;
- a homography (`findHomography`, MAGSAC++), which also explains another view of the same
  plane: the same room or object photographed from a little further to the side.

The verdict (thresholds measured by benchmarks/bench_similar.py on benign photos):

- `contains`: the searched picture contains (part of) the known picture: at least
  CONTAINS_INLIERS pairs agree on a plausible similarity, and agree tightly: refitted within
  TIGHT_PX, at least TIGHT_SHARE of them still agree, as they do for a copy (only resampling
  moves its keypoints) and do not for another photograph of the scene (perspective moves them);
- `related`: at least RELATED_INLIERS pairs agree on a plausible homography, but not as a copy;
- None: nothing to report.

Regions are polygons in shares (0-1) of each picture's width and height: where the known
picture lies in the searched one, and which part of the known picture is present.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

CONTAINS: Final = "contains"
RELATED: Final = "related"
Relation = Literal["contains", "related"]

MIN_PAIRS = 8
REPROJECTION_PX = 6.0  # in the searched picture as reduced (QUERY_SIDE on the long side)
TIGHT_PX = 2.0
CONTAINS_INLIERS = 12
TIGHT_SHARE = 0.85
RELATED_INLIERS = 12
MIN_SCALE, MAX_SCALE = 0.15, 8.0  # a copy shown between 15% and 800% of the searched picture's width (Alignment.scale)
MIN_SPREAD = 0.02  # inliers covering under 2% of the known picture are one patch, not a picture
RANSAC_ITERATIONS = 2000
Polygon = tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class Alignment:
    """How a known picture sits in a searched one."""

    relation: Relation
    inliers: int
    known_share: float  # share of the known picture's area present in the searched picture
    query_region: Polygon  # the known picture's part, in the searched picture
    known_region: Polygon  # the part of the known picture present
    rotation: float  # degrees, counter-clockwise as seen
    # The known picture's width as shown in the searched picture, as a share of the searched
    # picture's width: 0.4 for a picture pasted at 40% of a host's width, over 1 for a crop. In
    # shares, not pixels, because the two pictures were reduced to different sizes
    # (signals/local_features.py) and neither original size travels with its keypoints.
    scale: float

    @property
    def transform(self) -> str:
        """The alignment in words, e.g. "rotated 10°, 40% of the picture's width, 100% of the
        known picture" (the width only where the known picture is shown smaller than the frame)."""
        parts = []
        if abs(self.rotation) >= 1:
            parts.append(f"rotated {self.rotation:.0f}°")
        if self.scale <= 0.95:
            parts.append(f"{self.scale:.0%} of the picture's width")
        parts.append(f"{self.known_share:.0%} of the known picture")
        return ", ".join(parts)


def verify(query_points: np.ndarray, known_points: np.ndarray, query_size: tuple[int, int], known_size: tuple[int, int]) -> Alignment | None:
    """The alignment of candidate pairs (`query_points[i]` <-> `known_points[i]`, float32 (n, 2)
    in the reduced pictures of `query_size` and `known_size` (width, height))."""
    import cv2

    if len(query_points) < MIN_PAIRS:
        return None
    known = np.ascontiguousarray(known_points, np.float32)
    query = np.ascontiguousarray(query_points, np.float32)
    similarity, mask = cv2.estimateAffinePartial2D(
        known, query, method=cv2.RANSAC, ransacReprojThreshold=REPROJECTION_PX, maxIters=RANSAC_ITERATIONS, confidence=0.995
    )
    if similarity is not None and mask is not None:
        inliers = mask.ravel().astype(bool)
        aligned = _aligned(similarity, known[inliers], query[inliers], known_size, query_size)
        if aligned is not None:
            return aligned
    homography, hmask = cv2.findHomography(known, query, cv2.USAC_MAGSAC, REPROJECTION_PX, maxIters=RANSAC_ITERATIONS, confidence=0.995)
    if homography is None or hmask is None:
        return None
    inliers = hmask.ravel().astype(bool)
    count = int(inliers.sum())
    if count < RELATED_INLIERS or _spread(known[inliers], known_size) < MIN_SPREAD or not _plausible_homography(homography, known_size, query_size):
        return None
    return _alignment(RELATED, count, homography, known_size, query_size)


def _aligned(similarity: np.ndarray, known: np.ndarray, query: np.ndarray, known_size: tuple[int, int], query_size: tuple[int, int]) -> Alignment | None:
    """`contains` when the similarity's inliers pass the tests of a copy, else None."""
    import cv2

    count = len(known)
    scale = _width_share(math.hypot(similarity[0, 0], similarity[1, 0]), known_size, query_size)
    if count < CONTAINS_INLIERS or not MIN_SCALE <= scale <= MAX_SCALE or _spread(known, known_size) < MIN_SPREAD:
        return None
    _, tight = cv2.estimateAffinePartial2D(known, query, method=cv2.RANSAC, ransacReprojThreshold=TIGHT_PX, maxIters=RANSAC_ITERATIONS, confidence=0.995)
    if tight is None or int(tight.sum()) < TIGHT_SHARE * count:
        return None
    return _alignment(CONTAINS, count, np.vstack([similarity, [0.0, 0.0, 1.0]]), known_size, query_size)


def _alignment(relation: Relation, inliers: int, homography: np.ndarray, known_size: tuple[int, int], query_size: tuple[int, int]) -> Alignment | None:
    import cv2

    known_box = _box(known_size)
    query_box = _box(query_size)
    in_query = cv2.perspectiveTransform(known_box[None], homography)[0]
    try:
        back = cv2.perspectiveTransform(query_box[None], np.linalg.inv(homography))[0]
    except np.linalg.LinAlgError:
        return None
    shown, query_part = _clip(in_query, query_box)
    present, known_part = _clip(back, known_box)
    known_area = known_size[0] * known_size[1]
    if not present or not shown:
        return None
    rotation = -math.degrees(math.atan2(homography[1, 0], homography[0, 0]))
    scale = _width_share(math.sqrt(abs(np.linalg.det(homography[:2, :2]))), known_size, query_size)
    return Alignment(
        relation=relation,
        inliers=inliers,
        known_share=round(min(1.0, present / known_area), 3),
        query_region=_shares(query_part, query_size),
        known_region=_shares(known_part, known_size),
        rotation=round(rotation, 1),
        scale=round(scale, 3),
    )


def _width_share(scale: float, known_size: tuple[int, int], query_size: tuple[int, int]) -> float:
    """A scale between the reduced pictures as a share of the searched picture's width (Alignment.scale)."""
    return scale * known_size[0] / query_size[0]


def _box(size: tuple[int, int]) -> np.ndarray:
    width, height = size
    return np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)


def _clip(polygon: np.ndarray, box: np.ndarray) -> tuple[float, np.ndarray]:
    """(area, polygon) of `polygon` clipped to the rectangle `box`."""
    import cv2

    area, clipped = cv2.intersectConvexConvex(np.ascontiguousarray(polygon, np.float32), box)
    if clipped is None or area <= 0:
        return 0.0, np.zeros((0, 2), np.float32)
    return float(area), clipped.reshape(-1, 2)


def _shares(polygon: np.ndarray, size: tuple[int, int]) -> Polygon:
    width, height = size
    return tuple((round(float(x) / width, 4), round(float(y) / height, 4)) for x, y in polygon)


def _spread(points: np.ndarray, size: tuple[int, int]) -> float:
    """Share of the picture's area the points' bounding box covers."""
    if len(points) < 2:
        return 0.0
    span = points.max(axis=0) - points.min(axis=0)
    return float(span[0] * span[1]) / (size[0] * size[1])


def _plausible_homography(homography: np.ndarray, known_size: tuple[int, int], query_size: tuple[int, int]) -> bool:
    """A view a camera could take: the known rectangle stays convex, keeps its orientation and is
    neither crushed nor blown up."""
    import cv2

    corners = cv2.perspectiveTransform(_box(known_size)[None], homography)[0]
    if not cv2.isContourConvex(corners.astype(np.float32)):
        return False
    if np.linalg.det(homography[:2, :2]) <= 0:
        return False
    scale = _width_share(math.sqrt(abs(cv2.contourArea(corners)) / (known_size[0] * known_size[1])), known_size, query_size)
    return MIN_SCALE <= scale <= MAX_SCALE
