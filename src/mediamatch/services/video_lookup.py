"""A whole video looked up at once: its frame hashes in the forms other tools send, and the rule
that decides, per known video, whether it is a match.

Two forms of a video's vPDQ signal are read:

- Meta's text form (ThreatExchange `vpdq`, the `sample-hashes/*.txt` files): one frame a line,
  `frame_number,quality,pdq_hex,seconds` (`signals.vpdq.parse_vpdq`);
- HMA's / python-threatexchange's JSON form (the `vpdq` extension's `vpdq_to_json`): an object
  keyed by frame number, each `{"quality": int, "hash": pdq_hex, "timestamp": seconds}`.

The rule is the caller's choice, because the two references differ: the vPDQ README asks for
80% of the KNOWN video's frames to be found in the query (a copy, or a compilation holding it:
our default), python-threatexchange's index for 80% of the QUERY's frames (a query that is
mostly known footage); `both` asks for both. Every answer carries both shares, whichever rule
decided `match`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from mediamatch.catalog.hashes import FrameHash
from mediamatch.signals.vpdq import TARGET_MATCH_SHARE, parse_vpdq

MAX_FRAMES = 36_000  # ten hours at one frame a second, as the central /query/video takes


@dataclass(frozen=True, slots=True)
class VideoAnswer:
    """One known video a queried video shares frames with: both vPDQ shares (of the query's
    usable frames found in it, of its frames found in the query), whether the request's rule
    calls that a match, and which of its frame indicators were found."""

    video: int  # the indicator of the known video's first frame (in a hash list: its video group)
    query_share: float
    known_share: float
    match: bool
    frames: tuple[int, ...]


class VideoRule(StrEnum):
    """Which share decides a video match (each at least 80%)."""

    KNOWN = "known"  # of the known video's frames: the vPDQ README (P_c)
    QUERY = "query"  # of the query's frames: python-threatexchange's VPDQ_QUERY_MATCH_THRESHOLD_PERCENT
    BOTH = "both"

    def decides(self, query_share: float, known_share: float, share: float = TARGET_MATCH_SHARE) -> bool:
        known, query = known_share >= share and known_share > 0, query_share >= share and query_share > 0
        return {VideoRule.KNOWN: known, VideoRule.QUERY: query, VideoRule.BOTH: known and query}[self]


def parse_video_signal(value: str) -> tuple[FrameHash, ...]:
    """The frames of a vPDQ video signal in Meta's text form or HMA's JSON form, in frame
    order; raises ValueError saying what is wrong (a bad line, a bad frame, too many frames)."""
    text = value.strip()
    frames = _from_json(text) if text.startswith("{") else parse_vpdq(text)
    if len(frames) > MAX_FRAMES:
        raise ValueError(f"vpdq: {len(frames)} frames; at most {MAX_FRAMES} per video")
    return frames


def _from_json(text: str) -> tuple[FrameHash, ...]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"vpdq: not JSON: {exc.msg} at character {exc.pos}") from None
    if not isinstance(document, dict) or not document:
        raise ValueError('vpdq: the JSON form is an object of frames: {"0": {"quality": 100, "hash": "...", "timestamp": 0.0}, ...}')
    frames = []
    for key, feature in document.items():
        if not str(key).isdigit() or not isinstance(feature, dict):
            raise ValueError(f"vpdq: frame {str(key)[:20]!r} must be a frame number holding an object")
        quality, pdq, seconds = feature.get("quality"), feature.get("hash"), feature.get("timestamp")
        if not isinstance(quality, int) or isinstance(quality, bool) or not 0 <= quality <= 100:
            raise ValueError(f"vpdq: frame {key}: quality must be a whole number 0-100")
        if not isinstance(pdq, str) or len(pdq) != 64 or any(c not in "0123456789abcdefABCDEF" for c in pdq):
            raise ValueError(f"vpdq: frame {key}: hash must be 64 hex digits")
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            raise ValueError(f"vpdq: frame {key}: timestamp must be seconds (a number >= 0)")
        frames.append(FrameHash(int(key), float(seconds), pdq.lower(), quality))
    return tuple(sorted(frames, key=lambda frame: frame.number))
