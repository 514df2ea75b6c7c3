"""Saving and loading a PDQIndex: a versioned, documented binary file, never pickle.

File layout (all integers little-endian; every array starts on a 64-byte boundary):

    offset  size              field
    0       8                 magic  b"MMPDQIX\\0"
    8       4                 format version (uint32) = 1
    12      4                 chunks (uint32) = 16
    16      8                 count n (uint64)
    24      40                zero padding to 64
    64      8 n               ids     int64[n]
    ...     32 n              hashes  uint8[n][32]  (PDQ bytes as `bytes.fromhex(hex)`)
    ...     4 * 16 * 65537    offsets uint32[16][65537]  (CSR bucket bounds per chunk)
    ...     4 * 16 n          order   uint32[16][n]      (row numbers sorted by chunk value)

Loading memory-maps the arrays, so a 10M-hash index opens in well under a second and pages
in on demand. A file with the wrong magic, an unknown version, or a size that disagrees with
its header is refused with a clear error.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from mediamatch.atomic import atomic_open
from mediamatch.index.hamming import CHUNK_VALUES, CHUNKS, HASH_BYTES, PDQIndex

MAGIC = b"MMPDQIX\0"
VERSION = 1
_HEADER = struct.Struct("<8sIIQ")
_ALIGN = 64


class IndexFileError(ValueError):
    """The file is not a readable mediamatch PDQ index."""


def _aligned(offset: int) -> int:
    return (offset + _ALIGN - 1) // _ALIGN * _ALIGN


def _layout(count: int) -> list[tuple[str, np.dtype, tuple[int, ...], int]]:
    fields: list[tuple[str, np.dtype, tuple[int, ...]]] = [
        ("ids", np.dtype("<i8"), (count,)),
        ("hashes", np.dtype("u1"), (count, HASH_BYTES)),
        ("offsets", np.dtype("<u4"), (CHUNKS, CHUNK_VALUES + 1)),
        ("order", np.dtype("<u4"), (CHUNKS, count)),
    ]
    layout, offset = [], _ALIGN
    for name, dtype, shape in fields:
        layout.append((name, dtype, shape, offset))
        offset = _aligned(offset + dtype.itemsize * int(np.prod(shape)))
    return layout


def save_index(index: PDQIndex, path: Path) -> None:
    """Write `index` (tail merged first) to `path` atomically (see mediamatch.atomic)."""
    index.merge()
    count = len(index.ids)
    with atomic_open(path, "wb") as out:
        out.write(_HEADER.pack(MAGIC, VERSION, CHUNKS, count).ljust(_ALIGN, b"\0"))
        for name, dtype, shape, offset in _layout(count):
            out.seek(offset)
            np.ascontiguousarray(getattr(index, name), dtype=dtype).reshape(shape).tofile(out)
        out.truncate(_aligned(out.tell()))


def load_index(path: Path) -> PDQIndex:
    """Open an index saved by `save_index`, memory-mapped."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        header = handle.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise IndexFileError(f"{path}: too short to be an index file ({size} bytes)")
    magic, version, chunks, count = _HEADER.unpack(header)
    if magic != MAGIC:
        raise IndexFileError(f"{path}: not a mediamatch PDQ index (bad magic {magic!r})")
    if version != VERSION or chunks != CHUNKS:
        raise IndexFileError(f"{path}: unsupported index format version {version} with {chunks} chunks")
    layout = _layout(count)
    _, dtype, shape, offset = layout[-1]
    expected = _aligned(offset + dtype.itemsize * int(np.prod(shape)))
    if size != expected:
        raise IndexFileError(f"{path}: truncated or damaged ({size} bytes, header says {expected})")
    index = PDQIndex()
    for name, dtype, shape, offset in layout:
        setattr(index, name, np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape))
    if not np.all(index.offsets[:, -1] == count):
        raise IndexFileError(f"{path}: bucket table does not add up to {count} hashes")
    # Cheap (4 MB) and it stops a damaged table from making negative slices at search time.
    if np.any(index.offsets[:, 0] != 0) or np.any(np.diff(index.offsets.astype(np.int64), axis=1) < 0):
        raise IndexFileError(f"{path}: bucket table is damaged (bounds not in increasing order)")
    return index
