"""From PDQ hits of single frames and stills to what an investigator reads: which known item,
where in each video, and for two videos how much of each the other covers.

The catalogue holds two PDQ indexes: stills (ids are media ids) and video frames (ids are
`media_signals` rows, so a hit says which frame, hence when). A triaged file's PDQ hashes are
searched in both, so one search finds all four cases: still-to-still, a still inside a known
video (image-to-video), a frame of a seized video that is a known still (video-to-image), and
video-to-video, which keeps vPDQ's rule: a match needs enough of the frames of one video to
be found in the other (`is_video_match`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from mediamatch.signals.vpdq import QUERY_MATCH_SHARE, TARGET_MATCH_SHARE

#: Frames further apart than this (seconds) start a new range. Twice the default sampling
#: interval of one frame per second, so one missed sample does not split a range in two.
RANGE_GAP_SECONDS = 2.0


def time_ranges(times: Iterable[float], max_gap: float = RANGE_GAP_SECONDS) -> tuple[tuple[float, float], ...]:
    """Sorted timestamps merged into (start, end) ranges; a lone frame is (t, t)."""
    ranges: list[list[float]] = []
    for moment in sorted(set(times)):
        if ranges and moment - ranges[-1][1] <= max_gap:
            ranges[-1][1] = moment
        else:
            ranges.append([moment, moment])
    return tuple((round(start, 3), round(end, 3)) for start, end in ranges)


@dataclass(slots=True)
class Evidence:
    """Everything one triaged file has shown to match one catalogue item so far."""

    distance: int
    signal: str
    transform: str = ""
    query_times: set[float] = field(default_factory=set)  # where in the triaged video
    known_times: set[float] = field(default_factory=set)  # where in the known video
    query_frames: set[int] = field(default_factory=set)  # which triaged frames found it
    known_rows: set[int] = field(default_factory=set)  # which known frames were found

    def closer(self, distance: int, signal: str, transform: str = "") -> None:
        """Keep the closest distance, and the signal and transform that gave it."""
        if distance < self.distance:
            self.distance, self.signal, self.transform = distance, signal, transform


def video_shares(evidence: Evidence, query_frames: int, known_frames: int) -> tuple[float, float]:
    """(share of the triaged video's usable frames found in the known one, and the reverse)."""
    return (
        len(evidence.query_frames) / query_frames if query_frames else 0.0,
        len(evidence.known_rows) / known_frames if known_frames else 0.0,
    )


def is_video_match(query_share: float, known_share: float) -> bool:
    """vPDQ's rule (most of the known video is found in the triaged one: a copy, or a
    compilation that contains it), and the same rule the other way round: a triaged video that
    is mostly known footage is a cut of a known video, which an investigator must see too."""
    reference = known_share >= TARGET_MATCH_SHARE and query_share >= QUERY_MATCH_SHARE and known_share > 0
    return reference or query_share >= TARGET_MATCH_SHARE
