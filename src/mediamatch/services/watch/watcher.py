"""The stream watcher: reader threads fill a bounded frame buffer, matcher threads hash and
match its frames in batches and raise alerts. Frames whose PDQ quality is under 50 are skipped
(the reference's rule: such hashes match noise).

Why one alert per stream per known item per `dedupe_seconds`: a known 30-second clip matches
on every sampled frame; a reviewer needs one alert saying "stream X shows series S", not 30.
The item is the series when the match has one (a known video catalogued as its frames is many
media items of one series), else the media item.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from mediamatch.media.stream import FrameBuffer, SampledFrame, StreamEvent, StreamOptions, StreamReader, StreamSource
from mediamatch.services.watch.alerts import Alert, AlertSink, IndicatorMatch, KnownMatch
from mediamatch.services.watch.frame_matchers import StreamFrameMatcher
from mediamatch.signals.pdq import MIN_QUALITY, pdq_from_luma, pdq_to_hex

log = logging.getLogger("mediamatch.watch")

BATCH = 16  # frames a matcher thread takes at once: one index search for all of them


@dataclass(frozen=True, slots=True)
class WatchOptions:
    stream: StreamOptions = field(default_factory=StreamOptions)
    workers: int = 2  # matcher threads (hash + match); readers are one thread per stream
    dedupe_seconds: float = 60.0  # at most one alert per stream per known item in this time

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError("at least one matcher thread is needed")
        if self.dedupe_seconds < 0:
            raise ValueError("dedupe seconds must be 0 or more")


@dataclass(slots=True)
class MatchStats:
    hashed: int = 0
    low_quality: int = 0
    matched: int = 0  # frames that matched something
    alerts: int = 0
    last_latency: float | None = None


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """One stream at one moment, for a status display."""

    name: str
    state: str
    frames_read: int
    sampled: int
    dropped: int
    waiting: int
    hashed: int
    low_quality: int
    matched: int
    alerts: int
    reconnects: int
    damaged: int
    lag: float
    last_latency: float | None
    error: str | None


class Watcher:
    """Watches several streams at once until they end, or `stop()`."""

    def __init__(
        self,
        sources: Sequence[StreamSource],
        matcher: StreamFrameMatcher,
        *,
        on_alert: AlertSink,
        on_event: Callable[[StreamEvent], None] = lambda event: None,
        options: WatchOptions = WatchOptions(),
    ) -> None:
        names = [source.name for source in sources]
        if len(set(names)) != len(names):
            raise ValueError(f"two streams have the same name ({', '.join(sorted({n for n in names if names.count(n) > 1}))}); name them NAME=URL")
        self.matcher = matcher
        self.on_alert = on_alert
        self.options = options
        self.buffer = FrameBuffer(options.stream.queue_size)
        self.stop_event = threading.Event()
        self.readers = [StreamReader(source, self.buffer, options.stream, self.stop_event, on_event) for source in sources]
        self.match_stats = {source.name: MatchStats() for source in sources}
        self._last_alert: dict[tuple[str, tuple[str, ...]], float] = {}
        self._lock = threading.Lock()
        self._workers_done = [threading.Event() for _ in range(options.workers)]  # see StreamReader.join
        self._workers = [threading.Thread(target=self._work, args=(done,), name=f"matcher {n}", daemon=True) for n, done in enumerate(self._workers_done)]

    def start(self) -> None:
        for reader in self.readers:
            reader.start()
        for thread in self._workers:
            thread.start()

    def stop(self) -> None:
        """Stop reading and matching; returns when the threads are done (a reader blocked in a
        network read returns within its read timeout)."""
        self.stop_event.set()
        self.buffer.close()
        for reader in self.readers:
            reader.join(self.options.stream.read_timeout + 1)
        for worker, done in zip(self._workers, self._workers_done):
            if worker.ident is not None:  # started
                done.wait(5)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every stream has ended or failed and its frames are matched; True if so."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for reader in self.readers:
            reader.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if reader.is_alive():
                return False
        self.buffer.close()  # readers are done: matchers finish what is queued, then exit
        return all(done.wait(None if deadline is None else max(0.0, deadline - time.monotonic())) for done in self._workers_done)

    def status(self) -> list[StreamStatus]:
        return [
            StreamStatus(
                name=reader.source.name,
                state=reader.stats.state,
                frames_read=reader.stats.frames_read,
                sampled=reader.stats.sampled,
                dropped=reader.stats.dropped,
                waiting=self.buffer.waiting(reader.source.name),
                hashed=stats.hashed,
                low_quality=stats.low_quality,
                matched=stats.matched,
                alerts=stats.alerts,
                reconnects=reader.stats.reconnects,
                damaged=reader.stats.damaged,
                lag=reader.stats.lag,
                last_latency=stats.last_latency,
                error=reader.stats.error,
            )
            for reader in self.readers
            for stats in (self.match_stats[reader.source.name],)
        ]

    def _work(self, done: threading.Event) -> None:
        try:
            while not self.stop_event.is_set():
                frames = self.buffer.take(BATCH, timeout=0.2)
                if not frames:
                    if self.buffer.closed:
                        return
                    continue
                try:
                    self._match(frames)
                except Exception:  # a database hiccup costs these frames, never the watch
                    log.exception("matching %d frame(s) failed", len(frames))
        finally:
            done.set()

    def _match(self, frames: list[SampledFrame]) -> None:
        hashed = [(frame, *pdq_from_luma(frame.luma)) for frame in frames]
        usable = [(frame, pdq_to_hex(pdq), quality) for frame, pdq, quality in hashed if quality >= MIN_QUALITY]
        with self._lock:  # counters shared by the matcher threads
            for frame, _, quality in hashed:
                self.match_stats[frame.stream].hashed += 1
                self.match_stats[frame.stream].low_quality += quality < MIN_QUALITY
        if not usable:
            return
        found = self.matcher.match_frames([(value, quality) for _, value, quality in usable])
        for (frame, value, quality), matches in zip(usable, found, strict=True):  # a plugged-in matcher must answer each hash
            for match in self._fresh(frame, matches):
                alert = Alert(
                    stream=frame.stream, stream_time=frame.stream_time, at=datetime.now(timezone.utc),
                    latency=time.monotonic() - frame.arrived, media_id=match.media_id, series=tuple(match.series),
                    signal=match.signal, distance=match.distance, frame_pdq=value, quality=quality,
                )  # fmt: skip
                with self._lock:
                    self.match_stats[frame.stream].alerts += 1
                    self.match_stats[frame.stream].last_latency = alert.latency
                try:
                    self.on_alert(alert)
                except Exception:
                    log.exception("an alert sink failed for %s", alert.line())

    def _fresh(self, frame: SampledFrame, matches: Sequence[KnownMatch]) -> list[KnownMatch]:
        """The closest match of each known item that this stream has not alerted on lately
        (and the frame counted as matched when it matched anything)."""
        fresh: list[KnownMatch] = []
        with self._lock:
            self.match_stats[frame.stream].matched += bool(matches)
            for match in matches:  # closest first
                key = (frame.stream, _alert_key(match))
                last = self._last_alert.get(key)
                if last is not None and frame.arrived - last < self.options.dedupe_seconds:
                    continue
                self._last_alert[key] = frame.arrived
                fresh.append(match)
        return fresh


def _alert_key(match: KnownMatch) -> tuple[str, ...]:
    """What one alert per dedupe window stands for: the known series, else the item. A hash
    list names neither (its frames of one video are unrelated indicators), so all of a stream's
    list hits share one key: "this stream shows known material", once per window."""
    if isinstance(match, IndicatorMatch):
        return ("hash list",)
    return tuple(match.series) or (f"media:{match.media_id}",)


def watch(
    sources: Sequence[StreamSource],
    matcher: StreamFrameMatcher,
    *,
    on_alert: AlertSink,
    on_event: Callable[[StreamEvent], None] = lambda event: None,
    options: WatchOptions = WatchOptions(),
) -> list[StreamStatus]:
    """Watch `sources` until each has ended or failed (forever for live streams that keep
    coming back); returns each stream's final status. On KeyboardInterrupt the threads are
    stopped before it propagates."""
    watcher = Watcher(sources, matcher, on_alert=on_alert, on_event=on_event, options=options)
    watcher.start()
    try:
        while not watcher.wait(timeout=0.5):
            pass
    finally:
        watcher.stop()
    return watcher.status()
