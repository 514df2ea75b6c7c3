"""What a single file may cost before it is refused, and what to compute for it.

Its own module because both the file hasher (`media/hashing.py`) and the video decoder
(`media/video.py`) read these limits, and the hasher calls the decoder: kept in either of them,
the two modules would import each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from mediamatch.media.image import MAX_PIXELS


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
    video_threads: int = 1  # decoder threads per file: a batch already keeps every core busy
    local_features: bool = False  # also compute descriptor signals (similarity search: signals/local_features.py)
    video_feature_seconds: float = 2.0  # a video's frames get local features this many seconds apart


DEFAULT_LIMITS = Limits()
# What contributing to the catalogue computes: local features too, for similarity search.
CATALOGUE_LIMITS = Limits(local_features=True)
