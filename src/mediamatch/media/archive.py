"""Reading zip and tar archives as collections of files, in memory and within limits.

A seized collection often arrives as an archive. Extracting it to disk would write contraband
to another place and trusts member names and sizes an adversary chose, so members are read
straight into memory, one at a time, and every member an adversary could use against us
becomes an error entry instead of a file: names that climb out of the archive (`../`,
absolute paths, drive letters), links, devices, members whose real uncompressed size passes
the per-file limit (the stated size is not trusted: reading stops one byte past the limit), and
members past the whole archive's uncompressed budget or ratio (zip bombs).
"""

from __future__ import annotations

import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mediamatch.catalog.hashes import BytesSource

MAX_MEMBER_BYTES = 512 * 1024 * 1024
MAX_TOTAL_BYTES = 64 * 1024**3
MAX_RATIO = 200  # uncompressed / compressed for one member; text compresses ~10x, bombs 1000x+
READ_CHUNK = 1 << 20


class ArchiveError(Exception):
    """The archive as a whole cannot be read (not an archive, corrupt directory)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One file of a collection: its name relative to the collection, and its bytes or the
    reason it was not read (the triage report keeps a row for it either way)."""

    name: str
    source: BytesSource | Path | None
    error: str | None = None


def is_archive(path: Path) -> bool:
    if not path.is_file():
        return False
    return zipfile.is_zipfile(path) or _is_tar(path)


def _is_tar(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


def unsafe_name_reason(name: str) -> str | None:
    """Why a member name would escape the archive, or None when it stays inside."""
    if not name or "\x00" in name:
        return "empty or NUL in member name"
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":"):
        return "absolute member name (path traversal)"
    if ".." in PurePosixPath(normalised).parts:
        return "member name climbs out of the archive (path traversal)"
    return None


@dataclass
class _Budget:
    left: int = MAX_TOTAL_BYTES

    def read(self, stream, compressed: int) -> bytes:  # type: ignore[no-untyped-def]
        limit = min(MAX_MEMBER_BYTES, self.left)
        ratio_limit = max(compressed, 1) * MAX_RATIO + READ_CHUNK
        chunks: list[bytes] = []
        size = 0
        while chunk := stream.read(READ_CHUNK):
            size += len(chunk)
            if size > limit:
                raise ValueError(f"refused: uncompressed size passes the {limit:,}-byte limit (archive bomb?)")
            if size > ratio_limit:
                raise ValueError(f"refused: expands more than {MAX_RATIO}x its compressed size (archive bomb?)")
            chunks.append(chunk)
        self.left -= size
        return b"".join(chunks)


def iter_archive(path: Path) -> Iterator[Entry]:
    """Every member of a zip or tar archive as an Entry, in the archive's order."""
    if zipfile.is_zipfile(path):
        yield from _iter_zip(path)
    elif _is_tar(path):
        yield from _iter_tar(path)
    else:
        raise ArchiveError(f"{path}: not a zip or tar archive")


def _iter_zip(path: Path) -> Iterator[Entry]:
    budget = _Budget()
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"{path}: cannot read zip directory: {exc}") from None
    with archive:
        for info in archive.infolist():
            name = info.filename
            if info.is_dir():
                continue
            if reason := unsafe_name_reason(name):
                yield Entry(name, None, f"refused: {reason}")
                continue
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                yield Entry(name, None, "symbolic link inside the archive (not followed)")
                continue
            try:
                with archive.open(info) as stream:
                    data = budget.read(stream, info.compress_size)
            except (ValueError, zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
                yield Entry(name, None, _member_error(exc))
                continue
            yield Entry(name, BytesSource(name, data))


def _iter_tar(path: Path) -> Iterator[Entry]:
    budget = _Budget()
    try:
        archive = tarfile.open(path, mode="r:*")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ArchiveError(f"{path}: cannot open tar archive: {exc}") from None
    with archive:
        try:
            for info in archive:
                name = info.name
                if info.isdir():
                    continue
                if reason := unsafe_name_reason(name):
                    yield Entry(name, None, f"refused: {reason}")
                    continue
                if info.issym() or info.islnk():
                    yield Entry(name, None, "link inside the archive (not followed)")
                    continue
                if not info.isfile():
                    yield Entry(name, None, "not a regular file (device, fifo)")
                    continue
                try:
                    stream = archive.extractfile(info)
                    # tar members are stored, not compressed one by one: the ratio check does
                    # not apply, the size limits do.
                    data = budget.read(stream, info.size) if stream else b""
                except (ValueError, tarfile.TarError, OSError, EOFError) as exc:
                    yield Entry(name, None, _member_error(exc))
                    continue
                yield Entry(name, BytesSource(name, data))
        except (tarfile.TarError, OSError, EOFError) as exc:
            yield Entry(f"{path.name} (rest of archive)", None, f"archive is corrupt or truncated here: {exc}")


def _member_error(exc: BaseException) -> str:
    message = str(exc) or type(exc).__name__
    return message if message.startswith("refused") else f"cannot read member: {message}"
