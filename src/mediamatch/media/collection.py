"""A seized collection, folder or archive, as an ordered list of entries.

Every file gets exactly one entry, in a stable order (sorted names, depth first), so a report
lists each file once and an interrupted run can tell what it has finished. Names are relative
to the collection and shown as text even when the bytes are not valid UTF-8 (undecodable bytes
become `\\xNN`). Links are never followed (seized drives hold link loops and links that point
outside the evidence); they, and anything that is not a regular file, become error entries.

Archives in the folder (zip, tar, tar.gz/bz2/xz, recognised by their bytes) are opened where
they lie and their members take their place, named `folder/drive.zip!/photos/a.jpg`
(media/archive.py reads them within its limits, archives inside them too). A collection given
as an archive names its members without the archive's own name, as the archive is the
collection.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from mediamatch.media.archive import NESTED_MARK, ArchiveError, Entry, is_archive, iter_archive, not_silent


def display_name(raw: str) -> str:
    """`raw` (possibly holding surrogate-escaped bytes from the file system) as printable text."""
    try:
        raw.encode("utf-8")
        return raw
    except UnicodeEncodeError:
        return raw.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def iter_collection(source: Path, open_archives: bool = True) -> Iterator[Entry]:
    """Entries of a folder (recursively) or of a zip/tar archive, or the single file given.

    Without `open_archives`, an archive in a folder is one entry (a cheap count for progress)."""
    if source.is_dir():
        yield from _iter_folder(source, "", open_archives)
    elif is_archive(source):
        yield from iter_archive(source)
    else:
        yield Entry(display_name(source.name), source)


def _iter_folder(folder: Path, prefix: str, open_archives: bool) -> Iterator[Entry]:
    try:
        with os.scandir(folder) as scan:
            children = sorted(scan, key=lambda child: os.fsencode(child.name))
    except OSError as exc:
        yield Entry(display_name(prefix.rstrip("/") or "."), None, f"cannot list folder: {exc.strerror or exc}")
        return
    for child in children:
        name = prefix + child.name
        shown = display_name(name)
        try:
            mode = child.stat(follow_symlinks=False).st_mode
        except OSError as exc:
            yield Entry(shown, None, f"cannot stat: {exc.strerror or exc}")
            continue
        if stat.S_ISLNK(mode):
            yield Entry(shown, None, "symbolic link (not followed)")
        elif stat.S_ISDIR(mode):
            yield from _iter_folder(Path(child.path), name + "/", open_archives)
        elif stat.S_ISREG(mode) and open_archives and is_archive(Path(child.path)):
            yield from _iter_folder_archive(Path(child.path), shown)
        elif stat.S_ISREG(mode):
            yield Entry(shown, Path(child.path))
        else:
            yield Entry(shown, None, "not a regular file (device, fifo or socket)")


def _iter_folder_archive(path: Path, shown: str) -> Iterator[Entry]:
    try:
        yield from not_silent(iter_archive(path, prefix=shown + NESTED_MARK), shown)
    except ArchiveError as exc:
        yield Entry(shown, None, f"archive cannot be opened: {exc}")
