"""Encrypted content blobs: round trips, no plaintext at rest, clear key errors, rotation.

Why these tests: the blob store is the only place the catalogue keeps copies of media, so its
promises are security promises. Plaintext must never reach the disk, a blob must not decrypt
under another address or key, a missing or wrong key must say so plainly, and a rotation that
stops halfway must be safe to run again. All content here is generated benign bytes.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest

from mediamatch.store import blobs as blobs_module
from mediamatch.store.blobs import (
    MAGIC,
    NONCE_BYTES,
    TAG_BYTES,
    BlobCorrupt,
    BlobKeyError,
    BlobNotFound,
    BlobTooLarge,
    EncryptedBlobStore,
    rotate,
)
from mediamatch.store.keys import (
    ENV_VAR,
    KEY_BYTES,
    Keyring,
    KeyringError,
    format_keyring,
    generate_key,
    load_key_file,
    load_keyring,
    parse_keyring,
    write_key_file,
)

K1 = generate_key()
K2 = generate_key()


def marker(label: str) -> bytes:
    """4 KiB of a distinctive, never-random pattern, so any plaintext leak is findable by search."""
    unit = f"MEDIAMATCH-PLAINTEXT-MARKER-{label}-".encode()
    return (unit * (4096 // len(unit) + 1))[:4096]


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


@pytest.fixture
def k1_store(tmp_path: Path) -> EncryptedBlobStore:
    return EncryptedBlobStore(tmp_path / "blobs", Keyring({"k1": K1}, current_id="k1"))


def test_round_trip_of_varied_content(k1_store: EncryptedBlobStore) -> None:
    contents = [b"", b"x", marker("round-trip"), os.urandom(100_000)]
    addresses = [k1_store.put(data) for data in contents]
    assert addresses == [hashlib.sha256(data).hexdigest() for data in contents]
    for address, data in zip(addresses, contents, strict=True):
        assert k1_store.exists(address)
        assert k1_store.get(address) == data
    assert sorted(k1_store.addresses()) == sorted(addresses)


def test_file_sits_at_its_address_with_the_documented_layout(k1_store: EncryptedBlobStore) -> None:
    data = marker("layout")
    address = k1_store.put(data)
    path = k1_store.root / address[:2] / address[2:4] / address
    raw = path.read_bytes()
    assert raw[: len(MAGIC)] == MAGIC
    assert raw[len(MAGIC)] == 2 and raw[len(MAGIC) + 1 : len(MAGIC) + 3] == b"k1"
    assert len(raw) == len(MAGIC) + 1 + 2 + NONCE_BYTES + len(data) + TAG_BYTES
    assert k1_store.key_id(address) == "k1"


def test_same_content_is_stored_once(k1_store: EncryptedBlobStore) -> None:
    data = marker("once")
    first = k1_store.put(data)
    raw = k1_store.path(first).read_bytes()
    assert k1_store.put(data) == first
    assert files_under(k1_store.root) == [k1_store.path(first)]
    assert k1_store.path(first).read_bytes() == raw  # not re-encrypted with a fresh nonce


def test_no_plaintext_on_disk(k1_store: EncryptedBlobStore) -> None:
    contents = [marker(f"leak-{n}") for n in range(5)]
    for data in contents:
        k1_store.put(data)
    rotate(k1_store, Keyring({"k2": K2, "k1": K1}, current_id="k2"))
    on_disk = [path.read_bytes() for path in files_under(k1_store.root)]
    assert len(on_disk) == len(contents)
    for data in contents:
        for start in range(0, len(data), 512):  # any 64-byte window of each marker, not just the whole
            window = data[start : start + 64]
            assert not any(window in raw for raw in on_disk)
    assert not any(b"MEDIAMATCH-PLAINTEXT-MARKER" in raw for raw in on_disk)


def test_missing_key_is_named(k1_store: EncryptedBlobStore) -> None:
    address = k1_store.put(marker("missing-key"))
    other = EncryptedBlobStore(k1_store.root, Keyring({"k2": K2}, current_id="k2"))
    expected = "content encrypted with key 'k1', which this deployment's keyring does not hold"
    with pytest.raises(BlobKeyError, match=expected):
        other.get(address)


def test_wrong_key_under_the_same_id_fails_authentication(k1_store: EncryptedBlobStore) -> None:
    address = k1_store.put(marker("wrong-key"))
    impostor = EncryptedBlobStore(k1_store.root, Keyring({"k1": K2}, current_id="k1"))
    with pytest.raises(BlobKeyError, match="authentication failed: wrong key or tampered blob"):
        impostor.get(address)


@pytest.mark.parametrize("where", ["ciphertext", "tag", "nonce", "key id"])
def test_tampered_blob_is_refused(k1_store: EncryptedBlobStore, where: str) -> None:
    address = k1_store.put(marker("tamper"))
    path = k1_store.path(address)
    raw = bytearray(path.read_bytes())
    header = len(MAGIC) + 1 + 2 + NONCE_BYTES
    offsets = {"ciphertext": header + 100, "tag": len(raw) - 1, "nonce": header - 1, "key id": len(MAGIC) + 2}
    offset = offsets[where]
    raw[offset] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises((BlobCorrupt, BlobKeyError)):
        k1_store.get(address)


def test_tampering_with_a_known_key_id_fails_authentication(tmp_path: Path) -> None:
    store = EncryptedBlobStore(tmp_path, Keyring({"k1": K1, "k2": K1}, current_id="k1"))
    address = store.put(marker("relabel"))
    path = store.path(address)
    path.write_bytes(path.read_bytes().replace(b"k1", b"k2", 1))  # same key bytes, other id
    with pytest.raises(BlobCorrupt, match="authentication failed"):
        store.get(address)


def test_blob_copied_under_another_name_is_refused(k1_store: EncryptedBlobStore) -> None:
    real = k1_store.put(marker("original"))
    target = k1_store.put(marker("other"))
    k1_store.path(target).write_bytes(k1_store.path(real).read_bytes())
    with pytest.raises(BlobCorrupt, match="authentication failed"):
        k1_store.get(target)
    assert k1_store.get(real) == marker("original")


@pytest.mark.parametrize("content", [b"", b"MMBLOB1", b"NOTABLOB" + bytes(64), MAGIC + b"\x02k1" + bytes(NONCE_BYTES) + b"short"])
def test_malformed_files_are_corrupt(k1_store: EncryptedBlobStore, content: bytes) -> None:
    address = hashlib.sha256(b"anything").hexdigest()
    k1_store.path(address).parent.mkdir(parents=True)
    k1_store.path(address).write_bytes(content)
    with pytest.raises(BlobCorrupt):
        k1_store.get(address)


def test_absent_blob_and_delete(k1_store: EncryptedBlobStore) -> None:
    absent = hashlib.sha256(b"never stored").hexdigest()
    assert not k1_store.exists(absent)
    with pytest.raises(BlobNotFound):
        k1_store.get(absent)
    address = k1_store.put(b"to delete")
    assert k1_store.delete(address) is True
    assert not k1_store.exists(address)
    assert k1_store.delete(address) is False


@pytest.mark.parametrize("address", ["../../etc/passwd", "AB" * 32, "ab" * 31, "ab" * 32 + "/x", 42])
def test_addresses_that_are_not_sha256_are_refused(k1_store: EncryptedBlobStore, address: object) -> None:
    with pytest.raises(ValueError, match="not a SHA-256 address"):
        k1_store.get(address)  # type: ignore[arg-type]


def test_size_limit(tmp_path: Path) -> None:
    store = EncryptedBlobStore(tmp_path, Keyring({"k1": K1}, current_id="k1"), max_bytes=1000)
    assert store.get(store.put(bytes(1000))) == bytes(1000)
    with pytest.raises(BlobTooLarge, match="at most 1000"):
        store.put(bytes(1001))
    assert len(files_under(tmp_path)) == 1
    assert EncryptedBlobStore(tmp_path, store.keyring).max_bytes == 512 * 1024 * 1024
    with pytest.raises(ValueError, match="max_bytes"):
        EncryptedBlobStore(tmp_path, store.keyring, max_bytes=2**31)


def test_stray_files_are_not_listed(k1_store: EncryptedBlobStore) -> None:
    address = k1_store.put(b"listed")
    folder = k1_store.path(address).parent
    (folder / f".{address[:16]}.abc.tmp").write_bytes(b"left by a crash")
    (folder / "README").write_text("not a blob")
    misplaced = hashlib.sha256(b"elsewhere").hexdigest()
    (folder / misplaced).write_bytes(b"in the wrong folder")
    assert list(k1_store.addresses()) == [address]


def test_rotation_moves_every_blob_to_the_new_key(k1_store: EncryptedBlobStore) -> None:
    contents = {k1_store.put(marker(f"rotate-{n}")): marker(f"rotate-{n}") for n in range(6)}
    both = Keyring({"k2": K2, "k1": K1}, current_id="k2")

    report = rotate(k1_store, both)
    assert (report.rotated, report.skipped, dict(report.failed)) == (6, 0, {})

    for keyring in (both, Keyring({"k2": K2}, current_id="k2")):
        store = EncryptedBlobStore(k1_store.root, keyring)
        for address, data in contents.items():
            assert store.key_id(address) == "k2"
            assert store.get(address) == data
    with pytest.raises(BlobKeyError, match="key 'k2'"):
        k1_store.get(next(iter(contents)))

    again = rotate(k1_store, both)
    assert (again.rotated, again.skipped, dict(again.failed)) == (0, 6, {})


def test_interrupted_rotation_resumes(k1_store: EncryptedBlobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    contents = {k1_store.put(marker(f"resume-{n}")): marker(f"resume-{n}") for n in range(8)}
    both = Keyring({"k2": K2, "k1": K1}, current_id="k2")
    real_write = EncryptedBlobStore._write
    calls = 0

    def write_then_crash(self: EncryptedBlobStore, address: str, plaintext: bytes) -> None:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise KeyboardInterrupt  # the operator's Ctrl-C, midway through the fourth blob
        real_write(self, address, plaintext)

    monkeypatch.setattr(EncryptedBlobStore, "_write", write_then_crash)
    with pytest.raises(KeyboardInterrupt):
        rotate(k1_store, both)
    monkeypatch.undo()

    key_ids = [k1_store.key_id(address) for address in sorted(contents)]
    assert key_ids == ["k2"] * 3 + ["k1"] * 5
    assert not [path for path in files_under(k1_store.root) if path.suffix == ".tmp"]
    mid = EncryptedBlobStore(k1_store.root, both)
    assert all(mid.get(address) == data for address, data in contents.items())

    report = rotate(k1_store, both)
    assert (report.rotated, report.skipped, dict(report.failed)) == (5, 3, {})
    final = EncryptedBlobStore(k1_store.root, Keyring({"k2": K2}, current_id="k2"))
    assert all(final.get(address) == data for address, data in contents.items())


def test_failed_write_keeps_the_old_blob_and_no_temporary_file(k1_store: EncryptedBlobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    address = k1_store.put(marker("disk-full"))

    def disk_full(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(blobs_module.os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        rotate(k1_store, Keyring({"k2": K2, "k1": K1}, current_id="k2"))
    monkeypatch.undo()

    assert files_under(k1_store.root) == [k1_store.path(address)]
    assert k1_store.key_id(address) == "k1"
    assert k1_store.get(address) == marker("disk-full")


def test_rotation_records_unreadable_blobs_and_carries_on(k1_store: EncryptedBlobStore) -> None:
    good = k1_store.put(marker("good"))
    orphan_store = EncryptedBlobStore(k1_store.root, Keyring({"k0": generate_key()}, current_id="k0"))
    orphan = orphan_store.put(marker("orphan"))

    report = rotate(k1_store, Keyring({"k2": K2, "k1": K1}, current_id="k2"))
    assert (report.rotated, report.skipped) == (1, 0)
    assert list(report.failed) == [orphan]
    assert "key 'k0'" in report.failed[orphan]
    assert k1_store.key_id(good) == "k2"
    assert orphan_store.get(orphan) == marker("orphan")  # left untouched


def test_key_file_round_trip_is_private(tmp_path: Path) -> None:
    path = tmp_path / "content.keys"
    keyring = Keyring({"k2": K2, "k1": K1}, current_id="k2")
    write_key_file(path, keyring)
    if os.name == "posix":
        assert path.stat().st_mode & 0o777 == 0o600
    loaded = load_key_file(path)
    assert loaded.current_id == "k2" and loaded.key_ids == ("k2", "k1")
    assert loaded.get("k1") == K1 and loaded.get("k2") == K2
    assert load_keyring(path, environ={}).current_key == K2


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "content.keys"
    write_key_file(path, Keyring({"k1": K1}, current_id="k1"))
    path.chmod(mode)
    with pytest.raises(KeyringError, match=f"mode {mode:04o}.*chmod 600"):
        load_key_file(path)


def test_missing_key_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="key file not found"):
        load_key_file(tmp_path / "absent.keys")


def test_keyring_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b64 = {name: base64.b64encode(key).decode() for name, key in (("k1", K1), ("k2", K2))}
    monkeypatch.setenv(ENV_VAR, f"k2:{b64['k2']}, k1:{b64['k1']}")
    keyring = load_keyring()
    assert keyring.current_id == "k2" and keyring.get("k1") == K1

    address = EncryptedBlobStore(tmp_path, Keyring({"k1": K1}, current_id="k1")).put(marker("env"))
    assert EncryptedBlobStore(tmp_path, keyring).get(address) == marker("env")

    monkeypatch.delenv(ENV_VAR)
    with pytest.raises(KeyringError, match=f"no content keys configured.*{ENV_VAR}"):
        load_keyring()


def test_text_format_with_comments_and_lines() -> None:
    keyring = Keyring({"new.2026-11": K2, "old_1": K1}, current_id="new.2026-11")
    text = format_keyring(keyring)
    assert text.startswith("#")
    parsed = parse_keyring(text + "\n# trailing comment\n\n", "test")
    assert parsed.items() == keyring.items()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no keys"),
        ("# only a comment\n", "no keys"),
        (base64.b64encode(K1).decode(), "entry 1 is not"),
        (f"k1:{base64.b64encode(K1[:16]).decode()}", "16 bytes; AES-256 needs 32"),
        ("k1:not base64!", "not valid base64"),
        (f"k1:{base64.b64encode(K1).decode()}\nk1:{base64.b64encode(K2).decode()}", "appears twice"),
        (f"bad id:{base64.b64encode(K1).decode()}", "key id 'bad id'"),
    ],
    ids=["empty", "comment only", "no key id", "short key", "not base64", "duplicate id", "bad key id"],  # keys are random: ids must not show them
)
def test_malformed_keyrings_are_refused_without_echoing_keys(text: str, message: str) -> None:
    with pytest.raises(KeyringError, match=message) as caught:
        parse_keyring(text, "keys.txt")
    assert base64.b64encode(K1).decode() not in str(caught.value)
    assert str(caught.value).startswith("keys.txt: ")


def test_keyring_never_shows_key_material() -> None:
    keyring = Keyring({"k1": K1}, current_id="k1")
    assert len(generate_key()) == KEY_BYTES and generate_key() != generate_key()
    assert base64.b64encode(K1).decode() not in repr(keyring) and K1.hex() not in repr(keyring)
    assert "k1" in repr(keyring)
    with pytest.raises(KeyringError, match="current key 'k9'"):
        Keyring({"k1": K1}, current_id="k9")


def test_blob_module_documents_rotation() -> None:
    doc = blobs_module.__doc__ or ""
    for step in ("FIRST in the key file", "rotate(store, new_keyring)", "remove the old key"):
        assert step in doc
