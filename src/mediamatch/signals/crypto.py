"""Exact signals: MD5, SHA-1 and SHA-256 of the file's bytes.

MD5 and SHA-1 are kept because the hash sets that agencies exchange (Project VIC, ICSE
exports, NCMEC lists) are keyed by them; SHA-256 is the catalogue's identity of a media item.

python-threatexchange 1.2.17 (and so HMA) names its digests by media type: `video_md5` and
`video_sha256` (`signal_type/md5.py`, `sha256.py`); releases before 1.0 also had `photo_md5`.
It has no SHA-1 and no picture digest of its own, so an export in its naming writes every MD5
and SHA-256 under the video names (a platform using them for pictures matches the same bytes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import ClassVar

from mediamatch.signals.base import Digest, ExactSignal


class MD5Signal(ExactSignal):
    name: ClassVar[str] = "md5"
    bits: ClassVar[int] = 128
    outside_names: ClassVar[Mapping[str, tuple[str, ...]]] = {"threatexchange": ("video_md5", "photo_md5")}

    @classmethod
    def new_digest(cls) -> Digest:
        return hashlib.md5()

    @classmethod
    def examples(cls) -> list[str]:
        return [hashlib.md5(b"").hexdigest(), hashlib.md5(b"mediamatch").hexdigest()]


class SHA1Signal(ExactSignal):
    name: ClassVar[str] = "sha1"
    bits: ClassVar[int] = 160

    @classmethod
    def new_digest(cls) -> Digest:
        return hashlib.sha1()

    @classmethod
    def examples(cls) -> list[str]:
        return [hashlib.sha1(b"").hexdigest(), hashlib.sha1(b"mediamatch").hexdigest()]


class SHA256Signal(ExactSignal):
    name: ClassVar[str] = "sha256"
    bits: ClassVar[int] = 256
    outside_names: ClassVar[Mapping[str, tuple[str, ...]]] = {"threatexchange": ("video_sha256",)}

    @classmethod
    def new_digest(cls) -> Digest:
        return hashlib.sha256()

    @classmethod
    def examples(cls) -> list[str]:
        return [hashlib.sha256(b"").hexdigest(), hashlib.sha256(b"mediamatch").hexdigest()]
