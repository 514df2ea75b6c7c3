"""vPDQ: Meta's video signal, the PDQ hashes of sampled frames, compared as a bag of frames.

The signal "vpdq" is ONE frame hash (64 hex, as PDQ): what the catalogue stores, hash lists
carry and platforms report. A whole video is its frames; Meta's text form of them (facebook/
ThreatExchange vpdq/cpp `vpdqio`, the `sample-hashes/*.txt` files: one frame a line,
`frame_number,quality,pdq_hex,seconds`, seconds with 3 decimals) is read and written by
`parse_vpdq` and `format_vpdq`, so frame lists from Meta's tools and ours are interchangeable.

Matching is the reference's rule (vpdq/README.md, "Comparison (Matching) Algorithm"): drop
frames of quality below 50, keep each distinct hash once, count the query's frames with a frame
of the target within PDQ distance 31, and the target's frames with one in the query. A video
matches when at least 80% of the target's (the catalogue video's) frames are matched; the
query's share is reported too, 0% required by default, so a known clip inside a longer upload
still matches. (The C++ `matchTwoHashBrute` and the Python binding's matcher compare with
`< 31`; the README's algorithm says `<= 31`, as PDQ's own threshold does: we follow the README.)

Frame variants. The reference hash of a frame changes with what surrounds the picture: the same
footage with letterbox or pillarbox bars (SD cuts of HD footage) and without shares no frame
within the radius, and neither does a copy with a large logo over it. Each frame therefore has
extra hashes (FRAME_VARIANTS, computed in media/video.py `frame_variants`): the frame inside its
bars, and the top, bottom, left and right halves of what it shows (a logo in a corner spoils two
halves, not the other two; one over the middle of the top, the top half only). They
are stored as rows of their own signal names (`variant_signal`), which no hash list or exchange
export carries: what leaves the catalogue stays the reference's hashes. A frame or its
borderless picture matches a frame or borderless picture; a half matches the same half.

Frames are compared with numpy (XOR and popcount over 64-bit words), not one pair at a time in
Python, a block of rows at a time so memory stays bounded for hour-long videos.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from mediamatch.catalog.hashes import FrameHash
from mediamatch.signals.base import ComputesFrom, IndexKind, MediaKind, SignalType
from mediamatch.signals.pdq import MATCH_THRESHOLD, MIN_QUALITY, PDQSignal

THRESHOLD_SOURCE = (
    "ThreatExchange vpdq/README.md matching algorithm: frames match at PDQ distance <= 31, "
    "frames of quality < 50 ignored, a match needs 80% of the target's frames (P_c), 0% of the query's (P_q)"
)
TARGET_MATCH_SHARE = 0.80  # P_c in the vPDQ README: how much of the catalogue video must be found
QUERY_MATCH_SHARE = 0.0  # P_q in the vPDQ README: 0 = extra content in the upload does not matter
# Collapsing ("Pruning Frames" in the vPDQ README): a frame within COLLAPSE_DISTANCE of the last
# frame KEPT is dropped, so a still scene keeps one frame and a slow drift still keeps one every
# few steps. 8 is a quarter of the match radius. Measured on the 14 ThreatExchange sample videos
# (all 196 pairs): hashing every frame it drops 19% of frames, changes a match share by at most
# 0.062 and no match decision; at one frame a second it drops almost nothing (0.2% change).
COLLAPSE_DISTANCE = 8
FRAME_VARIANTS = ("borderless", "top", "bottom", "left", "right")
#: Which stored frame hashes a hash may match: the whole picture with or without bars, or the same half.
#: Variants match within the same radius as frames (MATCH_THRESHOLD, THRESHOLD_SOURCE). Measured on
#: the ThreatExchange sample videos, every frame hashed: `doorknob-hd-no-bar` stays 76 bits or more
#: from any hash of the same family of the 12 chair and pattern videos (closest: a right half of
#: `chair-22-with-large-logo-bar`), while their own variants match across bars, logos and grey.
VARIANT_FAMILIES: dict[str, tuple[str, ...]] = {"": ("", "borderless"), **{half: (half,) for half in FRAME_VARIANTS[1:]}}
_BLOCK = 512  # query rows compared at once: 512 x n x 4 words of 8 bytes

_LINE = re.compile(r"\s*(\d+)\s*,\s*(\d+)\s*,\s*([0-9a-fA-F]{64})\s*,\s*([0-9]+(?:\.[0-9]*)?)\s*")


@dataclass(frozen=True, slots=True)
class VideoMatch:
    """How much of each video the other contains (shares 0-1 of distinct, usable frames)."""

    query_matched: float
    target_matched: float

    def is_match(self, target_share: float = TARGET_MATCH_SHARE, query_share: float = QUERY_MATCH_SHARE) -> bool:
        return self.target_matched >= target_share and self.query_matched >= query_share and self.target_matched > 0


def variant_family(variant: str) -> str:
    """The family (VARIANT_FAMILIES) of a frame variant: "" for the frame and its borderless picture."""
    return next(family for family, members in VARIANT_FAMILIES.items() if variant in members)


def variant_signal(frame_signal: str, variant: str) -> str:
    """The stored signal name of a frame variant ("vpdq-borderless"); the frame's own hash for ""."""
    return f"{frame_signal}-{variant}" if variant else frame_signal


def parse_vpdq(text: str) -> tuple[FrameHash, ...]:
    """Frames from the reference's text form; raises ValueError naming the first bad line."""
    if not isinstance(text, str):  # ValueError, as SignalType.validate: callers catch one kind
        raise ValueError(f"vpdq: expected text, got {type(text).__name__}")  # noqa: TRY004
    frames: list[FrameHash] = []
    for number, line in enumerate(text.strip().splitlines(), 1):
        found = _LINE.fullmatch(line)
        if not found:
            raise ValueError(f"vpdq: line {number} is not 'frame,quality,pdq_hex,seconds': {line[:100]!r}")
        frame, quality, pdq, seconds = found.groups()
        if int(quality) > 100:
            raise ValueError(f"vpdq: line {number}: quality {quality} is over 100")
        if frames and int(frame) <= frames[-1].number:
            raise ValueError(f"vpdq: line {number}: frame {frame} does not follow frame {frames[-1].number}")
        frames.append(FrameHash(int(frame), float(seconds), pdq.lower(), int(quality)))
    if not frames:
        raise ValueError("vpdq: no frames")
    return tuple(frames)


def format_vpdq(frames: Iterable[FrameHash]) -> str:
    """The reference's text form, as its `vpdq-hash-video` writes it (seconds to 3 decimals)."""
    return "\n".join(f"{f.number},{f.quality},{f.pdq},{f.timestamp:.3f}" for f in frames)


def collapse(frames: Iterable[FrameHash], within: int = COLLAPSE_DISTANCE) -> Iterator[FrameHash]:
    """The first frame of each run of near-identical frames (see COLLAPSE_DISTANCE), each frame
    variant thinned the same way on its own: a frame is kept while its hash or one of its
    variants' still moves, with only the variants that moved."""
    kept: dict[str, int] = {}
    for frame in frames:
        value = int(frame.pdq, 16)
        moved = "" not in kept or (value ^ kept[""]).bit_count() > within
        variants = tuple(variant for variant in frame.variants if variant[0] not in kept or (int(variant[1], 16) ^ kept[variant[0]]).bit_count() > within)
        if moved or variants:
            if moved:
                kept[""] = value
            kept.update((name, int(pdq, 16)) for name, pdq, _ in variants)
            yield replace(frame, variants=variants)


def _usable(frames: Sequence[FrameHash], quality: int) -> np.ndarray:
    distinct = sorted({f.pdq for f in frames if f.quality >= quality})
    if not distinct:
        return np.zeros((0, 4), np.uint64)
    return np.frombuffer(bytes.fromhex("".join(distinct)), np.uint64).reshape(-1, 4)


def _matched(rows: np.ndarray, columns: np.ndarray, distance: int) -> tuple[np.ndarray, np.ndarray]:
    """Which rows have a column within `distance`, and which columns have a row."""
    row_hit = np.zeros(len(rows), bool)
    column_hit = np.zeros(len(columns), bool)
    for start in range(0, len(rows), _BLOCK):
        block = rows[start : start + _BLOCK]
        near = np.bitwise_count(block[:, None, :] ^ columns[None, :, :]).sum(axis=2, dtype=np.int32) <= distance
        row_hit[start : start + _BLOCK] = near.any(axis=1)
        column_hit |= near.any(axis=0)
    return row_hit, column_hit


def match_videos(query: Sequence[FrameHash], target: Sequence[FrameHash], distance: int = MATCH_THRESHOLD, quality: int = MIN_QUALITY) -> VideoMatch:
    """vPDQ's comparison: the share of the query's frames found in the target and vice versa.

    Both shares count distinct hashes of quality >= `quality`; a frame is found when the other
    video has a frame within PDQ `distance`. Frame order and timestamps play no part (the
    reference treats a video as a bag of frames)."""
    rows, columns = _usable(query, quality), _usable(target, quality)
    if not len(rows) or not len(columns):
        return VideoMatch(0.0, 0.0)
    row_hit, column_hit = _matched(rows, columns, distance)
    return VideoMatch(float(row_hit.mean()), float(column_hit.mean()))


class VPDQSignal(SignalType):
    """The hash of one video frame (its PDQ hash): what the catalogue stores for a known video
    (one row per distinct frame, with its time), what hash lists carry and what a platform
    reports a hit on. A frame matches another as a PDQ hash does (distance <= 31); whether two
    VIDEOS match is `match_videos` over their frames (the README's bag-of-frames rule), and
    Meta's whole-video text form is read and written by `parse_vpdq` / `format_vpdq`."""

    name: ClassVar[str] = "vpdq"
    index_kind: ClassVar[IndexKind] = "hamming"
    bits: ClassVar[int] = 256
    media_kinds: ClassVar[frozenset[MediaKind]] = frozenset({"video_frame"})
    computes_from: ClassVar[ComputesFrom | None] = "frame"
    default_threshold: ClassVar[int] = MATCH_THRESHOLD
    threshold_source: ClassVar[str] = THRESHOLD_SOURCE
    min_quality: ClassVar[int] = MIN_QUALITY

    @classmethod
    def compute_luma(cls, luma: np.ndarray) -> tuple[str, int | None]:
        return PDQSignal.compute_luma(luma)

    @classmethod
    def examples(cls) -> list[str]:
        # First frames of two unrelated ThreatExchange sample videos, as the reference hashed
        # them (vpdq/sample-hashes/chair-19-sd-bar.txt and doorknob-hd-no-bar.txt).
        return [
            "e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c",
            "dadb999c25266273529cadac89cb52c22324ad3bce99726c38668d93c799f07c",
        ]
