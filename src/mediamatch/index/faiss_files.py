"""FAISS indexes kept in files beside the catalogue (descriptors, embeddings, miniatures): the
one way this package reaches FAISS, writes an index and reads one back.

FAISS runs one thread here: callers parallelise by process (hashing and server workers), and
FAISS's own threads would fight them for cores. Files are FAISS's own format
(`serialize_index`), never pickle; a file FAISS cannot read, or an index of another shape than
the caller's, is refused with IndexFileError, and the caller builds the index again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mediamatch.atomic import atomic_write


class IndexFileError(ValueError):
    """A file that is not a readable index of the expected shape, or a read-only one written to."""


def faiss() -> Any:
    import faiss as module

    module.omp_set_num_threads(1)
    return module


class FaissFile:
    """What every index kept in such a file has: the FAISS index, its size, and saving it."""

    def __init__(self, index: Any) -> None:
        self.index = index

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def save(self, path: Path) -> None:
        save_index(self.index, path)


def save_index(index: Any, path: Path) -> None:
    """Write `index` to `path` atomically, in FAISS's format."""
    atomic_write(path, faiss().serialize_index(index).tobytes())


def read_index(path: Path, what: str, dimensions: int, metric: int | None = None, *, mapped: bool = False) -> Any:
    """The index saved at `path`, checked to have `dimensions` (and `metric`, a FAISS METRIC_*);
    `mapped`: memory-mapped read-only instead of read into memory. `what` names it in errors."""
    module = faiss()
    try:
        index = module.read_index(str(path), module.IO_FLAG_MMAP | module.IO_FLAG_READ_ONLY if mapped else 0)
    except RuntimeError as exc:
        raise IndexFileError(f"{path}: not a readable {what} ({str(exc).splitlines()[0][:200]})") from None
    if index.d != dimensions or (metric is not None and index.metric_type != metric):
        raise IndexFileError(f"{path}: a {what} holds vectors of {dimensions} dimensions, this one {index.d} (or another metric)")
    return index
