"""Signed hash lists: the versioned file that platforms receive (a full list or a delta).

Never pickle: the file is a fixed prefix, a canonical JSON header, packed arrays, and an
Ed25519 signature over everything before it. docs/hashlist-format.md describes the layout for
people who write their own reader; in short (integers little-endian):

    offset  size  field
    0       8     magic b"MMHLIST\\0"
    8       4     format version (uint32) = 1
    12      4     header length H (uint32)
    16      8     payload length P (uint64)
    24      40    zero padding to 64
    64      H     header: canonical JSON (sorted keys, no spaces, ASCII), zero-padded to 64
    ...     P     payload: per section, ids uint64[n] then hashes uint8[n][w], each 64-aligned
    ...     64    Ed25519 signature of every byte before it

Why a signature over the whole file AND a SHA-256 of the payload in the header: the signature
is what a platform trusts; the hash tells a damaged download ("payload does not match its
SHA-256") apart from a forged or wrongly keyed one ("signature does not verify").

A delta (kind "delta", made and applied by `hashlist/delta.py`) has the same layout, with
"removed" and "added" sections; key files are `hashlist/signing.py`'s.

Loading never loops over entries in Python: the file is memory-mapped and each section is a
numpy view of it, so 10M PDQ entries open as fast as they can be hashed for verification.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mediamatch.atomic import atomic_write
from mediamatch.signals.registry import find_signal

MAGIC = b"MMHLIST\0"
FORMAT_VERSION = 1
FORMAT_NAME = "mediamatch-hashlist"
SIGNATURE_BYTES = 64
_PREFIX = struct.Struct("<8sIIQ")
_ALIGN = 64
MAX_HEADER_BYTES = 1 << 20  # a header names a few sections and a filter: more is damage

FULL_PARTS = ("entries",)
DELTA_PARTS = ("removed", "added")
_SIGNAL_NAME = re.compile(r"[a-z0-9_]{1,32}")

Kind = Literal["full", "delta"]

# Which known video each vPDQ frame indicator belongs to, so a matcher can answer per video (the
# vPDQ rule needs each known video's frame count): a section beside "vpdq" whose ids are frame
# indicators and whose 8-byte "hash" is the video's id (uint64, little-endian: the indicator of
# the video's first stored frame). Not a signal: nothing is matched against it.
VIDEO_GROUP_SECTION = "vpdq_video"
VIDEO_GROUP_BYTES = 8


def known_width(signal: str) -> int | None:
    """Width in bytes of a registered signal (its declared bits); None for a signal this
    installation has no class for, whose sections state their own width."""
    if signal == VIDEO_GROUP_SECTION:
        return VIDEO_GROUP_BYTES
    declared = find_signal(signal)
    return None if declared is None else declared.bits // 8


class HashListError(ValueError):
    """A hash list or delta that must not be used, with the reason in words."""


def key_id(public_key: Ed25519PublicKey) -> str:
    """Fingerprint of a public key, as a header names its signer: the first 32 hex digits of
    the SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:32]


# --- the in-memory form ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Section:
    """One signal's entries of one part: ids ascending and unique, hashes row for row."""

    ids: np.ndarray  # uint64 [n]
    hashes: np.ndarray  # uint8 [n, width]

    @classmethod
    def of(cls, ids: np.ndarray, hashes: np.ndarray, width: int) -> Section:
        """A section from any ids and hashes: sorted by id, duplicates refused."""
        ids = np.asarray(ids, np.uint64).ravel()
        hashes = np.asarray(hashes, np.uint8).reshape(-1, width)
        if len(ids) != len(hashes):
            raise HashListError(f"{len(ids)} ids for {len(hashes)} hashes")
        order = np.argsort(ids, kind="stable")
        ids, hashes = ids[order], hashes[order]
        if len(ids) > 1 and not np.all(ids[1:] > ids[:-1]):
            raise HashListError("an indicator id appears twice in one section")
        return cls(ids, hashes)

    @property
    def width(self) -> int:
        return int(self.hashes.shape[1])

    def __len__(self) -> int:
        return len(self.ids)


def empty_section(width: int) -> Section:
    return Section(np.zeros(0, np.uint64), np.zeros((0, width), np.uint8))


@dataclass(frozen=True, slots=True)
class HashList:
    """A verified list or delta: the header's fields and the sections, keyed (part, signal)."""

    header: Mapping[str, Any]
    sections: Mapping[tuple[str, str], Section]
    raw_header: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    @property
    def kind(self) -> Kind:
        return self.header["kind"]

    @property
    def name(self) -> str:
        return self.header["name"]

    @property
    def version(self) -> int:
        return self.header["version"]

    @property
    def payload_sha256(self) -> str:
        return self.header["payload_sha256"]

    @property
    def signals(self) -> list[str]:
        return sorted({signal for _, signal in self.sections})

    def section(self, part: str, signal: str) -> Section:
        found = self.sections.get((part, signal))
        return found if found is not None else empty_section(known_width(signal) or 32)

    def counts(self) -> dict[str, int] | dict[str, dict[str, int]]:
        """{signal: entries} for a list; {"added"|"removed": {signal: n}} for a delta."""
        if self.kind == "full":
            return {signal: len(section) for (_, signal), section in sorted(self.sections.items())}
        return {part: {s: len(sec) for (p, s), sec in sorted(self.sections.items()) if p == part} for part in DELTA_PARTS}


# --- writing -----------------------------------------------------------------------------


def _aligned(offset: int) -> int:
    return (offset + _ALIGN - 1) // _ALIGN * _ALIGN


def canonical(header: Mapping[str, Any]) -> bytes:
    """The one byte form of a header: what is signed, and what a delta re-creates."""
    return json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def _section_order(sections: Mapping[tuple[str, str], Section]) -> list[tuple[str, str]]:
    parts = FULL_PARTS + DELTA_PARTS
    return sorted(sections, key=lambda key: (parts.index(key[0]), key[1]))


def _layout(described: list[dict[str, Any]]) -> tuple[list[tuple[int, int]], int]:
    """(ids offset, hashes offset) of each described section, relative to the payload, and
    the payload length. Derived from counts and widths alone, so sections cannot overlap."""
    offsets, offset = [], 0
    for entry in described:
        count, width = entry["count"], entry["hash_bytes"]
        ids_at = offset
        hashes_at = _aligned(ids_at + 8 * count)
        offsets.append((ids_at, hashes_at))
        offset = _aligned(hashes_at + width * count)
    return offsets, offset


def payload_of(sections: Mapping[tuple[str, str], Section]) -> tuple[list[dict[str, Any]], bytearray]:
    described: list[dict[str, Any]] = [
        {"part": part, "signal": signal, "count": len(sections[(part, signal)]), "hash_bytes": sections[(part, signal)].width}
        for part, signal in _section_order(sections)
    ]
    offsets, length = _layout(described)
    payload = bytearray(length)
    view = np.frombuffer(payload, np.uint8)
    for entry, (ids_at, hashes_at) in zip(described, offsets):
        section = sections[(entry["part"], entry["signal"])]
        view[ids_at : ids_at + 8 * len(section)] = np.ascontiguousarray(section.ids, "<u8").view(np.uint8)
        view[hashes_at : hashes_at + section.width * len(section)] = np.ascontiguousarray(section.hashes).ravel()
    return described, payload


def frame(header: Mapping[str, Any], payload: bytes | bytearray) -> bytearray:
    """The whole file but its signature (left zero): prefix, canonical header, payload."""
    raw = canonical(header)
    header_end = _aligned(_ALIGN + len(raw))
    body = bytearray(header_end + len(payload) + SIGNATURE_BYTES)
    body[: _PREFIX.size] = _PREFIX.pack(MAGIC, FORMAT_VERSION, len(raw), len(payload))
    body[_ALIGN : _ALIGN + len(raw)] = raw
    body[header_end : header_end + len(payload)] = payload
    return body


def assemble(header: Mapping[str, Any], payload: bytes | bytearray, private_key: Ed25519PrivateKey) -> tuple[bytearray, bytes]:
    """The signed file and its signature."""
    body = frame(header, payload)
    signed = memoryview(body)[: len(body) - SIGNATURE_BYTES]
    signature = private_key.sign(signed)
    signed.release()
    body[-SIGNATURE_BYTES:] = signature
    return body, signature


def _check_sections(sections: Mapping[tuple[str, str], Section], parts: tuple[str, ...]) -> None:
    for part, signal in sections:
        if part not in parts:
            raise HashListError(f"a {'/'.join(parts)} file has no {part!r} section")
        if not _SIGNAL_NAME.fullmatch(signal):
            raise HashListError(f"signal name {signal!r} is not 1-32 of a-z, 0-9, _")
        width = sections[(part, signal)].width
        if known_width(signal) not in (None, width):
            raise HashListError(f"a {signal} hash is {known_width(signal)} bytes, not {width}")


def utc_timestamp(moment: datetime | None = None) -> str:
    return (moment or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Written:
    """What was written: the file's SHA-256 and size, and the signed header (for a delta)."""

    path: Path
    sha256: str
    size: int
    header: Mapping[str, Any]
    signature: bytes


def write_hashlist(
    path: Path,
    sections: Mapping[tuple[str, str], Section],
    private_key: Ed25519PrivateKey,
    *,
    name: str,
    version: int,
    previous_version: int | None = None,
    list_filter: Mapping[str, Any] | None = None,
    created_at: str | None = None,
) -> Written:
    """Sign and write a full list (sections keyed ("entries", signal)), atomically."""
    _check_sections(sections, FULL_PARTS)
    if version < 1 or (previous_version is not None and previous_version != version - 1):
        raise HashListError(f"version {version} cannot follow version {previous_version}")
    described, payload = payload_of(sections)
    header = {
        "format": FORMAT_NAME, "kind": "full", "name": name, "version": version, "previous_version": previous_version,
        "created_at": created_at or utc_timestamp(), "filter": dict(list_filter or {}), "key_id": key_id(private_key.public_key()),
        "payload_sha256": hashlib.sha256(payload).hexdigest(), "sections": described,
    }  # fmt: skip
    body, signature = assemble(header, payload, private_key)
    atomic_write(path, body)
    return Written(path, hashlib.sha256(body).hexdigest(), len(body), header, signature)


# --- reading and verifying ---------------------------------------------------------------


def read_hashlist(path: Path, public_key: Ed25519PublicKey) -> HashList:
    """Open, check and verify a list or delta; its arrays are views of the memory-mapped file.

    Refused with a HashListError saying what is wrong: not a hash list, an unknown format
    version, a truncated or extended file, a damaged header or payload, a signature that does
    not verify with `public_key`, or entries out of order."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < _ALIGN + SIGNATURE_BYTES:
                raise HashListError(f"{path}: too short to be a hash list ({size} bytes); truncated?")
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise HashListError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return parse(memoryview(mapped), public_key, str(path))


def parse(data: memoryview | bytes, public_key: Ed25519PublicKey, label: str = "hash list") -> HashList:
    """`read_hashlist` for bytes already in memory."""
    data = memoryview(data)
    size = len(data)
    if size < _ALIGN + SIGNATURE_BYTES:
        raise HashListError(f"{label}: too short to be a hash list ({size} bytes); truncated?")
    magic, version, header_length, payload_length = _PREFIX.unpack(data[: _PREFIX.size])
    if magic != MAGIC:
        raise HashListError(f"{label}: not a mediamatch hash list (bad magic {bytes(magic)!r})")
    if version != FORMAT_VERSION:
        raise HashListError(f"{label}: hash list format version {version}; this mediamatch reads version {FORMAT_VERSION} (upgrade it)")
    if header_length > MAX_HEADER_BYTES:
        raise HashListError(f"{label}: header length {header_length} is implausible; the file is damaged")
    header_end = _aligned(_ALIGN + header_length)
    expected = header_end + payload_length + SIGNATURE_BYTES
    if size != expected:
        what = "truncated" if size < expected else "has extra bytes at the end"
        raise HashListError(f"{label}: {what} ({size} bytes; its prefix says {expected})")
    if any(data[_PREFIX.size : _ALIGN]):
        raise HashListError(f"{label}: damaged prefix (padding is not zero)")
    raw = bytes(data[_ALIGN : _ALIGN + header_length])
    header = _decode_header(raw, label)
    described = header["sections"]
    offsets, length = _layout(described)
    if length != payload_length:
        raise HashListError(f"{label}: header describes {length} payload bytes, prefix says {payload_length}; the file is damaged")
    payload = data[header_end : header_end + payload_length]
    if hashlib.sha256(payload).hexdigest() != header["payload_sha256"]:
        raise HashListError(f"{label}: payload does not match its SHA-256; the file is damaged or was altered")
    signature = bytes(data[size - SIGNATURE_BYTES :])
    expected_key = key_id(public_key)
    if header["key_id"] != expected_key:
        raise HashListError(f"{label}: signed with key {header['key_id']}, but the public key given is {expected_key}")
    try:
        public_key.verify(signature, data[: size - SIGNATURE_BYTES])
    except InvalidSignature:
        raise HashListError(f"{label}: signature does not verify with key {expected_key}; the file was altered") from None
    sections: dict[tuple[str, str], Section] = {}
    for entry, (ids_at, hashes_at) in zip(described, offsets):
        count, width = entry["count"], entry["hash_bytes"]
        ids = np.frombuffer(payload, "<u8", count, ids_at)
        hashes = np.frombuffer(payload, np.uint8, count * width, hashes_at).reshape(count, width)
        if count > 1 and not np.all(ids[1:] > ids[:-1]):
            raise HashListError(f"{label}: {entry['part']} {entry['signal']} ids are not in ascending order without repeats")
        sections[(entry["part"], entry["signal"])] = Section(ids, hashes)
    return HashList(header, sections, raw, signature)


def _decode_header(raw: bytes, label: str) -> dict[str, Any]:
    try:
        header = json.loads(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise HashListError(f"{label}: header is not readable JSON; the file is damaged") from None
    if not isinstance(header, dict) or canonical(header) != raw:
        raise HashListError(f"{label}: header is not in canonical form; the file is damaged or was altered")
    try:
        _check_header(header)
    except (KeyError, TypeError, ValueError) as exc:
        raise HashListError(f"{label}: header is invalid ({exc}); the file is damaged") from None
    return header


def _check_header(header: dict[str, Any]) -> None:
    if header["format"] != FORMAT_NAME or header["kind"] not in ("full", "delta"):
        raise ValueError(f"format {header['format']!r} kind {header['kind']!r}")
    if not isinstance(header["name"], str) or not isinstance(header["version"], int) or header["version"] < 1:
        raise ValueError("name or version")
    if not all(isinstance(header[name], str) for name in ("key_id", "payload_sha256", "created_at")) or not isinstance(header["filter"], dict):
        raise ValueError("key id, payload SHA-256, creation time or filter")
    if header["previous_version"] is not None and header["previous_version"] != header["version"] - 1:
        raise ValueError(f"version {header['version']} cannot follow {header['previous_version']!r}")
    parts = FULL_PARTS if header["kind"] == "full" else DELTA_PARTS
    seen = set()
    for entry in header["sections"]:
        part, signal, count, width = entry["part"], entry["signal"], entry["count"], entry["hash_bytes"]
        if part not in parts or not isinstance(signal, str) or not _SIGNAL_NAME.fullmatch(signal) or (part, signal) in seen:
            raise ValueError(f"section {part!r} {signal!r}")
        if not (isinstance(count, int) and isinstance(width, int) and count >= 0 and 1 <= width <= 256):
            raise ValueError(f"section {part} {signal}: count {count!r}, width {width!r}")
        if known_width(signal) not in (None, width):
            raise ValueError(f"a {signal} hash is {known_width(signal)} bytes, not {width}")
        seen.add((part, signal))
    if header["kind"] == "delta":
        _check_header(header["target_header"])
        if header["target_header"]["kind"] != "full" or header["target_header"]["version"] != header["version"]:
            raise ValueError("target header is not the full list of this version")
        bytes.fromhex(header["target_signature"])
