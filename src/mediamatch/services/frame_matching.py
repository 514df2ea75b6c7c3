"""From PDQ hits of single frames and stills to what an investigator reads: which known item,
where in each video, and for two videos how much of each the other covers.

The catalogue holds PDQ indexes of stills (ids are media ids) and of video frames (ids are
`media_signals` rows, so a hit says which frame, hence when; one index per family of frame
hashes, signals/vpdq.py VARIANT_FAMILIES). A triaged file's PDQ hashes are searched in them,
so one search finds all four cases: still-to-still, a still inside a known video
(image-to-video), a frame of a seized video that is a known still (video-to-image), and
video-to-video, which keeps vPDQ's rule: a match needs enough of one video to be found in the
other (`is_video_match`).

How much is "enough" is counted in time, not in frame hashes, because the two sides are
sampled differently: the catalogue hashes a video densely once (`CATALOGUE_SECONDS_PER_HASH`,
media/video.py), so that a frame sampled anywhere in a copy at another frame rate has a known
frame close to it in time, while triage and streams sample one frame a second. Counting known
frame hashes found would then never reach vPDQ's 80% (a triaged frame a second against ten
known frames a second), and counting every known frame within the radius would let one triaged
frame of a still scene vouch for many. So each triaged frame counts once, for its nearest known
frame (`Evidence.nearest`), and the known video's share is the share of its seconds
(SHARE_SLOT_SECONDS) that some triaged frame's nearest known frame falls in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from mediamatch.signals.vpdq import QUERY_MATCH_SHARE, TARGET_MATCH_SHARE

#: Frames further apart than this (seconds) start a new range. Twice the default sampling
#: interval of one frame per second, so one missed sample does not split a range in two.
RANGE_GAP_SECONDS = 2.0
#: The unit a known video's share is counted in: triage samples one frame per second
#: (media/limits.py `video_seconds_per_hash`), so it can show at most one frame of each second
#: of a known video, however densely that video was catalogued.
SHARE_SLOT_SECONDS = 1.0


def time_ranges(times: Iterable[float], max_gap: float = RANGE_GAP_SECONDS) -> tuple[tuple[float, float], ...]:
    """Sorted timestamps merged into (start, end) ranges; a lone frame is (t, t)."""
    ranges: list[list[float]] = []
    for moment in sorted(set(times)):
        if ranges and moment - ranges[-1][1] <= max_gap:
            ranges[-1][1] = moment
        else:
            ranges.append([moment, moment])
    return tuple((round(start, 3), round(end, 3)) for start, end in ranges)


def time_slots(times: Iterable[float]) -> set[int]:
    """The seconds (SHARE_SLOT_SECONDS) that frames at `times` fall in."""
    return {math.floor(moment / SHARE_SLOT_SECONDS) for moment in times}


@dataclass(slots=True)
class Evidence:
    """Everything one triaged file has shown to match one catalogue item so far."""

    distance: int
    signal: str
    transform: str = ""
    query_times: set[float] = field(default_factory=set)  # where in the triaged video
    known_times: set[float] = field(default_factory=set)  # where in the known video
    # triaged frame number -> (distance, time) of its closest known frame, for video-to-video
    nearest: dict[int, tuple[int, float]] = field(default_factory=dict)

    def closer(self, distance: int, signal: str, transform: str = "") -> None:
        """Keep the closest distance, and the signal and transform that gave it."""
        if distance < self.distance:
            self.distance, self.signal, self.transform = distance, signal, transform

    def frame_hit(self, frame: int, query_time: float, distance: int, known_time: float) -> None:
        """A frame of the triaged video is within the radius of a known frame."""
        self.query_times.add(query_time)
        self.known_times.add(known_time)
        best = self.nearest.get(frame)
        if best is None or (distance, known_time) < best:
            self.nearest[frame] = (distance, known_time)


def video_shares(evidence: Evidence, query_frames: int, known_slots: int) -> tuple[float, float]:
    """(share of the triaged video's usable frames found in the known one, share of the known
    video's seconds with usable frames that its nearest frames cover)."""
    covered = time_slots(known for _, known in evidence.nearest.values())
    return (
        len(evidence.nearest) / query_frames if query_frames else 0.0,
        min(1.0, len(covered) / known_slots) if known_slots else 0.0,
    )


def is_video_match(query_share: float, known_share: float) -> bool:
    """vPDQ's rule (most of the known video is found in the triaged one: a copy, or a
    compilation that contains it), and the same rule the other way round: a triaged video that
    is mostly known footage is a cut of a known video, which an investigator must see too."""
    reference = known_share >= TARGET_MATCH_SHARE and query_share >= QUERY_MATCH_SHARE and known_share > 0
    return reference or query_share >= TARGET_MATCH_SHARE
