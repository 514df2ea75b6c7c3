"""Replacing a file atomically: readers see the old file or the new one, never half of either.

Every writer of a file someone else reads (reports, exports, hash lists, key files, encrypted
blobs, saved indexes) goes through here, so they all behave alike:

- the new content goes to a temporary file in the destination folder (a rename is atomic only
  within one file system), under a unique name (`.NAME.<random>.tmp`), so two writers of the
  same file never write into each other's temporary file;
- the file is fsync-ed before the rename and the folder after it, so after a crash the name
  points at the complete old or the complete new file;
- `private=True` creates the temporary file with mode 0600 from its first byte (key files):
  there is no moment at which the content sits in a readable file;
- on any error the temporary file is removed and the destination is left as it was.

A crash between creating and renaming can leave a stray `.NAME.*.tmp`; readers never look
at such names, and the next successful write leaves its own none behind.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

PRIVATE_MODE = 0o600
_SHARED_MODE = 0o666  # narrowed by the process umask, as for any file the process creates


def temp_name(path: Path) -> Path:
    """A fresh temporary name beside `path` (hidden, unique, ends in `.tmp`)."""
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")


@contextmanager
def atomic_open(path: Path, mode: str = "wb", *, private: bool = False, encoding: str | None = None, newline: str | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file for writing that replaces `path` when the block ends without error.

    `mode` is "wb" or "w" (text: give `encoding`, and `newline` as for `open`)."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open writes a new file: mode 'wb' or 'w', not {mode!r}")
    temp = temp_name(path)
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), PRIVATE_MODE if private else _SHARED_MODE)
    try:
        with os.fdopen(descriptor, mode, encoding=encoding, newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


def atomic_write(path: Path, data: bytes | bytearray | memoryview | str, *, private: bool = False) -> None:
    """Replace `path` with `data` (text is written as UTF-8) atomically; see the module notes."""
    if isinstance(data, str):
        with atomic_open(path, "w", private=private, encoding="utf-8", newline="") as handle:
            handle.write(data)
    else:
        with atomic_open(path, "wb", private=private) as handle:
            handle.write(data)


def fsync_folder(folder: Path) -> None:
    """Make a rename inside `folder` durable; only POSIX can open a folder for fsync."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
