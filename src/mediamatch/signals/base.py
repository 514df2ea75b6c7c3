"""The contract every signal (hash type) fulfils, so callers never switch on a signal's name.

A signal states what differs: its storage `name` (a constant, never derived from the class name,
because it is a key in the catalogue and in hash lists), its width in `bits` (which fixes its
string form: bits/4 hex digits, and a hash list's packed width), the `media_kinds` it describes,
which index serves it (`index_kind`), how it is computed (`computes_from`), its match threshold
with the source of that number, the names other tools give it (`outside_names`), and a few
examples for the conformance kit (mediamatch.testing).

Everything else — hashing, records, storage, indexes, API schemas, hash lists, exports and
reports — iterates the registry (signals/registry.py) and asks these capabilities.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

if TYPE_CHECKING:
    import numpy as np

# "descriptor": a set of local descriptors per picture, searched by nearest neighbours and
# geometric verification (signals/local_features.py), never a value in a hash list or export.
# "embedding": one learned vector per picture, searched by cosine similarity
# (signals/global_descriptor.py), likewise never in a hash list or export.
IndexKind = Literal["exact", "hamming", "descriptor", "embedding"]
# What a value describes: a file's bytes, a still picture, or one frame of a video.
MediaKind = Literal["file", "image", "video_frame"]
# What the hashing pipeline hands a signal: the file's bytes (streamed through a digest), the
# decoded luma plane of a picture, or the luma plane of each sampled video frame. None: the
# signal is only imported from outside lists (the pipeline never computes it). "features": a
# descriptor signal, computed from the decoded picture or frame when a search asks for it.
ComputesFrom = Literal["bytes", "luma", "frame", "features"]

# The naming conventions of the tools lists travel to and from: ours, and python-threatexchange's
# (`SignalType.get_name()`), which Meta's Hasher-Matcher-Actioner (HMA) uses for its signal types.
NAMINGS = ("mediamatch", "threatexchange")
_HEX = re.compile(r"[0-9a-f]+")


class Digest(Protocol):
    """An incremental digest, as `hashlib` objects are: the pipeline streams a file through it."""

    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


class SignalType:
    """Base class for a signal; subclasses set the class variables and their compute method."""

    name: ClassVar[str]
    index_kind: ClassVar[IndexKind]
    bits: ClassVar[int]
    media_kinds: ClassVar[frozenset[MediaKind]]
    computes_from: ClassVar[ComputesFrom | None] = None
    default_threshold: ClassVar[int]
    threshold_source: ClassVar[str]
    min_quality: ClassVar[int] = 0  # values of lower quality are stored but never searched
    variant_names: ClassVar[tuple[str, ...]] = ()  # e.g. PDQ's rotations/flips, `compute_variants` order
    # What other tools call this signal, by naming (NAMINGS): the first name is what an export in
    # that naming writes; every name is accepted on import and by the matchers, in any case. A
    # signal a tool has no name for is left out of exports in its naming.
    outside_names: ClassVar[Mapping[str, tuple[str, ...]]] = {}

    @classmethod
    def hex_digits(cls) -> int:
        return cls.bits // 4

    @classmethod
    def validate(cls, value: str) -> str:
        """Return the canonical (lower-case hex) form of `value`, or raise ValueError saying why."""
        if not isinstance(value, str):
            raise ValueError(f"{cls.name}: expected a hex string, got {type(value).__name__}")  # noqa: TRY004 - callers catch one kind
        text = value.strip().lower()
        if len(text) != cls.hex_digits() or not _HEX.fullmatch(text):
            raise ValueError(f"{cls.name}: expected {cls.hex_digits()} hex digits, got {value[:80]!r}")
        return text

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        """Number of differing bits between two values."""
        return (int(cls.validate(a), 16) ^ int(cls.validate(b), 16)).bit_count()

    @classmethod
    def matches(cls, a: str, b: str, threshold: int | None = None) -> bool:
        """Always `distance <= threshold`: the kit checks that no signal redefines matching."""
        limit = cls.default_threshold if threshold is None else threshold
        return cls.distance(a, b) <= limit

    @classmethod
    def examples(cls) -> list[str]:
        """Valid values for conformance tests and documentation."""
        raise NotImplementedError

    @classmethod
    def new_digest(cls) -> Digest:
        """For `computes_from == "bytes"`: a fresh digest the file's bytes are streamed through."""
        raise NotImplementedError(f"{cls.name} is not computed from bytes")

    @classmethod
    def compute_luma(cls, luma: np.ndarray) -> tuple[str, int | None]:
        """For "luma" and "frame": the value and its quality (None if it has none) of a float32
        luma plane."""
        raise NotImplementedError(f"{cls.name} is not computed from pictures")

    @classmethod
    def compute_features(cls, luma: np.ndarray, *, catalogue: bool = False) -> bytes:
        """For "features" (descriptor signals): the packed local features of a float32 luma
        plane (a picture, or a video frame); `catalogue`: as the catalogue stores them (a signal
        may describe catalogued and searched pictures differently), else as a search asks."""
        raise NotImplementedError(f"{cls.name} is not a descriptor signal")

    @classmethod
    def compute_variants(cls, luma: np.ndarray) -> tuple[tuple[str, ...], int | None]:
        """Values of the picture's `variant_names` transforms (the first is the picture as it is)
        and the shared quality; a signal without variants gives its one value."""
        value, quality = cls.compute_luma(luma)
        return (value,), quality


class ExactSignal(SignalType):
    """A cryptographic digest of the file's bytes: two files match only when the digests are equal."""

    index_kind: ClassVar[IndexKind] = "exact"
    media_kinds: ClassVar[frozenset[MediaKind]] = frozenset({"file"})
    computes_from: ClassVar[ComputesFrom | None] = "bytes"
    default_threshold: ClassVar[int] = 0
    threshold_source: ClassVar[str] = "cryptographic digest: only identical bytes match"


class SimilaritySignal(SignalType):
    """A signal searched by similarity, not by a value (index kind "descriptor" or "embedding"):
    a picture's or frame's features, computed when a search asks for them; no string form, no
    Hamming distance, no examples for the hash conformance kit, never in a list or an export."""

    bits: ClassVar[int] = 0  # no fixed-width value
    media_kinds: ClassVar[frozenset[MediaKind]] = frozenset({"image", "video_frame"})
    computes_from: ClassVar[ComputesFrom | None] = "features"
    value_kind: ClassVar[str]  # what one value is, for errors: "a feature set"
    compared_by: ClassVar[str]  # how two values are compared, for errors: "geometric verification"

    @classmethod
    def validate(cls, value: str) -> str:
        raise ValueError(f"{cls.name}: {cls.value_kind} has no string form")

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        raise ValueError(f"{cls.name}: compared by {cls.compared_by}, not a distance")

    @classmethod
    def examples(cls) -> list[str]:
        return []
