"""The contract every signal (hash type) fulfils, so callers never switch on a signal's name.

A signal states what differs: its storage `name` (a constant, never derived from the class name,
because it is a key in the catalogue and in hash lists), which index serves it
(`index_kind`), its match threshold with the source of that number, how to validate and compare
its string form, and a few examples for the conformance tests.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

IndexKind = Literal["exact", "hamming"]


class SignalType:
    """Base class for a signal; subclasses set the class variables and, if needed, `distance`."""

    name: ClassVar[str]
    index_kind: ClassVar[IndexKind]
    bits: ClassVar[int]
    default_threshold: ClassVar[int]
    threshold_source: ClassVar[str]
    min_quality: ClassVar[int] = 0

    @classmethod
    def validate(cls, value: str) -> str:
        """Return the canonical (lower-case hex) form of `value`, or raise ValueError saying why."""
        if not isinstance(value, str):
            raise ValueError(f"{cls.name}: expected a hex string, got {type(value).__name__}")  # noqa: TRY004 - callers catch one kind
        text = value.strip().lower()
        digits = cls.bits // 4
        if len(text) != digits or not re.fullmatch(r"[0-9a-f]+", text):
            raise ValueError(f"{cls.name}: expected {digits} hex digits, got {value[:80]!r}")
        return text

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        """Number of differing bits between two canonical values."""
        return (int(cls.validate(a), 16) ^ int(cls.validate(b), 16)).bit_count()

    @classmethod
    def matches(cls, a: str, b: str, threshold: int | None = None) -> bool:
        limit = cls.default_threshold if threshold is None else threshold
        return cls.distance(a, b) <= limit

    @classmethod
    def examples(cls) -> list[str]:
        """Valid values for conformance tests and documentation."""
        raise NotImplementedError


class ExactSignal(SignalType):
    """A cryptographic digest: two files match only when the digests are equal."""

    index_kind: ClassVar[IndexKind] = "exact"
    default_threshold: ClassVar[int] = 0
    threshold_source: ClassVar[str] = "cryptographic digest: only identical bytes match"
