"""What a single file may cost before it is refused, and what to compute for it.

Its own module because both the file hasher (`media/hashing.py`) and the video decoder
(`media/video.py`) read these limits, and the hasher calls the decoder: kept in either of them,
the two modules would import each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from mediamatch.media.image import MAX_PIXELS
from mediamatch.signals.vpdq import COLLAPSE_DISTANCE


@dataclass(frozen=True, slots=True)
class Limits:
    """What a single file may cost before it is refused, and what to compute for it."""

    max_file_bytes: int = 512 * 1024 * 1024
    max_pixels: int = MAX_PIXELS
    dihedral: bool = False  # also compute signals' variants, e.g. PDQ of the 8 rotations/flips (for search)
    # Videos (media/video.py): a stated or decoded length past these is refused or cut off with
    # an error, so a hostile header cannot make one file cost hours; 8K is the largest frame.
    max_video_seconds: float = 6 * 3600.0
    max_video_frames: int = 2_000_000
    max_video_pixels: int = 7680 * 4320
    max_video_bytes: int = 64 * 1024**3  # videos past max_file_bytes are streamed, not held in memory
    video_every_frame: bool = False  # hash every frame instead of one per video_seconds_per_hash
    video_seconds_per_hash: float = 1.0
    video_collapse: bool = True  # drop frames near-identical to the last one kept (signals/vpdq.py)
    video_collapse_distance: int = COLLAPSE_DISTANCE  # what "near-identical" is, in PDQ bits
    video_threads: int = 1  # decoder threads per file: a batch already keeps every core busy
    local_features: bool = False  # also compute descriptor signals (similarity search: signals/local_features.py)
    features_for_catalogue: bool = False  # ... as the catalogue stores them (coarser than a search's: signals/local_features.py)
    video_feature_seconds: float = 2.0  # a video's frames get local features this many seconds apart


DEFAULT_LIMITS = Limits()
# The catalogue hashes a known video once, densely: every frame, so a frame triage samples (one a
# second, at any offset and frame rate) has a known frame within half a frame of it. Measured on
# the ThreatExchange sample videos (benchmarks/bench_video_variants.py): a 1 frame/s sample of
# `chair-22-*` finds 83% of its frames in `chair-19-sd-bar` (the same footage at another frame
# rate) with the known video hashed every frame or 10 frames/s, 30% at 5 frames/s; the fast
# `pattern` footage needs every frame (`pattern-longer-no-bar` in `pattern-hd-no-bar`: 7 of 8
# frames every frame, 3 of 8 at 10 frames/s: one frame apart its hashes differ by 40+ bits).
# Near-repeats are collapsed at half the match radius: a dropped known frame is within 16 bits of
# one kept, so a triaged frame within 15 bits of the dropped one is still within 31 of the kept.
# Contributing also computes local features, as the catalogue stores them, for similarity search.
CATALOGUE_LIMITS = Limits(video_every_frame=True, video_collapse_distance=16, local_features=True, features_for_catalogue=True)
