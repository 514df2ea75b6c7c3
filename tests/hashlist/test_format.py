"""The signed hash-list format: round trip, every kind of damage refused with a clear message,
and wrong keys refused."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hashlist_support import sections

from mediamatch.hashlist.format import HashListError, Section, key_id, parse, read_hashlist, write_hashlist


@pytest.fixture
def small_list(tmp_path: Path, key: Ed25519PrivateKey) -> Path:
    path = tmp_path / "list.mmhl"
    content = sections(np.random.default_rng(1), {"pdq": [5, 3, 9], "md5": [4, 10], "sha1": [11], "sha256": [12, 13]})
    write_hashlist(path, content, key, name="baseline", version=1, list_filter={"baseline_only": True})
    return path


def test_round_trip_keeps_every_field_and_entry(small_list: Path, key: Ed25519PrivateKey) -> None:
    loaded = read_hashlist(small_list, key.public_key())
    assert (loaded.kind, loaded.name, loaded.version) == ("full", "baseline", 1)
    assert loaded.header["previous_version"] is None
    assert loaded.header["filter"] == {"baseline_only": True}
    assert loaded.header["key_id"] == key_id(key.public_key())
    assert loaded.counts() == {"md5": 2, "pdq": 3, "sha1": 1, "sha256": 2}
    pdq = loaded.section("entries", "pdq")
    assert pdq.ids.tolist() == [3, 5, 9]  # sorted on write
    expected = sections(np.random.default_rng(1), {"pdq": [3, 5, 9]})[("entries", "pdq")]
    assert np.array_equal(pdq.hashes, expected.hashes)
    assert pdq.hashes.shape == (3, 32) and loaded.section("entries", "sha1").hashes.shape == (1, 20)


def test_a_new_signal_is_just_another_section(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    content = {("entries", "vpdq"): Section.of(np.array([1, 2], np.uint64), np.ones((2, 32), np.uint8), 32)}
    write_hashlist(tmp_path / "v.mmhl", content, key, name="video", version=1)
    assert read_hashlist(tmp_path / "v.mmhl", key.public_key()).counts() == {"vpdq": 2}


def test_every_flipped_byte_is_refused_with_a_reason(small_list: Path, key: Ed25519PrivateKey) -> None:
    data = small_list.read_bytes()
    messages = set()
    for position in range(len(data)):
        damaged = bytearray(data)
        damaged[position] ^= 0x01
        with pytest.raises(HashListError) as refused:
            parse(bytes(damaged), key.public_key(), "list.mmhl")
        messages.add(str(refused.value).split(":", 1)[1].split("(")[0].strip())
    assert any("payload does not match its SHA-256" in m for m in messages)
    assert any("signature does not verify" in m for m in messages)
    assert any("not a mediamatch hash list" in m for m in messages)
    assert any("format version" in m for m in messages)
    assert any("header" in m for m in messages)


def test_every_truncation_and_an_extension_are_refused(small_list: Path, key: Ed25519PrivateKey) -> None:
    data = small_list.read_bytes()
    for length in range(len(data)):
        with pytest.raises(HashListError, match=r"truncated|too short"):
            parse(data[:length], key.public_key())
    with pytest.raises(HashListError, match="extra bytes"):
        parse(data + b"\0", key.public_key())


def test_a_truncated_file_on_disk_is_refused(small_list: Path, key: Ed25519PrivateKey) -> None:
    data = small_list.read_bytes()
    small_list.write_bytes(data[: len(data) // 2])
    with pytest.raises(HashListError, match=r"list\.mmhl: truncated"):
        read_hashlist(small_list, key.public_key())
    with pytest.raises(HashListError, match="cannot read"):
        read_hashlist(small_list.with_name("absent.mmhl"), key.public_key())


def test_the_wrong_key_is_refused(small_list: Path, key: Ed25519PrivateKey) -> None:
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(HashListError, match=f"signed with key {key_id(key.public_key())}, but the public key given is {key_id(other)}"):
        read_hashlist(small_list, other)


def test_a_list_re_signed_by_someone_else_is_refused(small_list: Path, key: Ed25519PrivateKey, tmp_path: Path) -> None:
    """A forger who rewrites the key id in the header still cannot make the signature verify."""
    forger = Ed25519PrivateKey.generate()
    forged = tmp_path / "forged.mmhl"
    write_hashlist(forged, sections(np.random.default_rng(2), {"md5": [1]}), forger, name="baseline", version=2)
    data = bytearray(forged.read_bytes())
    data = data.replace(key_id(forger.public_key()).encode(), key_id(key.public_key()).encode())
    with pytest.raises(HashListError, match="signature does not verify"):
        parse(bytes(data), key.public_key())


@pytest.mark.parametrize("raw", [b"[" * 200_000 + b"]" * 200_000, b'{"format":"mediamatch-hashlist","kind":"full","sections":"xx"}', b"\xff\xfe", b"[]"])
def test_a_crafted_header_is_refused_not_crashed_on(raw: bytes, key: Ed25519PrivateKey) -> None:
    padded = raw + b"\0" * (-len(raw) % 64)
    data = struct.pack("<8sIIQ", b"MMHLIST\0", 1, len(raw), 0).ljust(64, b"\0") + padded + b"\0" * 64
    with pytest.raises(HashListError, match="header"):
        parse(data, key.public_key())
