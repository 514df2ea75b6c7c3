"""What hashing one file yields: its signals, or why it could not be hashed.

A failed file is a record, not an exception, so a batch of a million files always produces a
million rows (see DESIGN.md, style rule 3). These are plain values below `signals/`: a record
holds whatever signals the registry computed, by name, so a new signal needs no new field here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# `Match.transform` of a hit by the picture as a viewer shows it (EXIF orientation applied), not
# as its file stores it; the label a report shows for it.
DISPLAYED = "displayed"
DISPLAYED_LABEL = "as displayed (turned as its EXIF orientation says)"


@dataclass(frozen=True, slots=True)
class BytesSource:
    """A file that is not on disk as itself, e.g. a member of a zip or tar archive."""

    name: str
    data: bytes


@dataclass(frozen=True, slots=True, weakref_slot=True)
class SpooledSource:
    """A file that is not on disk as itself and too large to pass between processes in memory
    (an archive member past media/spool.SPOOL_BYTES): its bytes encrypted in a temporary file
    under a key that exists only in memory, read back by `media.spool.read_spooled`. The file
    is removed when the process that spooled it drops its last reference to this record."""

    name: str
    path: Path
    size: int
    key: bytes = field(repr=False)
    nonce: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class FrameHash:
    """The frame hash ("vpdq": the PDQ hash) of one video frame: which frame (numbered as vPDQ
    counts them), when; and the frame's extra hashes (signals/vpdq.py FRAME_VARIANTS) as
    (variant, PDQ hex, quality), which only this catalogue stores and searches."""

    number: int
    timestamp: float  # seconds from the start of the video
    pdq: str
    quality: int
    variants: tuple[tuple[str, str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Features:
    """The packed local features (a descriptor signal's `FeatureSet.to_bytes()`) of a picture,
    or of one video frame at `timestamp` seconds. Computed only when a similarity search asks
    (`Limits.local_features`), and never part of `to_json`: they stay with investigators."""

    signal: str
    data: bytes
    timestamp: float | None = None


@dataclass(frozen=True, slots=True)
class HashRecord:
    """One file's hashes. Values are canonical (lower-case hex); `error` is None on success.

    `signals` maps a signal's name to its value, for the signals that apply to this file (a
    perceptual image hash is absent for a file that is not an image); `qualities` the quality a
    signal gave its value, where it has one; `variants` the values of rotated/flipped copies
    (PDQ's 8 dihedral hashes), on request. `note` says what was done that a reader should know
    (e.g. "animated: first of 12 frames").

    A picture's values are of its pixels as stored, as the PDQ reference and the tools built on
    it (python-threatexchange, HMA) compute them: those are the values that leave mediamatch.
    Where EXIF orientation turns the picture for a viewer, `displayed` holds each picture
    signal's (value, quality) of the turned picture too; the catalogue stores and searches both."""

    path: str
    size: int | None = None
    signals: Mapping[str, str] = field(default_factory=dict)
    qualities: Mapping[str, int] = field(default_factory=dict)
    variants: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    displayed: Mapping[str, tuple[str, int | None]] = field(default_factory=dict)
    width: int | None = None
    height: int | None = None
    media_type: str | None = None
    error: str | None = None
    note: str | None = None
    frames: tuple[FrameHash, ...] = ()  # a video's sampled frames, consecutive near-repeats collapsed
    duration: float | None = None  # seconds, for a video
    features: tuple[Features, ...] = ()  # on request: the picture's, or sampled frames', local features

    def value(self, signal: str) -> str | None:
        return self.signals.get(signal)

    def quality(self, signal: str) -> int | None:
        return self.qualities.get(signal)

    def to_json(self) -> dict[str, Any]:
        """Flat JSON: each signal under its name, its quality as `<name>_quality`, its variants as
        `<name>_variants`, the value of the picture as displayed as `<name>_displayed`; a video's
        frames and duration only for a video."""
        fields: dict[str, Any] = {"path": self.path, "size": self.size, **self.signals}
        fields.update({f"{name}_quality": quality for name, quality in self.qualities.items()})
        fields.update({f"{name}_variants": list(values) for name, values in self.variants.items()})
        fields.update({f"{name}_displayed": value for name, (value, _) in self.displayed.items()})
        fields.update(width=self.width, height=self.height, media_type=self.media_type, error=self.error, note=self.note)
        if self.frames or self.duration is not None:
            fields["frames"] = [{"number": f.number, "timestamp": f.timestamp, "pdq": f.pdq, "quality": f.quality} for f in self.frames]
            fields["duration"] = self.duration
        return fields


Source = str | Path | BytesSource | SpooledSource
