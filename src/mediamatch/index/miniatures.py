"""Low-detail pictures found by their miniatures, where keypoints and PDQ see nothing.

A smooth gradient, a dark sky, a soft-light portrait or a blurred photo has few stable keypoints,
and PDQ's bits are noise under its quality 50; but resizing and re-encoding such a picture barely
changes its miniature (signals/local_features.py: the whole picture area-averaged to 16x16 grey
levels). The catalogue's miniatures are held in an exact FAISS index (`IDMap2,Flat`, L2: the
nearest miniatures of a searched picture's), and each candidate is then decided by `resemblance`:

- the miniatures differ by at most MAX_RMS grey levels (root mean square over the cells);
- their structures (each less its best-fitting plane: what is left once brightness and a ramp
  are removed) correlate at MIN_CORRELATION or more;
- their aspect ratios agree within MAX_ASPECT_CHANGE (the miniature ignores it).

Measured on 1,010 low-detail pictures (photos of ../shared/testdata/photos darkened to 10% and
20% or blurred and darkened, and generated ones), each with four copies, catalogue and
never-catalogued halves split by source photo (1,988 searched copies of never-catalogued
pictures x 513 catalogued: about a million unrelated pairs). Copies resized to 60% and
re-encoded at JPEG quality 70 differ by at most 0.92 grey levels with structures correlating at
0.97 or more; harsher copies (25% at quality 40, 50% at quality 30, 90% at quality 20) up to 1.9
and down to 0.80. Unrelated pictures come closest among photos of star fields darkened to 10%
(a round bright blob centred on black): as close as 0.9 grey levels, structures correlating up
to 0.99. At these thresholds no unrelated pair passed, and copies were found: 60%/q70 1.00, 25%/q40
0.90, 50%/q30 0.88, 90%/q20 0.80 (at 1.5 grey levels and 0.9, 0.97-0.99 but 67 false matches).
Pictures that are plain ramps have no miniature (MIN_STRUCTURE in signals/local_features.py), so
two cloudless skies are never compared.

Why exact and why a file: only low-detail pictures have a miniature, 1 KiB each (256 float32 and an
id), so 100,000 of them are an exact scan of 100 MB in 4 ms (one core, measured), with no
codebooks to train. The index is saved beside the descriptor index (services/similar.py) rather than
rebuilt from the catalogue's rows at each start, which would read every row's keypoints (6 KiB
each) to find the few miniatures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mediamatch.index.faiss_files import FaissFile, faiss, read_index
from mediamatch.index.verify import CONTAINS, Alignment
from mediamatch.signals.local_features import MINIATURE_SIDE, FeatureSet, structure

DIMENSIONS = MINIATURE_SIDE * MINIATURE_SIDE
MAX_RMS = 1.2  # grey levels (see the module's docstring for the measurements)
MIN_CORRELATION = 0.97
MAX_ASPECT_CHANGE = 0.04  # copies: under 1%
DUPLICATE_RMS = 0.5  # grey levels: others this close to the nearest passing candidate are reported too (the same picture catalogued twice)
NEIGHBOURS = 5
WHOLE: tuple[tuple[float, float], ...] = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))


class MiniatureIndex(FaissFile):
    """Miniatures by feature row id, searched exactly by L2."""

    @classmethod
    def empty(cls) -> MiniatureIndex:
        module = faiss()
        return cls(module.IndexIDMap2(module.IndexFlatL2(DIMENSIONS)))

    def add(self, rows: list[tuple[int, FeatureSet]]) -> int:
        """Add the miniatures of those (row id, features) that have one; returns how many."""
        found = [(row, features.miniature) for row, features in rows if features.miniature is not None]
        if found:
            vectors = np.stack([miniature.reshape(DIMENSIONS) for _, miniature in found]).astype(np.float32)
            self.index.add_with_ids(vectors, np.array([row for row, _ in found], np.int64))
        return len(found)

    def nearest(self, miniature: np.ndarray, neighbours: int = NEIGHBOURS) -> list[tuple[int, float]]:
        """(row id, RMS difference in grey levels) of the nearest miniatures, nearest first."""
        if not len(self):
            return []
        squared, ids = self.index.search(np.ascontiguousarray(miniature, np.float32).reshape(1, DIMENSIONS), neighbours)
        return [(int(row), math.sqrt(max(0.0, float(total)) / DIMENSIONS)) for row, total in zip(ids[0], squared[0]) if row >= 0]

    @classmethod
    def load(cls, path: Path) -> MiniatureIndex:
        return cls(read_index(path, "miniature index", DIMENSIONS, faiss().METRIC_L2))


@dataclass(frozen=True, slots=True)
class Resemblance:
    """How closely two low-detail pictures' miniatures agree."""

    rms: float  # grey levels
    correlation: float  # of their structures


def resemblance(query: FeatureSet, known: FeatureSet) -> Resemblance | None:
    """The resemblance of two pictures' miniatures when it is a copy's (see the module's
    docstring), else None."""
    a, b = query.miniature, known.miniature
    if a is None or b is None or a.shape != b.shape:
        return None
    if abs(math.log((query.width * known.height) / (query.height * known.width))) > math.log1p(MAX_ASPECT_CHANGE):
        return None
    rms = float(np.sqrt(np.mean((a.astype(np.float64) - b) ** 2)))
    if rms > MAX_RMS:
        return None
    sa, sb = structure(a), structure(b)
    correlation = float(sa @ sb / (np.linalg.norm(sa) * np.linalg.norm(sb) or 1.0))
    return Resemblance(round(rms, 2), round(correlation, 3)) if correlation >= MIN_CORRELATION else None


@dataclass(frozen=True, slots=True)
class WholePicture(Alignment):
    """A known low-detail picture found whole by its miniature: no keypoints to align, so the
    regions are both whole pictures and `transform` says what the evidence is."""

    rms: float = 0.0

    @property
    def transform(self) -> str:
        return f"whole picture, low detail: miniatures differ by {self.rms:.1f} grey levels"


def whole_picture(query: FeatureSet, known: FeatureSet, found: Resemblance) -> WholePicture:
    return WholePicture(
        relation=CONTAINS,
        inliers=0,
        known_share=1.0,
        query_region=WHOLE,
        known_region=WHOLE,
        rotation=0.0,
        scale=1.0,  # the whole known picture spans the whole searched one
        rms=found.rms,
    )
