"""A signal that exists only for the tests: a 64-bit BLAKE2b digest of a file's bytes.

It is registered through the entry-point door (tests/signals/test_toy_signal.py), to prove a
new signal is one file: nothing else in mediamatch names it."""

from __future__ import annotations

import hashlib
from typing import ClassVar

from mediamatch.signals.base import Digest, ExactSignal


class Blake2b64Signal(ExactSignal):
    name: ClassVar[str] = "blake2b64"
    bits: ClassVar[int] = 64

    @classmethod
    def new_digest(cls) -> Digest:
        return hashlib.blake2b(digest_size=8)

    @classmethod
    def examples(cls) -> list[str]:
        return [hashlib.blake2b(b"", digest_size=8).hexdigest(), hashlib.blake2b(b"mediamatch", digest_size=8).hexdigest()]
