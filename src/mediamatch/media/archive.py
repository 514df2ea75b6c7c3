"""Reading zip, tar, 7z and RAR archives as collections of files, in memory and within limits.

A seized collection often arrives as an archive. Extracting it to disk would write contraband
to another place and trusts member names and sizes an adversary chose, so members are read
straight into memory, one at a time (a member past media/spool.SPOOL_BYTES goes to an encrypted
temporary file instead, so that it is not held three times over on its way to a hashing
process), and every member an adversary could use against us
becomes an error entry instead of a file: names that climb out of the archive (`../`,
absolute paths, drive letters), links, devices, members whose real uncompressed size passes
the per-file limit (the stated size is not trusted: reading stops one byte past the limit), and
members past the whole archive's uncompressed budget or ratio (zip bombs).

An archive inside an archive (a seized drive's backup of a backup) is opened in turn, from
memory: its members are named `outer/inner.zip!/photo.jpg`, and the outermost archive's budget
(MAX_TOTAL_BYTES, one per archive found on disk) covers everything inside it, so nesting cannot
multiply a bomb. At most MAX_NESTING archives deep and MAX_HELD_BYTES of inner archives held in
memory at once; past either, the inner archive is an error entry.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO

from mediamatch.catalog.hashes import BytesSource, SpooledSource
from mediamatch.media.spool import SPOOL_BYTES, SpoolWriter, read_spooled

MAX_MEMBER_BYTES = 512 * 1024 * 1024
MAX_TOTAL_BYTES = 64 * 1024**3
MAX_RATIO = 200  # uncompressed / compressed for one member; text compresses ~10x, bombs 1000x+
READ_CHUNK = 1 << 20
MAX_NESTING = 4  # archives within archives, the outermost counting as 1
MAX_HELD_BYTES = 512 * 1024 * 1024  # inner archives held in memory at once, all levels together
NESTED_MARK = "!/"  # between an archive's name and a member's: `drive.zip!/photos/a.jpg`
HEAD_BYTES = 512  # enough for the tar header's "ustar" magic at offset 257

ZIP_MAGIC, EMPTY_ZIP_MAGIC = b"PK\x03\x04", b"PK\x05\x06"
# 7z and RAR (4 and 5) are read through libarchive (the `archives` extra): one maintained C
# library for both, already a Debian system package; py7zr reads 7z only, and rarfile needs an
# external unrar program (Debian main has only unrar-free, which cannot read RAR 5).
LIBARCHIVE_FORMATS = {b"7z\xbc\xaf\x27\x1c": "7zip", b"Rar!\x1a\x07\x00": "rar", b"Rar!\x1a\x07\x01\x00": "rar5"}
_COMPRESSED_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")  # gzip, bzip2, xz: a tar only if it decompresses to one


class ArchiveError(Exception):
    """The archive as a whole cannot be read (not an archive, corrupt directory)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One file of a collection: its name relative to the collection, and its bytes or the
    reason it was not read (the triage report keeps a row for it either way)."""

    name: str
    source: BytesSource | SpooledSource | Path | None
    error: str | None = None


def is_archive(path: Path) -> bool:
    """Whether the file at `path` is a zip, tar (plain or gzip/bzip2/xz compressed), 7z or RAR archive,
    judged by its magic bytes first, so a walk over a million pictures opens none as an archive."""
    if not path.is_file():
        return False
    try:
        with path.open("rb") as file:
            return _is_archive(file)
    except OSError:
        return False


def _is_archive(file: BinaryIO) -> bool:
    """Whether `file` holds an archive we open; reads it from the start, leaves it there."""
    try:
        head = file.read(HEAD_BYTES)
        file.seek(0)
        if head[:4] in (ZIP_MAGIC, EMPTY_ZIP_MAGIC):
            return zipfile.is_zipfile(file)
        if head[257:262] == b"ustar" or _libarchive_format(head):
            return True
        return head.startswith(_COMPRESSED_MAGIC) and _is_tar(file)
    finally:
        file.seek(0)


def _libarchive_format(head: bytes) -> str | None:
    """libarchive's name for the format of a 7z or RAR file, by its magic bytes; else None."""
    return next((name for magic, name in LIBARCHIVE_FORMATS.items() if head.startswith(magic)), None)


def _is_tar(file: BinaryIO) -> bool:
    try:
        with tarfile.open(fileobj=file, mode="r:*"):
            return True
    except Exception:  # noqa: BLE001 - anything a damaged or foreign stream provokes: not a readable tar
        return False
    finally:
        file.seek(0)


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
    """What is left of one outermost archive's allowance, shared by the archives inside it."""

    left: int
    held: int = 0  # bytes of inner archives being read from memory right now

    def read(self, chunks: Iterable[bytes], compressed: int, name: str) -> BytesSource | SpooledSource:
        """The member named `name`, whose bytes `chunks` yields, read within the limits: in
        memory, or spooled past SPOOL_BYTES; ValueError (starting "refused") past a limit."""
        limit = min(MAX_MEMBER_BYTES, self.left)
        ratio_limit = max(compressed, 1) * MAX_RATIO + READ_CHUNK
        # A BytesIO hands its buffer over on getvalue(); joining a list of chunks would hold
        # the member twice at the end (measured: a 400 MB member peaked at 800 MB).
        data = io.BytesIO()
        spool: SpoolWriter | None = None
        size = 0
        try:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise ValueError(f"refused: uncompressed size passes the {limit:,}-byte limit (archive bomb?)")
                if size > ratio_limit:
                    raise ValueError(f"refused: expands more than {MAX_RATIO}x its compressed size (archive bomb?)")
                if spool is not None:
                    spool.write(chunk)
                elif size > SPOOL_BYTES:
                    spool = SpoolWriter(name, data.getvalue())
                    data = io.BytesIO()
                    spool.write(chunk)
                else:
                    data.write(chunk)
        except BaseException:
            if spool is not None:
                spool.discard()
            raise
        self.left -= size
        return spool.finish() if spool is not None else BytesSource(name, data.getvalue())


def iter_archive(path: Path, prefix: str = "") -> Iterator[Entry]:
    """Every member of an archive as an Entry, in the archive's order, the members of
    archives inside it in place of those archives. Names start with `prefix`."""
    try:
        file = path.open("rb")
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot open: {exc.strerror or exc}") from None
    with file:
        yield from _iter_any(file, str(path), prefix, _Budget(MAX_TOTAL_BYTES), depth=1)


def _iter_any(file: BinaryIO, label: str, prefix: str, budget: _Budget, depth: int) -> Iterator[Entry]:
    if not _is_archive(file):
        raise ArchiveError(f"{label}: not a zip, tar, 7z or RAR archive")
    head = file.read(HEAD_BYTES)
    file.seek(0)
    if head[:4] in (ZIP_MAGIC, EMPTY_ZIP_MAGIC):
        members = _iter_zip(file, label, prefix, budget)
    elif format_name := _libarchive_format(head):
        members = _iter_libarchive(file, label, prefix, budget, format_name)
    else:
        members = _iter_tar(file, label, prefix, budget)
    for entry in members:
        if isinstance(entry.source, BytesSource) and _is_archive(io.BytesIO(entry.source.data)):
            yield from _iter_inner(entry.source.data, entry.name, budget, depth)
        elif isinstance(entry.source, SpooledSource) and _looks_like_archive(read_spooled(entry.source, HEAD_BYTES)):
            data = read_spooled(entry.source)  # whole: a zip's directory is at its end
            if _is_archive(io.BytesIO(data)):
                yield from _iter_inner(data, entry.name, budget, depth)
            else:
                yield entry
        else:
            yield entry


def _looks_like_archive(head: bytes) -> bool:
    """Whether the first HEAD_BYTES of a file start like an archive we open."""
    return head[:4] in (ZIP_MAGIC, EMPTY_ZIP_MAGIC) or head[257:262] == b"ustar" or head.startswith(_COMPRESSED_MAGIC) or _libarchive_format(head) is not None


def _iter_inner(data: bytes, name: str, budget: _Budget, depth: int) -> Iterator[Entry]:
    """The members of an archive found inside another, read from memory within the limits."""
    if depth >= MAX_NESTING:
        yield Entry(name, None, f"refused: archive nested more than {MAX_NESTING} deep (not opened)")
        return
    if budget.held + len(data) > MAX_HELD_BYTES:
        yield Entry(name, None, f"refused: inner archives would hold more than {MAX_HELD_BYTES:,} bytes in memory (not opened)")
        return
    budget.held += len(data)
    try:
        yield from not_silent(_iter_any(io.BytesIO(data), name, name + NESTED_MARK, budget, depth + 1), name)
    except ArchiveError as exc:
        yield Entry(name, None, f"archive cannot be opened: {exc}")
    finally:
        budget.held -= len(data)


def not_silent(entries: Iterator[Entry], name: str) -> Iterator[Entry]:
    """`entries`, or one entry for the archive itself when it lists no file, so an archive
    inside a collection never vanishes from the report (a damaged directory can list none)."""
    empty = True
    for entry in entries:
        empty = False
        yield entry
    if empty:
        yield Entry(name, None, "archive lists no file (empty, or its directory is damaged)")


def _iter_zip(file: BinaryIO, label: str, prefix: str, budget: _Budget) -> Iterator[Entry]:
    try:
        archive = zipfile.ZipFile(file)
    except Exception as exc:  # noqa: BLE001 - BadZipFile, OSError, ValueError, struct.error ... on a damaged directory
        raise ArchiveError(f"{label}: cannot read zip directory: {exc}") from None
    with archive:
        for info in archive.infolist():
            name = prefix + info.filename
            if reason := unsafe_name_reason(info.filename):  # first: an empty name breaks is_dir()
                yield Entry(name, None, f"refused: {reason}")
                continue
            if info.is_dir():
                continue
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                yield Entry(name, None, "symbolic link inside the archive (not followed)")
                continue
            try:
                with archive.open(info) as stream:
                    source = budget.read(_chunks(stream), info.compress_size, name)
            except Exception as exc:  # noqa: BLE001 - zlib.error, BadZipFile, OSError, NotImplementedError ... on a damaged member
                yield Entry(name, None, _member_error(exc))
                continue
            yield Entry(name, source)


def _iter_tar(file: BinaryIO, label: str, prefix: str, budget: _Budget) -> Iterator[Entry]:
    try:
        archive = tarfile.open(fileobj=file, mode="r:*")  # noqa: SIM115 - closed by the `with archive` below
    except Exception as exc:  # noqa: BLE001 - TarError, OSError, EOFError, zlib/lzma errors ... on a damaged header
        raise ArchiveError(f"{label}: cannot open tar archive: {exc}") from None
    with archive:
        try:
            for info in archive:
                name = prefix + info.name
                if info.isdir():
                    continue
                if reason := unsafe_name_reason(info.name):
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
                    source = budget.read(_chunks(stream), info.size, name) if stream else BytesSource(name, b"")
                except Exception as exc:  # noqa: BLE001 - tarfile.TarError, OSError, zlib/lzma errors ... on damaged data
                    yield Entry(name, None, _member_error(exc))
                    continue
                yield Entry(name, source)
        except Exception as exc:  # noqa: BLE001 - the stream itself is damaged here: the rest cannot be listed
            yield Entry(prefix + "(rest of archive)", None, f"archive is corrupt or truncated here: {exc}")


def _iter_libarchive(file: BinaryIO, label: str, prefix: str, budget: _Budget, format_name: str) -> Iterator[Entry]:
    """The members of a 7z or RAR archive. Such archives compress members together (7z's solid
    blocks), so the expansion ratio is checked against the whole archive's size."""
    try:
        import libarchive
    except (ImportError, OSError, AttributeError) as exc:  # the extra is missing, or the system library it loads
        raise ArchiveError(f"{label}: a {format_name} archive needs the `archives` extra (pip install 'mediamatch[archives]'; {exc})") from None
    compressed = file.seek(0, io.SEEK_END)
    file.seek(0)
    try:
        reader = libarchive.stream_reader(file, format_name=format_name)
        archive = reader.__enter__()
    except Exception as exc:  # noqa: BLE001 - libarchive.ArchiveError and whatever a damaged header provokes
        raise ArchiveError(f"{label}: cannot read {format_name} archive: {exc}") from None
    try:
        for info in archive:
            name = prefix + (info.pathname or "")
            if info.isdir:
                continue
            if reason := unsafe_name_reason(info.pathname or ""):
                yield Entry(name, None, f"refused: {reason}")
                continue
            if info.issym or info.islnk:
                yield Entry(name, None, "link inside the archive (not followed)")
                continue
            if not info.isreg:
                yield Entry(name, None, "not a regular file (device, fifo)")
                continue
            try:
                source = budget.read(info.get_blocks(READ_CHUNK), compressed, name)
            except Exception as exc:  # noqa: BLE001 - libarchive.ArchiveError (damaged, encrypted), budget refusals
                yield Entry(name, None, _member_error(exc))
                continue
            yield Entry(name, source)
    except Exception as exc:  # noqa: BLE001 - the archive's listing itself is damaged here
        yield Entry(prefix + "(rest of archive)", None, f"archive is corrupt or truncated here: {exc}")
    finally:
        reader.__exit__(None, None, None)


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(READ_CHUNK):
        yield chunk


def _member_error(exc: BaseException) -> str:
    message = str(exc) or type(exc).__name__
    return message if message.startswith("refused") else f"cannot read member: {message}"
