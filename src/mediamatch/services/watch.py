"""Watching live streams for known material: sample, hash, match, alert — while the stream runs.

Shape: a reader thread per stream (`media/stream.py`: decode, sample, luma) fills a bounded
`FrameBuffer`; a small pool of matcher threads takes frames from it in batches, hashes them
with PDQ (numba, GIL released), matches them against the catalogue and raises `Alert`s. Frames
whose PDQ quality is under 50 are skipped (the reference's rule: such hashes match noise).

Why one alert per stream per known item per `dedupe_seconds`: a known 30-second clip matches
on every sampled frame; a reviewer needs one alert saying "stream X shows series S", not 30.
The item is the series when the match has one (a known video catalogued as its frames is many
media items of one series), else the media item.

Alert sinks are plain callables. The slow ones (webhook, recording a hit for review) run
behind `BackgroundSink`, a bounded queue and a thread of their own, so a slow webhook or a
busy database never stalls matching; when their queue is full they drop and log, like the
frame buffer.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from queue import Full, Queue
from typing import IO, Protocol

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from mediamatch.audit.events import AuditAction, AuditEvent
from mediamatch.audit.trail import record
from mediamatch.catalog.hashes import HashRecord
from mediamatch.media.stream import FrameBuffer, SampledFrame, StreamEvent, StreamOptions, StreamReader, StreamSource, public_name
from mediamatch.services.matching import CatalogueMatcher
from mediamatch.services.platform_matcher import Matcher as ListMatcher
from mediamatch.services.review import report_hit
from mediamatch.signals.pdq import MIN_QUALITY, PDQSignal, pdq_from_luma, pdq_to_hex
from mediamatch.signals.registry import hamming_signal
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import MediaSignal
from mediamatch.store.repo import DEFAULT_AGENCY

log = logging.getLogger("mediamatch.watch")

FramePdq = tuple[str, int]  # (PDQ hex, quality) of one sampled frame
AlertSink = Callable[["Alert"], None]
BATCH = 16  # frames a matcher thread takes at once: one index search for all of them
REFRESH_EVERY = 60.0  # seconds between catalogue refreshes, so new contributions are matched


class KnownMatch(Protocol):
    """What an alert needs from a match; `mediamatch.catalog.records.Match` is one."""

    @property
    def media_id(self) -> int: ...
    @property
    def series(self) -> tuple[str, ...]: ...
    @property
    def signal(self) -> str: ...
    @property
    def distance(self) -> int: ...


class FrameMatcher(Protocol):
    """Matches PDQ hashes of frames; one list of matches (closest first) per hash.

    The catalogue is one implementation; a platform's signed hash list can be another."""

    def match_frames(self, pdqs: Sequence[FramePdq]) -> Sequence[Sequence[KnownMatch]]: ...


class CatalogueFrameMatcher:
    """`FrameMatcher` over the local catalogue, refreshed every `refresh_every` seconds.

    One lock around matching and refreshing: a refresh grows the index in place, which a
    search running at the same moment must not see half done. Matching a batch takes
    milliseconds, so the hashing in the worker threads is what runs in parallel."""

    def __init__(self, matcher: CatalogueMatcher, refresh_every: float = REFRESH_EVERY) -> None:
        self.matcher = matcher
        self.refresh_every = refresh_every
        self._refreshed = time.monotonic()
        self._lock = threading.Lock()

    @classmethod
    def open(cls, engine: Engine, refresh_every: float = REFRESH_EVERY) -> CatalogueFrameMatcher:
        return cls(CatalogueMatcher.open(engine), refresh_every)

    def match_frames(self, pdqs: Sequence[FramePdq]) -> Sequence[Sequence[KnownMatch]]:
        records = [HashRecord(path="frame", signals={PDQSignal.name: value}, qualities={PDQSignal.name: quality}) for value, quality in pdqs]
        with self._lock:
            if time.monotonic() - self._refreshed >= self.refresh_every:
                self.matcher.refresh()
                self._refreshed = time.monotonic()
            return self.matcher.match(records)


@dataclass(frozen=True, slots=True)
class IndicatorMatch:
    """A hit on a signed hash list, as a `KnownMatch`. A list names indicators, never media
    items or series, so `media_id` carries the indicator id (what a platform reports back in
    its hit) and `series` stays empty."""

    media_id: int
    signal: str
    distance: int
    series: tuple[str, ...] = ()


class HashListFrameMatcher:
    """`FrameMatcher` over a verified hash list (`services.platform_matcher.Matcher`): what a
    platform runs on its own streams, with no catalogue and nothing leaving it. A frame is
    looked up among the list's stills and frames of known videos (`frame_signals`)."""

    def __init__(self, matcher: ListMatcher) -> None:
        self.matcher = matcher
        self.signals = frame_signals()

    def match_frames(self, pdqs: Sequence[FramePdq]) -> Sequence[Sequence[KnownMatch]]:
        hits = self.matcher.lookup_many([(signal, value) for value, _ in pdqs for signal in self.signals])
        width = len(self.signals)
        return [
            sorted(
                (IndicatorMatch(hit.indicator, hit.signal, hit.distance) for found in hits[i * width : (i + 1) * width] for hit in found),
                key=lambda match: match.distance,
            )
            for i in range(len(pdqs))
        ]


@dataclass(frozen=True, slots=True)
class Alert:
    """Known material seen in a stream: where, when, how sure, and how fast we said so."""

    stream: str
    stream_time: float  # seconds into the stream
    at: datetime  # wall-clock time of the alert (UTC)
    latency: float  # seconds from the frame's arrival to this alert
    media_id: int
    series: tuple[str, ...]
    signal: str
    distance: int
    frame_pdq: str  # the hash of the frame that matched, for the reviewer's record
    quality: int

    def to_json(self) -> dict[str, object]:
        return {
            "type": "alert", "stream": self.stream, "stream_time": round(self.stream_time, 3),
            "at": self.at.isoformat(), "latency": round(self.latency, 4), "media_id": self.media_id,
            "series": list(self.series), "signal": self.signal, "distance": self.distance,
            "frame_pdq": self.frame_pdq, "quality": self.quality,
        }  # fmt: skip

    def line(self) -> str:
        known = f"{', '.join(self.series)}, media {self.media_id}" if self.series else f"indicator or item {self.media_id}"
        return (
            f"ALERT {self.stream} at {self.stream_time:.1f} s: known material ({known}), "
            f"{self.signal} distance {self.distance}, latency {self.latency * 1000:.0f} ms"
        )


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
        matcher: FrameMatcher,
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
        for thread in (*self.readers, *self._workers):
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
                name=reader.source.name, state=reader.stats.state, frames_read=reader.stats.frames_read,
                sampled=reader.stats.sampled, dropped=reader.stats.dropped, waiting=self.buffer.waiting(reader.source.name),
                hashed=stats.hashed, low_quality=stats.low_quality, matched=stats.matched, alerts=stats.alerts,
                reconnects=reader.stats.reconnects, damaged=reader.stats.damaged, lag=reader.stats.lag, last_latency=stats.last_latency, error=reader.stats.error,
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
    matcher: FrameMatcher,
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


# --- alert sinks -------------------------------------------------------------------------


def log_alert(alert: Alert) -> None:
    log.warning("%s", alert.line())


class JsonLines:
    """One JSON object per line (alerts, and stream events if given them) on a text stream."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self._lock = threading.Lock()

    def __call__(self, item: Alert | StreamEvent) -> None:
        line = json.dumps(item.to_json(), ensure_ascii=False)
        with self._lock:
            self.out.write(line + "\n")
            self.out.flush()


class BackgroundSink:
    """Runs a slow sink in its own thread behind a bounded queue; `close()` drains it."""

    def __init__(self, sink: AlertSink, name: str, capacity: int = 1000) -> None:
        self.sink = sink
        self.name = name
        self.dropped = 0
        self._queue: Queue[Alert | None] = Queue(capacity)
        self._thread = threading.Thread(target=self._run, name=f"sink {name}", daemon=True)
        self._thread.start()

    def __call__(self, alert: Alert) -> None:
        try:
            self._queue.put_nowait(alert)
        except Full:
            self.dropped += 1
            log.error("%s is behind: alert dropped (%d so far): %s", self.name, self.dropped, alert.line())

    def close(self, timeout: float = 30.0) -> None:
        try:
            self._queue.put(None, timeout=timeout)
        except Full:
            return
        self._thread.join(timeout)

    def _run(self) -> None:
        while (alert := self._queue.get()) is not None:
            try:
                self.sink(alert)
            except Exception:
                log.exception("%s failed for %s", self.name, alert.line())


class Webhook:
    """POSTs each alert as JSON; retried with backoff, a short timeout so a dead endpoint costs
    seconds, not the queue. Run it behind `BackgroundSink`."""

    def __init__(self, url: str, *, timeout: float = 5.0, attempts: int = 3, backoff: float = 0.5) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the webhook must be an http:// or https:// URL, not {public_name(url)!r}")
        self.url = url
        self.attempts = attempts
        self.backoff = backoff
        self.client = httpx.Client(timeout=timeout, follow_redirects=False)

    def __call__(self, alert: Alert) -> None:
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.client.post(self.url, json=alert.to_json())
                if response.status_code < 500:
                    if response.is_error:
                        log.error("webhook refused the alert: HTTP %d", response.status_code)
                    return
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            if attempt < self.attempts:
                time.sleep(self.backoff * 2 ** (attempt - 1))
        log.error("webhook failed after %d attempts (%s): %s", self.attempts, problem, alert.line())


class HitRecorder:
    """Records each alert as a hit pending human review (`services.review.report_hit`), with
    its `hit_reported` audit event in the same transaction.

    The hit names the catalogue row (indicator) the frame matched: the item's PDQ or
    video-frame hash closest to the frame's hash."""

    def __init__(self, engine: Engine, *, actor: str, agency: str = DEFAULT_AGENCY) -> None:
        self.engine = engine
        self.actor = actor
        self.agency = agency

    def __call__(self, alert: Alert) -> None:
        with session_scope(self.engine) as session:
            indicator = _closest_indicator(session, alert.media_id, alert.frame_pdq)
            if indicator is None:
                log.error("no PDQ indicator of media %d to record the hit on: %s", alert.media_id, alert.line())
                return
            hit = report_hit(
                session, signal=indicator.signal, value=alert.frame_pdq, signal_id=indicator.id,
                distance=PDQSignal.distance(indicator.value, alert.frame_pdq), reference=alert.stream[:500],
                agency_id=None, account_id=None, source="watch", stream_time=alert.stream_time,
                source_label=f"live stream {alert.stream}",
            )  # fmt: skip
            detail = {"source": "watch", "stream": alert.stream, "stream_time": round(alert.stream_time, 3), "media_id": alert.media_id}
            record(session, AuditEvent(self.actor, self.agency, AuditAction.HIT_REPORTED, "hit", str(hit.id), detail))


def frame_signals() -> tuple[str, str]:
    """The signals a stream frame is looked up as: a known still's, and a known video frame's."""
    return hamming_signal("image").name, hamming_signal("video_frame").name


def _closest_indicator(session: Session, media_id: int, value: str) -> MediaSignal | None:
    rows = session.scalars(
        select(MediaSignal).where(MediaSignal.media_id == media_id, MediaSignal.signal.in_(frame_signals()))
    ).all()
    return min(rows, key=lambda row: PDQSignal.distance(row.value, value), default=None)


def fan_out(*sinks: AlertSink) -> AlertSink:
    def send(alert: Alert) -> None:
        for sink in sinks:
            try:
                sink(alert)
            except Exception:
                log.exception("an alert sink failed for %s", alert.line())

    return send
