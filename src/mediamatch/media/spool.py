"""Large archive members spooled to disk, encrypted, instead of travelling in memory.

A member is read from its archive by the process walking the collection and hashed by a worker
process. Held in memory it exists three times at once (the reader's copy, the pickled copy on
its way, the worker's copy): a zip of 400 MB members peaked at 2.58 GB with two workers. Past
SPOOL_BYTES the reader therefore streams the member into a private temporary file (mode 0600)
and sends the worker only the file's name and key; the worker reads it back, and the parent's
record of it (`SpooledSource`) removes the file once the member is hashed and forgotten.

Seized content must not land on the examiner's disk in the clear, so the file is encrypted with
AES-256-CTR under a random key and nonce made for that one file and held only in memory (and
in the message to the worker, never on disk): what stays behind after a crash is noise.
"""

from __future__ import annotations

import io
import os
import tempfile
import weakref
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from mediamatch.catalog.hashes import SpooledSource

SPOOL_BYTES = 16 * 1024 * 1024  # members up to this travel in memory; larger ones are spooled
CHUNK = 1 << 20


class SpoolWriter:
    """A member being spooled: `write` its chunks, then `finish` (or `discard`)."""

    def __init__(self, name: str, first: bytes = b"") -> None:
        self.name = name
        self.key, self.nonce = os.urandom(32), os.urandom(16)
        self._encryptor = Cipher(algorithms.AES(self.key), modes.CTR(self.nonce)).encryptor()
        descriptor, path = tempfile.mkstemp(prefix="mediamatch-member-", suffix=".spool")  # mode 0600
        self.path = Path(path)
        self._file = os.fdopen(descriptor, "wb")
        self.size = 0
        self.write(first)

    def write(self, chunk: bytes) -> None:
        self._file.write(self._encryptor.update(chunk))
        self.size += len(chunk)

    def finish(self) -> SpooledSource:
        self._file.write(self._encryptor.finalize())
        self._file.close()
        source = SpooledSource(self.name, self.path, self.size, self.key, self.nonce)
        weakref.finalize(source, _remove, self.path)  # here only: a copy a worker unpickles removes nothing
        return source

    def discard(self) -> None:
        self._file.close()
        _remove(self.path)


def read_spooled(source: SpooledSource, limit: int | None = None) -> bytes:
    """The member's bytes (its first `limit` bytes when given), decrypted in chunks into one buffer."""
    decryptor = Cipher(algorithms.AES(source.key), modes.CTR(source.nonce)).decryptor()
    wanted = source.size if limit is None else min(limit, source.size)
    data = io.BytesIO()  # hands its buffer over on getvalue(): the member is held once
    with source.path.open("rb") as file:
        while data.tell() < wanted and (chunk := file.read(min(CHUNK, wanted - data.tell()))):
            data.write(decryptor.update(chunk))
    return data.getvalue()


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
