"""Content blobs encrypted at rest: AES-256-GCM files named by the SHA-256 of their plaintext.

The catalogue keeps hashes and metadata in the database; copies of the media themselves live
here, one file per distinct content, so the same picture contributed by ten agencies is
stored once. Nothing under the store's root holds plaintext: an operator with the disk, a
backup tape or a stolen volume snapshot, but not the keys, learns only what the catalogue's
hash lists already publish (the SHA-256 of each item) and roughly how large each item is.

Layout: `root/ab/cd/<sha256 hex>` where `ab` and `cd` are the address's first four hex
digits, so no folder grows past a few thousand entries even at tens of millions of items.

File format (version 1):

    offset   size   field
    0        7      magic b"MMBLOB1" (the trailing "1" is the format version)
    7        1      L, the length of the key id (1-64)
    8        L      key id, ASCII: which key of the deployment's keyring encrypted this blob
    8+L      12     nonce, random per write
    20+L     n+16   AES-256-GCM ciphertext of the n plaintext bytes, then the 16-byte tag

The associated data authenticated with the ciphertext is the whole header (bytes 0 to 20+L)
followed by the 32-byte address. So a blob copied or renamed to another address, or a header
edited to name another key, fails authentication instead of decrypting as the wrong item; and
after decryption the plaintext's SHA-256 is checked against the address as well.

Nonces are 96 random bits, fresh for every write (rotation included). NIST SP 800-38D bounds
random-nonce GCM to 2**32 encryptions per key, far above any catalogue's size; rotating keys
resets the count anyway.

Writes are atomic: a private temporary file in the destination folder, fsync-ed, then renamed
over the final name. A crash leaves either the old file, the new one, or a stray `*.tmp` that
readers ignore. A whole blob is held in memory while it is encrypted or decrypted, which is why
`put` has a size limit (default 512 MiB; AES-GCM in `cryptography` takes at most 2**31 - 1
bytes at once).

Key rotation (keys and their file format: `mediamatch.store.keys`):

1. Generate a new key (`keys.generate_key()`) and make it current while keeping the old one:
   put its line FIRST in the key file (or `$MEDIAMATCH_CONTENT_KEYS`), the old key after it.
2. Restart every process that writes blobs, so new content is encrypted under the new key.
3. Run `rotate(store, new_keyring)`. It re-encrypts every blob not yet under the current key,
   one atomic replacement per blob, so it can be interrupted and simply run again: blobs
   already under the current key are skipped. Readers keep working throughout, since the
   keyring holds both keys.
4. When a run reports `failed == {}` and `rotated == 0`, no blob needs the old key any more:
   remove the old key's line from the key file and restart. Keep a sealed offline copy of the
   old key until backups made before the rotation have expired, as those backups need it.

Avoid deleting blobs while a rotation runs: a blob rotated just after being deleted would be
written back.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mediamatch.atomic import atomic_open
from mediamatch.store.keys import Keyring

MAGIC = b"MMBLOB1"
NONCE_BYTES = 12
TAG_BYTES = 16
MAX_KEY_ID_BYTES = 64
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
AESGCM_MAX_BYTES = 2**31 - 1  # the most `cryptography`'s AESGCM accepts in one call
_HEADER_MAX = len(MAGIC) + 1 + MAX_KEY_ID_BYTES + NONCE_BYTES
_ADDRESS = re.compile(r"[0-9a-f]{64}")


class BlobError(Exception):
    """A blob could not be stored or read."""


class BlobNotFound(BlobError, LookupError):
    """No blob is stored at this address."""


class BlobCorrupt(BlobError):
    """The file at this address is not an intact blob for it."""


class BlobKeyError(BlobError):
    """The key this blob needs is absent from the keyring, or is not the key it was written with."""


class BlobAuthenticationFailed(BlobKeyError, BlobCorrupt):
    """The GCM tag did not verify.

    GCM cannot tell a wrong key from tampered bytes, so this is both a key error and a
    corruption error: callers may catch whichever they handle.
    """


class BlobTooLarge(BlobError, ValueError):
    """The content is larger than this store accepts."""


@dataclass(frozen=True, slots=True)
class _Header:
    raw: bytes
    key_id: str
    nonce: bytes


def _pack_header(key_id: str, nonce: bytes) -> bytes:
    encoded = key_id.encode("ascii")
    return MAGIC + bytes([len(encoded)]) + encoded + nonce


def _parse_header(data: bytes, address: str) -> _Header:
    if not data.startswith(MAGIC):
        raise BlobCorrupt(f"blob {address}: not a mediamatch blob (bad magic)")
    offset = len(MAGIC)
    length = data[offset] if len(data) > offset else 0
    end = offset + 1 + length + NONCE_BYTES
    if not 1 <= length <= MAX_KEY_ID_BYTES or len(data) < end:
        raise BlobCorrupt(f"blob {address}: truncated or malformed header")
    try:
        key_id = data[offset + 1 : offset + 1 + length].decode("ascii")
    except UnicodeDecodeError:
        raise BlobCorrupt(f"blob {address}: key id in header is not ASCII") from None
    return _Header(raw=data[:end], key_id=key_id, nonce=data[end - NONCE_BYTES : end])


def _associated_data(header: bytes, address: str) -> bytes:
    """What the tag binds besides the ciphertext: the header (so the key id) and the address."""
    return header + bytes.fromhex(address)


class EncryptedBlobStore:
    """Put, get, test and delete encrypted content by the SHA-256 of its plaintext."""

    def __init__(self, root: Path, keyring: Keyring, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if not 0 < max_bytes <= AESGCM_MAX_BYTES:
            raise ValueError(f"max_bytes must be between 1 and {AESGCM_MAX_BYTES}, not {max_bytes}")
        self.root = Path(root)
        self.keyring = keyring
        self.max_bytes = max_bytes

    def path(self, address: str) -> Path:
        """Where the blob for `address` lives; refuses anything but 64 lowercase hex digits,
        so an address taken from a request can never name a path outside the root."""
        if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
            raise ValueError(f"not a SHA-256 address (64 lowercase hex digits): {address!r}")
        return self.root / address[:2] / address[2:4] / address

    def put(self, data: bytes) -> str:
        """Store `data` encrypted under the current key; return its address.

        Content already present is not written again, whichever key it is under.
        """
        if len(data) > self.max_bytes:
            raise BlobTooLarge(f"content is {len(data)} bytes; this store accepts at most {self.max_bytes}")
        address = hashlib.sha256(data).hexdigest()
        if not self.path(address).exists():
            self._write(address, data)
        return address

    def get(self, address: str) -> bytes:
        """The plaintext for `address`, after checking the GCM tag and the plaintext's SHA-256."""
        try:
            data = self.path(address).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"no blob stored at {address}") from None
        header = _parse_header(data, address)
        key = self.keyring.get(header.key_id)
        if key is None:
            raise BlobKeyError(f"blob {address}: content encrypted with key {header.key_id!r}, which this deployment's keyring does not hold")
        body = memoryview(data)[len(header.raw) :]  # no copy of a large ciphertext
        if len(body) < TAG_BYTES:
            raise BlobCorrupt(f"blob {address}: truncated (no room for the authentication tag)")
        try:
            plaintext = AESGCM(key).decrypt(header.nonce, body, _associated_data(header.raw, address))
        except InvalidTag:
            raise BlobAuthenticationFailed(f"blob {address}: authentication failed: wrong key or tampered blob (key {header.key_id!r})") from None
        if hashlib.sha256(plaintext).hexdigest() != address:
            raise BlobCorrupt(f"blob {address}: decrypted content does not match its address")
        return plaintext

    def exists(self, address: str) -> bool:
        return self.path(address).is_file()

    def delete(self, address: str) -> bool:
        """Remove the blob; True if there was one (deleting twice is not an error)."""
        try:
            self.path(address).unlink()
        except FileNotFoundError:
            return False
        return True

    def key_id(self, address: str) -> str:
        """Which key encrypted the blob, read from its header alone (rotation's cheap check)."""
        try:
            with open(self.path(address), "rb") as handle:
                prefix = handle.read(_HEADER_MAX)
        except FileNotFoundError:
            raise BlobNotFound(f"no blob stored at {address}") from None
        return _parse_header(prefix, address).key_id

    def reencrypt(self, address: str) -> bool:
        """Rewrite the blob under the current key; False, writing nothing, if it already is."""
        if self.key_id(address) == self.keyring.current_id:
            return False
        self._write(address, self.get(address))
        return True

    def addresses(self) -> Iterator[str]:
        """Every stored address in sorted order; stray temporary files and foreign files are skipped."""
        for first in _sorted_dirs(self.root):
            for second in _sorted_dirs(first):
                names = sorted(entry.name for entry in os.scandir(second) if entry.is_file())
                for name in names:
                    if _ADDRESS.fullmatch(name) and name[:2] == first.name and name[2:4] == second.name:
                        yield name

    def _write(self, address: str, plaintext: bytes) -> None:
        """Encrypt under the current key and atomically replace whatever is at `address`."""
        path = self.path(address)
        path.parent.mkdir(parents=True, exist_ok=True)
        key_id = self.keyring.current_id
        nonce = os.urandom(NONCE_BYTES)
        header = _pack_header(key_id, nonce)
        body = AESGCM(self.keyring.current_key).encrypt(nonce, plaintext, _associated_data(header, address))
        with atomic_open(path, "wb", private=True) as out:
            out.write(header)
            out.write(body)


def _sorted_dirs(path: Path) -> list[Path]:
    if not path.is_dir():
        return []
    return sorted(Path(entry.path) for entry in os.scandir(path) if entry.is_dir() and len(entry.name) == 2)


@dataclass(frozen=True, slots=True)
class RotationReport:
    """What one `rotate` run did. `failed` maps an address to why it could not be re-encrypted."""

    rotated: int = 0
    skipped: int = 0
    failed: Mapping[str, str] = field(default_factory=dict)


def rotate(store: EncryptedBlobStore, new_keyring: Keyring) -> RotationReport:
    """Re-encrypt every blob under `new_keyring`'s current key, one atomic replacement each.

    `new_keyring` must still hold the old keys, as it decrypts with them. Blobs already under
    the current key are skipped, which makes an interrupted run resumable. A blob that cannot
    be read (its key is missing, it is corrupt) is recorded in `failed` and left untouched
    rather than stopping the run; the old key must not be removed while any remain.
    """
    target = EncryptedBlobStore(store.root, new_keyring, max_bytes=store.max_bytes)
    rotated = skipped = 0
    failed: dict[str, str] = {}
    for address in target.addresses():
        try:
            if target.reencrypt(address):
                rotated += 1
            else:
                skipped += 1
        except BlobNotFound:
            continue  # deleted since the listing: nothing left to rotate
        except BlobError as exc:
            failed[address] = str(exc)
    return RotationReport(rotated=rotated, skipped=skipped, failed=failed)
