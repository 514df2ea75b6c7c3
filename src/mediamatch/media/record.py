"""What hashing one file yields: its signals, or why it could not be hashed.

A failed file is a record, not an exception, so a batch of a million files always produces a
million rows (see DESIGN.md, style rule 3).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class BytesSource:
    """A file that is not on disk as itself, e.g. a member of a zip or tar archive."""

    name: str
    data: bytes


@dataclass(frozen=True, slots=True)
class FrameHash:
    """The PDQ hash of one video frame: which frame (numbered as vPDQ counts them), when."""

    number: int
    timestamp: float  # seconds from the start of the video
    pdq: str
    quality: int


@dataclass(frozen=True, slots=True)
class HashRecord:
    """One file's hashes. Hex strings are lower-case; `error` is None on success.

    `pdq` is None for files that are not images (cryptographic hashes are still given), and
    `note` says what was done that a reader should know (e.g. "animated: first of 12 frames").
    """

    path: str
    size: int | None = None
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    width: int | None = None
    height: int | None = None
    media_type: str | None = None
    error: str | None = None
    note: str | None = None
    pdq_dihedral: tuple[str, ...] = ()  # the 8 rotations/flips (DIHEDRAL_NAMES order), on request
    frames: tuple[FrameHash, ...] = ()  # a video's sampled frames, consecutive near-repeats collapsed
    duration: float | None = None  # seconds, for a video

    def to_json(self) -> dict[str, Any]:
        fields = asdict(self)
        if not self.pdq_dihedral:
            del fields["pdq_dihedral"]
        if not self.frames and self.duration is None:  # not a video
            del fields["frames"], fields["duration"]
        return fields


Source = str | Path | BytesSource
