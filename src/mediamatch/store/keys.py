"""The deployment's content keys: which AES-256 key encrypts new blobs, which ones still decrypt.

A deployment holds a *keyring*: one current key, used for every new blob, and any number of
older keys kept only so blobs written before a rotation stay readable (see
`mediamatch.store.blobs` for the rotation procedure). Each key has a short id; the id is
written in every blob's header, so a blob names the key it needs and a missing key is
reported by name instead of as an opaque decryption failure.

Keyring text format, used by both the key file and `$MEDIAMATCH_CONTENT_KEYS`:

    # mediamatch content keys; the first entry is the current key
    k2:<base64 of 32 random bytes>
    k1:<base64 of 32 random bytes>

Entries are `<key id>:<base64 key>`, separated by new lines or commas (the comma form fits an
environment variable: `MEDIAMATCH_CONTENT_KEYS="k2:...,k1:..."`). Lines starting with `#` are
comments. The FIRST entry is the current key. Key ids are 1-64 characters of letters, digits,
`.`, `_` and `-`.

A key file must be readable by its owner only (mode 0600): a key that other local users can
read protects nothing, so a group- or world-accessible file is refused rather than warned
about. Prefer the key file; the environment variable suits containers whose secret store
injects variables, but environments leak more easily (process listings, crash reports).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from mediamatch.atomic import atomic_write

KEY_BYTES = 32  # AES-256
ENV_VAR = "MEDIAMATCH_CONTENT_KEYS"
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")


class KeyringError(ValueError):
    """The deployment's keyring is missing, malformed, or stored where others can read it."""


class Keyring:
    """Key material by id, plus which id encrypts new content.

    Immutable, and its repr never shows key bytes, so a keyring can appear in logs and
    tracebacks safely.
    """

    __slots__ = ("_current_id", "_keys")

    def __init__(self, keys: Mapping[str, bytes], current_id: str) -> None:
        for key_id, key in keys.items():
            if not KEY_ID_PATTERN.fullmatch(key_id):
                raise KeyringError(f"key id {key_id!r}: use 1-64 letters, digits, '.', '_' or '-'")
            if len(key) != KEY_BYTES:
                raise KeyringError(f"key {key_id!r} is {len(key)} bytes; AES-256 needs {KEY_BYTES}")
        if current_id not in keys:
            raise KeyringError(f"current key {current_id!r} is not in the keyring")
        self._keys = dict(keys)
        self._current_id = current_id

    @property
    def current_id(self) -> str:
        return self._current_id

    @property
    def current_key(self) -> bytes:
        return self._keys[self._current_id]

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every id, the current one first."""
        return tuple(key_id for key_id, _ in self.items())

    def items(self) -> list[tuple[str, bytes]]:
        """(id, key) pairs, the current one first (the order the text format needs)."""
        return sorted(self._keys.items(), key=lambda item: item[0] != self._current_id)

    def get(self, key_id: str) -> bytes | None:
        return self._keys.get(key_id)

    def __repr__(self) -> str:
        return f"Keyring(current={self._current_id!r}, ids={list(self.key_ids)!r})"


def generate_key() -> bytes:
    """32 bytes from the operating system's CSPRNG: a new AES-256 content key."""
    return secrets.token_bytes(KEY_BYTES)


def parse_keyring(text: str, source: str) -> Keyring:
    """Read the keyring text format; `source` names where it came from in error messages."""
    entries = [entry.strip() for line in text.splitlines() if not line.lstrip().startswith("#") for entry in line.split(",") if entry.strip()]
    if not entries:
        raise KeyringError(f"{source}: no keys (expected lines of '<key id>:<base64 key>')")
    keys: dict[str, bytes] = {}
    for number, entry in enumerate(entries, start=1):
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep:  # never echo the entry: it may be bare key material
            raise KeyringError(f"{source}: entry {number} is not '<key id>:<base64 key>'")
        if key_id in keys:
            raise KeyringError(f"{source}: key id {key_id!r} appears twice")
        try:
            keys[key_id] = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error:
            raise KeyringError(f"{source}: key {key_id!r} is not valid base64") from None
    try:
        return Keyring(keys, current_id=next(iter(keys)))
    except KeyringError as exc:
        raise KeyringError(f"{source}: {exc}") from None


def format_keyring(keyring: Keyring) -> str:
    """The keyring in the text format, current key first."""
    lines = ["# mediamatch content keys; the first entry is the current key"]
    for key_id, key in keyring.items():
        lines.append(f"{key_id}:{base64.b64encode(key).decode('ascii')}")
    return "\n".join(lines) + "\n"


def _check_private(path: Path) -> None:
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise KeyringError(f"{path}: not a regular file")
    if os.name == "posix" and info.st_mode & 0o077:
        mode = stat.S_IMODE(info.st_mode)
        raise KeyringError(f"{path}: mode {mode:04o} lets other users on this machine read or change the content keys; make it private with `chmod 600 {path}`")


def load_key_file(path: Path) -> Keyring:
    """Read a key file, refusing one that is not private to its owner."""
    try:
        _check_private(path)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyringError(f"{path}: key file not found") from None
    return parse_keyring(text, str(path))


def write_key_file(path: Path, keyring: Keyring) -> None:
    """Write `keyring` to `path` with mode 0600 from the first byte, replacing it atomically.

    The temporary file is created private (never chmod-ed afterwards), so there is no moment
    when the keys sit in a readable file.
    """
    atomic_write(path, format_keyring(keyring), private=True)


def load_keyring(key_file: Path | None = None, environ: Mapping[str, str] | None = None) -> Keyring:
    """The deployment keyring: from `key_file` when given, else from `$MEDIAMATCH_CONTENT_KEYS`.

    There is deliberately no built-in default key: content encrypted under a key shipped with
    the software would be readable by anyone holding the software.
    """
    if key_file is not None:
        return load_key_file(key_file)
    value = (os.environ if environ is None else environ).get(ENV_VAR, "")
    if not value.strip():
        raise KeyringError(f"no content keys configured: give a key file (mode 0600) or set ${ENV_VAR} to '<key id>:<base64 key>[,<older id>:<base64 key>...]'")
    return parse_keyring(value, f"${ENV_VAR}")
