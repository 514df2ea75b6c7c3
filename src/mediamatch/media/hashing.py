"""Hashing files: every cryptographic digest in one read, PDQ for images, a record per file.

`hash_many` is the batch entry point used by `mediamatch hash`, triage and contribution: it
spreads files over worker processes, yields records in input order, and keeps at most a few
files per worker in flight so a million-file walk never builds an unbounded queue. A file that
cannot be read or decoded becomes a record with `error` set (keeping whatever digests could be
computed), and a worker that dies on a hostile file costs that file only.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from itertools import islice
from multiprocessing import get_context
from pathlib import Path

from mediamatch.media.image import MAX_PIXELS, ImageDecodeError, decode_luma
from mediamatch.media.record import BytesSource, HashRecord, Source
from mediamatch.media.sniff import SNIFF_BYTES, sniff
from mediamatch.signals.pdq import pdq_dihedral_from_luma, pdq_from_luma, pdq_to_hex

IN_FLIGHT_PER_WORKER = 3
FILES_PER_TASK = 8
MAX_CRASHES_IN_A_ROW = 8


@dataclass(frozen=True, slots=True)
class Limits:
    """What a single file may cost before it is refused, and what to compute for it."""

    max_file_bytes: int = 512 * 1024 * 1024
    max_pixels: int = MAX_PIXELS
    dihedral: bool = False  # also compute the PDQ hashes of the 8 rotations/flips (for search)


DEFAULT_LIMITS = Limits()


def source_name(source: Source) -> str:
    return source.name if isinstance(source, BytesSource) else os.fsdecode(source)


def _read(source: Source, limits: Limits) -> bytes:
    if isinstance(source, BytesSource):
        data = source.data
    else:
        path = Path(source)
        if not path.is_file():
            raise OSError("not a regular file" if path.exists() else "file not found")
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            raise OSError(f"refused: {size:,} bytes is over the {limits.max_file_bytes:,}-byte file size limit")
        data = path.read_bytes()
    if len(data) > limits.max_file_bytes:
        raise OSError(f"refused: {len(data):,} bytes is over the {limits.max_file_bytes:,}-byte file size limit")
    return data


def hash_source(source: Source, limits: Limits = DEFAULT_LIMITS) -> HashRecord:
    """Hash one file or archive member; never raises for bad input."""
    name = source_name(source)
    try:
        data = _read(source, limits)
    except OSError as exc:
        size = source_size(source)
        return HashRecord(path=name, size=size, error=exc.strerror or str(exc))
    return hash_bytes(data, name, limits)


def source_size(source: Source) -> int | None:
    if isinstance(source, BytesSource):
        return len(source.data)
    try:
        return Path(source).stat().st_size
    except OSError:
        return None


def hash_bytes(data: bytes, name: str, limits: Limits = DEFAULT_LIMITS) -> HashRecord:
    """Digests of `data`, plus PDQ when it is an image. `name` is only echoed in the record."""
    kind = sniff(data[:SNIFF_BYTES])
    record = HashRecord(
        path=name,
        size=len(data),
        md5=hashlib.md5(data).hexdigest(),
        sha1=hashlib.sha1(data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        media_type=kind.media_type,
    )
    if not data:
        return replace(record, error="empty file (0 bytes)")
    if kind.kind != "image":
        return record
    try:
        image = decode_luma(data, max_pixels=limits.max_pixels)
    except ImageDecodeError as exc:
        return replace(record, error=str(exc))
    if limits.dihedral:
        variants, quality = pdq_dihedral_from_luma(image.luma)
        pdq, dihedral = variants[0], tuple(pdq_to_hex(variant) for variant in variants)
    else:
        (pdq, quality), dihedral = pdq_from_luma(image.luma), ()
    return replace(
        record,
        pdq=pdq_to_hex(pdq),
        pdq_quality=quality,
        width=image.width,
        height=image.height,
        note=image.note,
        pdq_dihedral=dihedral,
    )


def hash_file(source: Source, limits: Limits = DEFAULT_LIMITS) -> HashRecord:
    return hash_source(source, limits)


def hash_many(
    sources: Iterable[Source], workers: int | None = None, limits: Limits = DEFAULT_LIMITS
) -> Iterator[HashRecord]:
    """Hash every source with `workers` processes (default: all cores), yielding in input order."""
    workers = workers or os.cpu_count() or 1
    if workers <= 1:
        for source in sources:
            yield hash_source(source, limits)
        return
    yield from _ParallelHasher(workers, limits).run(iter(sources))


def hash_batch(sources: list[Source], limits: Limits) -> list[HashRecord]:
    return [hash_source(source, limits) for source in sources]


class _ParallelHasher:
    """A process pool with bounded in-flight work that survives a worker crashing.

    Files travel in batches of FILES_PER_TASK: one task per small file costs the parent about as
    much as hashing it, which measured as half the throughput of two cores. When a worker dies,
    the files of every batch in flight are retried one per task, so a crash costs only the file
    that caused it."""

    def __init__(self, workers: int, limits: Limits) -> None:
        self.workers = workers
        self.limits = limits
        self.crashes_in_a_row = 0

    def _pool(self) -> ProcessPoolExecutor:
        # forkserver, not fork: callers (progress bars, servers) run threads, and forking a
        # threaded process can deadlock. Workers start with the hashing modules imported.
        context = get_context("forkserver")
        context.set_forkserver_preload(["mediamatch.media.hashing"])
        return ProcessPoolExecutor(self.workers, mp_context=context)

    def run(self, sources: Iterator[Source]) -> Iterator[HashRecord]:
        self.pool = self._pool()
        pending: deque[tuple[list[Source], Future[list[HashRecord]]]] = deque()
        try:
            while batch := list(islice(sources, FILES_PER_TASK)):
                pending.append((batch, self._submit(batch)))
                while len(pending) >= self.workers * IN_FLIGHT_PER_WORKER:
                    yield from self._next(pending)
            while pending:
                yield from self._next(pending)
        finally:
            # Not waiting: joining a pool that a crash broke can hang (CPython 3.11); its
            # management thread still reaps the workers in the background.
            self.pool.shutdown(wait=False, cancel_futures=True)

    def _submit(self, sources: list[Source]) -> Future[list[HashRecord]]:
        """Submit a batch; a pool that broke meanwhile (a resubmitted crasher can break it while
        the rest is still being resubmitted) yields a failed future, handled like any crash.

        CPython 3.11 marks a pool broken without the lock that `submit` holds, so a submit can
        still start a worker while the pool's manager thread closes the queues that worker
        needs: that surfaces as OSError (EBADF) and means the same thing as BrokenProcessPool."""
        failed: Future[list[HashRecord]] = Future()
        try:
            return self.pool.submit(hash_batch, sources, self.limits)
        except BrokenProcessPool as exc:
            failed.set_exception(exc)
        except OSError as exc:
            broken = BrokenProcessPool(f"could not start a hashing process: {exc}")
            broken.__cause__ = exc
            failed.set_exception(broken)
        return failed

    def _next(self, pending: deque[tuple[list[Source], Future[list[HashRecord]]]]) -> list[HashRecord]:
        batch, future = pending.popleft()
        try:
            records = future.result()
            self.crashes_in_a_row = 0
            return records
        except BrokenProcessPool:
            # A decoder crash on a hostile file killed a worker. A single file is blamed; a
            # batch is split so the culprit is found. Everything in flight is resubmitted to a
            # fresh pool. Many crashes with nothing finished in between mean the environment
            # is at fault (out of memory, a broken install), not the files: raise.
            self.crashes_in_a_row += 1
            if self.crashes_in_a_row > MAX_CRASHES_IN_A_ROW:
                raise
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self._pool()
            retry = [([source], None) for source in batch] if len(batch) > 1 else []
            others = [([source], None) for sources, _ in pending for source in sources]
            pending.clear()
            for sources, _ in retry + others:
                pending.append((sources, self._submit(sources)))
            if retry:
                return []
            return [self._alone(batch[0])]

    def _alone(self, source: Source) -> HashRecord:
        """Hash one file in a pool of its own: every future in flight fails when any worker
        dies, so only a crash with nothing else running proves this file is the culprit."""
        solo = ProcessPoolExecutor(1, mp_context=get_context("forkserver"))
        try:
            record = solo.submit(hash_source, source, self.limits).result()
        except BrokenProcessPool:
            return HashRecord(path=source_name(source), size=source_size(source), error="hashing process crashed on this file")
        finally:
            solo.shutdown(wait=False)
        self.crashes_in_a_row = 0
        return record
