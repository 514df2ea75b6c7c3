"""Deltas between two versions of a signed hash list: making one, and applying it.

A delta (kind "delta") holds, per signal, the indicators added and removed between version
N-1 and N, the SHA-256 of the payload it applies to, and the full header and signature of
version N: applying it rebuilds version N byte for byte, so the result is verified like any
list and a platform never has to trust the delta's arithmetic. The file layout is the list's
(`hashlist/format.py`), with "removed" and "added" sections instead of "entries"."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mediamatch.atomic import atomic_write
from mediamatch.hashlist.format import (
    FORMAT_NAME,
    SIGNATURE_BYTES,
    HashList,
    HashListError,
    Section,
    Written,
    assemble,
    frame,
    key_id,
    parse,
    payload_of,
    read_hashlist,
)


def diff(old: HashList, new: HashList) -> dict[tuple[str, str], Section]:
    """Per signal, the entries of `old` absent from `new` ("removed") and of `new` absent from
    `old` ("added"), matched on (id, hash) with sorted-array operations."""
    found: dict[tuple[str, str], Section] = {}
    for signal in sorted(set(old.signals) | set(new.signals)):
        before, after = old.section("entries", signal), new.section("entries", signal)
        width = max(before.width, after.width)
        for part, source, other in (("removed", before, after), ("added", after, before)):
            keep = ~_present(source, other)
            if keep.any():
                found[(part, signal)] = Section(np.asarray(source.ids)[keep], np.asarray(source.hashes)[keep].reshape(-1, width))
    return found


def _present(section: Section, other: Section) -> np.ndarray:
    """Whether each entry of `section` is in `other` with the same hash (both sorted by id)."""
    if not len(other) or not len(section):
        return np.zeros(len(section), bool)
    rows = np.minimum(np.searchsorted(other.ids, section.ids), len(other) - 1)
    same_id = np.asarray(other.ids)[rows] == np.asarray(section.ids)
    same_hash = np.all(np.asarray(other.hashes)[rows] == np.asarray(section.hashes), axis=1)
    return same_id & same_hash


def write_delta(path: Path, old: HashList, new: HashList, target: Written, private_key: Ed25519PrivateKey) -> Written:
    """Sign and write the delta that turns `old` into `new` (whose written form is `target`)."""
    if old.name != new.name or new.version != old.version + 1:
        raise HashListError(f"a delta goes from one version to the next of one list, not {old.name} v{old.version} to {new.name} v{new.version}")
    sections = diff(old, new)
    described, payload = payload_of(sections)
    header = {
        "format": FORMAT_NAME, "kind": "delta", "name": new.name, "version": new.version, "previous_version": old.version,
        "created_at": new.header["created_at"], "filter": new.header["filter"], "key_id": key_id(private_key.public_key()),
        "payload_sha256": hashlib.sha256(payload).hexdigest(), "sections": described,
        "base_payload_sha256": old.payload_sha256, "target_header": dict(target.header), "target_signature": target.signature.hex(),
    }  # fmt: skip
    body, signature = assemble(header, payload, private_key)
    atomic_write(path, body)
    return Written(path, hashlib.sha256(body).hexdigest(), len(body), header, signature)


def check_delta_fits(base: HashList, delta: HashList) -> None:
    """Refuse a delta meant for another list or version than `base`."""
    if delta.kind != "delta":
        raise HashListError(f"{delta.name} v{delta.version} is a full list, not a delta")
    if base.kind != "full":
        raise HashListError("a delta applies to a full list, not to another delta")
    if delta.name != base.name:
        raise HashListError(f"this delta is for list {delta.name!r}, not {base.name!r}")
    if delta.header["previous_version"] != base.version:
        raise HashListError(f"this delta turns version {delta.header['previous_version']} into {delta.version}; the list given is version {base.version}")
    if delta.header["base_payload_sha256"] != base.payload_sha256:
        raise HashListError(f"this delta was made from a different version {base.version} of {base.name!r} (payload SHA-256 differs)")


def applied_sections(base: HashList, delta: HashList) -> dict[tuple[str, str], Section]:
    """The sections of the next version: `base` minus the delta's removals plus its additions."""
    check_delta_fits(base, delta)
    result: dict[tuple[str, str], Section] = {}
    for entry in delta.header["target_header"]["sections"]:
        signal = entry["signal"]
        current = base.section("entries", signal)
        removed, added = delta.section("removed", signal), delta.section("added", signal)
        gone = _present(removed, current)
        if not gone.all():
            raise HashListError(f"this delta removes {signal} indicator {int(removed.ids[~gone][0])}, which version {base.version} does not hold")
        keep = np.ones(len(current), bool)
        if len(removed):
            keep[np.searchsorted(current.ids, removed.ids)] = False
        ids = np.concatenate([np.asarray(current.ids)[keep], np.asarray(added.ids)])
        hashes = np.concatenate([np.asarray(current.hashes)[keep].reshape(-1, entry["hash_bytes"]), np.asarray(added.hashes).reshape(-1, entry["hash_bytes"])])
        try:
            result[("entries", signal)] = Section.of(ids, hashes, entry["hash_bytes"])
        except HashListError:
            raise HashListError(f"this delta adds a {signal} indicator that version {base.version} already holds") from None
    return result


def apply_delta(base: HashList, delta: HashList, public_key: Ed25519PublicKey) -> bytes:
    """The full next version, byte for byte as the publisher signed it, verified."""
    _, payload = payload_of(applied_sections(base, delta))
    body = frame(delta.header["target_header"], payload)
    body[-SIGNATURE_BYTES:] = bytes.fromhex(delta.header["target_signature"])
    parse(memoryview(body), public_key, f"{base.name} v{delta.version} rebuilt from the delta")
    return bytes(body)


def apply_delta_file(base: Path, delta: Path, public_key: Ed25519PublicKey, out: Path) -> HashList:
    """Verify `base` and `delta`, write the verified next version to `out` and return it."""
    body = apply_delta(read_hashlist(base, public_key), read_hashlist(delta, public_key), public_key)
    atomic_write(out, body)
    return read_hashlist(out, public_key)
