"""Hashing files: every registered signal, from one read and one decode, a record per file.

The file's bytes go through every signal computed from bytes, its decoded luma plane (an
image, as stored; and turned as a viewer shows it where EXIF orientation says so, see
`HashRecord.displayed`) to every signal computed from luma, each sampled frame of a video to the frame signal:
the pipeline never names a signal (signals/registry.py says which there are).

`hash_many` is the batch entry point used by `mediamatch hash`, triage and contribution: it
spreads files over worker processes, yields records in input order, and keeps at most a few
files per worker in flight so a million-file walk never builds an unbounded queue. A file that
cannot be read or decoded becomes a record with `error` set (keeping whatever digests could be
computed), and a worker that dies on a hostile file costs that file only.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator, Sized
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from mediamatch.catalog.hashes import BytesSource, Features, FrameHash, HashRecord, Source, SpooledSource
from mediamatch.media.image import ImageDecodeError, decode_luma
from mediamatch.media.limits import DEFAULT_LIMITS, Limits
from mediamatch.media.sniff import SNIFF_BYTES, sniff
from mediamatch.media.spool import read_spooled
from mediamatch.signals.base import Digest, SignalType
from mediamatch.signals.registry import computed_from, descriptor_signals, embedding_signals
from mediamatch.signals.vpdq import collapse

IN_FLIGHT_PER_WORKER = 3
# In-memory sources (archive members) in flight to workers, all batches together: six 400 MB
# members of one zip held 5.1 GB with two workers before this cap (benchmarks/bench_hostile.py).
MAX_IN_FLIGHT_BYTES = 256 * 1024 * 1024
FILES_PER_TASK = 8
BYTES_PER_TASK = 32 * 1024 * 1024  # a batch closes early past this, so a video travels alone
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ts", ".flv", ".3gp", ".wmv", ".mpg", ".mpeg"})
MAX_CRASHES_IN_A_ROW = 8


def source_name(source: Source) -> str:
    return source.name if isinstance(source, (BytesSource, SpooledSource)) else os.fsdecode(source)


def read_source(source: Source, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """The bytes of a file, an archive member in memory or a spooled one, within the file size
    limit: what hashing reads, and what a page that shows a triaged file reads."""
    if isinstance(source, BytesSource):
        data = source.data
    elif isinstance(source, SpooledSource):
        if source.size > limits.max_file_bytes:
            raise OSError(f"refused: {source.size:,} bytes is over the {limits.max_file_bytes:,}-byte file size limit")
        data = read_spooled(source)
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
    if (video := _large_video(source, limits)) is not None:
        return video
    try:
        data = read_source(source, limits)
    except OSError as exc:
        size = source_size(source)
        return HashRecord(path=name, size=size, error=exc.strerror or str(exc))
    return hash_bytes(data, name, limits)


def source_size(source: Source) -> int | None:
    if isinstance(source, BytesSource):
        return len(source.data)
    if isinstance(source, SpooledSource):
        return source.size
    try:
        return Path(source).stat().st_size
    except OSError:
        return None


def hash_bytes(data: bytes, name: str, limits: Limits = DEFAULT_LIMITS) -> HashRecord:
    """Every signal of `data` that applies to it. `name` is only echoed in the record."""
    kind = sniff(data[:SNIFF_BYTES])
    digests = _new_digests()
    for digest in digests.values():
        digest.update(data)
    record = HashRecord(path=name, size=len(data), signals=_hexdigests(digests), media_type=kind.media_type)
    if not data:
        return replace(record, error="empty file (0 bytes)")
    if kind.kind == "video":
        return hash_video(data, record, limits)
    if kind.kind != "image":
        return record
    try:
        image = decode_luma(data, max_pixels=limits.max_pixels)
    except ImageDecodeError as exc:
        return replace(record, error=str(exc))
    signals, qualities, variants, displayed = dict(record.signals), {}, {}, {}
    turned = image.displayed_luma() if image.orientation != 1 else None
    for signal in computed_from("luma"):
        if limits.dihedral and signal.variant_names:
            values, quality = signal.compute_variants(image.luma)
            signals[signal.name], variants[signal.name] = values[0], values
        else:
            signals[signal.name], quality = signal.compute_luma(image.luma)
        if quality is not None:
            qualities[signal.name] = quality
        if turned is not None and (shown := signal.compute_luma(turned))[0] != signals[signal.name]:
            displayed[signal.name] = shown
    features = _features(image.luma, None, limits) if limits.local_features else ()
    return replace(
        record,
        signals=signals,
        qualities=qualities,
        variants=variants,
        displayed=displayed,
        width=image.width,
        height=image.height,
        note=image.note,
        features=features,
    )


def _features(luma: np.ndarray, timestamp: float | None, limits: Limits) -> tuple[Features, ...]:
    """The packed local features of a picture or frame, one per descriptor signal, and its
    embedding where a global descriptor model is installed."""
    catalogue = limits.features_for_catalogue
    return tuple(
        Features(signal.name, signal.compute_features(luma, catalogue=catalogue), timestamp) for signal in (*descriptor_signals(), *embedding_signals())
    )


def _new_digests() -> dict[str, Digest]:
    return {signal.name: signal.new_digest() for signal in computed_from("bytes")}


def _hexdigests(digests: dict[str, Digest]) -> dict[str, str]:
    return {name: digest.hexdigest() for name, digest in digests.items()}


def hash_video(data: bytes | Path, record: HashRecord, limits: Limits = DEFAULT_LIMITS) -> HashRecord:
    """Add the frame hashes (signals/vpdq.py) to the record of a video's digests.

    Frames decoded before a video proved damaged, truncated or over a limit are kept, with the
    error saying where it stopped: an investigator still gets whatever could be read."""
    try:
        from mediamatch.media.video import Video, VideoError, frame_luma, frame_variants
    except ImportError:
        return replace(record, error="video support is not installed: pip install 'mediamatch[video]'")
    frame_signals = computed_from("frame")
    if not frame_signals:
        return record
    # A frame carries one hash (FrameHash): the registry's frame signal (vpdq).
    frame_signal = frame_signals[0]
    frames: list[FrameHash] = []
    features: list[Features] = []
    error, shape, video = None, None, None
    try:
        with Video(data, limits) as video:
            sampled = video.frames(every_frame=limits.video_every_frame, seconds_per_hash=limits.video_seconds_per_hash)
            for number, seconds, frame in sampled:
                luma = frame_luma(frame)
                value, quality = frame_signal.compute_luma(luma)
                variants = tuple((name, *_frame_hash(frame_signal, picture)) for name, picture in frame_variants(luma))
                frames.append(FrameHash(number, round(seconds, 6), value, quality or 0, variants))
                shape = luma.shape
                if limits.local_features and (not features or seconds - (features[-1].timestamp or 0.0) >= limits.video_feature_seconds):
                    features.extend(_features(luma, round(seconds, 6), limits))
    except VideoError as exc:
        error = str(exc)
    if video is None:
        return replace(record, error=error)
    kept = tuple(collapse(frames, limits.video_collapse_distance)) if limits.video_collapse else tuple(frames)
    info = video.info
    duration = info.duration if info.duration is not None else video.decoded / info.fps
    note = f"video ({info.codec}, {info.fps:.3g} fps): {len(frames)} of {video.decoded} frames hashed"
    if len(kept) < len(frames):
        note += f", {len(frames) - len(kept)} near-repeats collapsed"
    height, width = shape if shape is not None else (info.height, info.width)
    return replace(record, frames=kept, duration=round(duration, 6), width=width, height=height, note=note, error=error, features=tuple(features))


def _frame_hash(signal: type[SignalType], luma: np.ndarray) -> tuple[str, int]:
    value, quality = signal.compute_luma(luma)
    return value, quality or 0


def _large_video(source: Source, limits: Limits) -> HashRecord | None:
    """The record of a video file too large to hold in memory (over max_file_bytes, within
    max_video_bytes), or None for anything else. A seized video often runs to gigabytes: its
    digests are computed in one streaming pass, then its frames are decoded from the file."""
    if isinstance(source, (BytesSource, SpooledSource)):
        return None
    path = Path(source)
    try:
        if not limits.max_file_bytes < path.stat().st_size <= limits.max_video_bytes:
            return None
        with path.open("rb") as file:
            head = file.read(SNIFF_BYTES)
            kind = sniff(head)
            if kind.kind != "video":
                return None
            digests = _new_digests()
            size = 0
            chunk = head
            while chunk:
                size += len(chunk)
                for digest in digests.values():
                    digest.update(chunk)
                chunk = file.read(1 << 20)
    except OSError:
        return None  # the ordinary path reports it
    record = HashRecord(path=source_name(source), size=size, signals=_hexdigests(digests), media_type=kind.media_type)
    return hash_video(path, record, limits)


def hash_many(sources: Iterable[Source], workers: int | None = None, limits: Limits = DEFAULT_LIMITS) -> Iterator[HashRecord]:
    """Hash every source with `workers` processes (default: all cores), yielding in input order.

    Never more processes than a list holds files: each process pays about a second of start-up
    (imports, loading the compiled kernels), which for `mediamatch hash one.jpg` was most of its time."""
    workers = workers or os.cpu_count() or 1
    if isinstance(sources, Sized):
        workers = min(workers, max(len(sources), 1))
    if workers <= 1:
        for source in sources:
            yield hash_source(source, limits)
        return
    yield from _ParallelHasher(workers, limits).run(iter(sources))


def hash_batch(sources: list[Source], limits: Limits) -> list[HashRecord]:
    return [hash_source(source, limits) for source in sources]


def _bytes_in_flight(pending: deque[tuple[list[Source], Future[list[HashRecord]]]]) -> int:
    return sum(len(source.data) for batch, _ in pending for source in batch if isinstance(source, BytesSource))


def _next_batch(sources: Iterator[Source]) -> list[Source]:
    """Up to FILES_PER_TASK sources, fewer once they add up to BYTES_PER_TASK or one looks like
    a video by its name: a video takes seconds to minutes, so eight in one task would leave the
    other workers idle at the end. (Only a scheduling hint: the bytes decide how a file is hashed.)"""
    batch: list[Source] = []
    total = 0
    for source in sources:
        batch.append(source)
        total += source_size(source) or 0
        if len(batch) == FILES_PER_TASK or total >= BYTES_PER_TASK or Path(source_name(source)).suffix.lower() in VIDEO_SUFFIXES:
            break
    return batch


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
            while batch := _next_batch(sources):
                pending.append((batch, self._submit(batch)))
                while len(pending) >= self.workers * IN_FLIGHT_PER_WORKER or _bytes_in_flight(pending) > MAX_IN_FLIGHT_BYTES:
                    yield from self._next(pending)
            while pending:
                yield from self._next(pending)
        finally:
            _abandon(self.pool)

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
            _abandon(self.pool)
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
            _abandon(solo)
        self.crashes_in_a_row = 0
        return record


def _abandon(pool: ProcessPoolExecutor) -> None:
    """Shut `pool` down without waiting for it, and kill the workers it still has.

    Not waiting: joining a pool that a crash broke can hang (CPython 3.11). Killing: such a pool
    can keep a worker started after the break (3.11 starts workers outside the lock that marks
    the pool broken); it waits for work forever, the pool's manager thread waits for it, and the
    interpreter joins that thread at exit, so the process never ends (seen once at the end of a
    test run). Every result this class hands out is in by now, so nothing is lost. The pool has
    no public handle on its workers before Python 3.14, hence `_processes`."""
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        if worker.is_alive():
            worker.kill()
