"""Reading live streams: one thread per stream decodes, samples frames, and hands them on.

Anything FFmpeg reads is a source, through PyAV: a file (optionally played at its own speed,
like `ffmpeg -re`), a pipe (`-` for stdin, or a FIFO), or an RTMP/HLS/SRT/UDP/TCP/RTSP URL.
Frames are sampled on a grid of stream time (default one per second), converted to the luma
plane PDQ needs, and put in a `FrameBuffer` that holds a few frames per stream.

Why a bounded buffer that drops the OLDEST frame: a live stream does not wait for us. When
matching falls behind, an unbounded queue would grow until memory runs out and every alert
would come later and later; dropping the oldest frame keeps memory flat and keeps alerts about
what is on screen now. Every drop is counted and reported (a `dropped` event), never silent.
A plain file read without `realtime` is not live, so its reader waits for room instead.

Why reconnects and timeouts: network sources drop, stall and come back. A stall is ended by
PyAV's interrupt-callback timeout (`av.open(timeout=(open, read))`, which works for every
protocol) plus FFmpeg's `rw_timeout` option (microseconds) for network protocols; FFmpeg's
`timeout` option is NOT set, because for RTMP it means "listen for an incoming connection"
instead of a read timeout. A dropped or failed URL is reopened with exponential backoff, a
bounded number of times or forever; the end of a file or pipe ends that stream.
"""

from __future__ import annotations

import math
import os
import stat
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import av
import av.error
import numpy as np

from mediamatch.media.video import VideoError, frame_luma

SourceKind = Literal["file", "pipe", "url"]
EventKind = Literal["opened", "dropped", "reconnecting", "ended", "failed", "stopped"]
STREAM_ENDED = "the stream ended"
# FFmpeg probes up to 5 s of a live source before giving the first frame; capped at 1 s, the
# first frame of MPEG-TS over loopback TCP came after 1.1 s instead of 1.9 s. Streams are found
# by then in any stream that sends video from the start; raise it for one that does not.
LIVE_PROBE_SECONDS = 1.0
DROP_REPORT_EVERY = 5.0  # seconds between two `dropped` events of one stream (each says how many)


class StreamError(Exception):
    """A source that cannot be read; the message says why in words a user can act on."""


@dataclass(frozen=True, slots=True)
class StreamSource:
    """One stream to watch: the name alerts carry, and where FFmpeg reads it from.

    The default name is the URL without credentials or query string, which often hold secrets
    (an RTMP stream key in a query, a password in `user:pass@host`) that must not reach logs."""

    name: str
    url: str

    @classmethod
    def parse(cls, text: str) -> StreamSource:
        """`URL`, `PATH`, `-` (stdin), or `NAME=URL` to choose the name alerts carry."""
        name, sep, rest = text.partition("=")
        if sep and name and rest and not any(c in name for c in ":/\\?&"):
            return cls(name=name, url=_ffmpeg_url(rest))
        return cls(name=public_name(text), url=_ffmpeg_url(text))

    @property
    def kind(self) -> SourceKind:
        if self.url.startswith("pipe:"):
            return "pipe"
        if "://" in self.url and not self.url.startswith("file:"):
            return "url"
        try:
            return "pipe" if stat.S_ISFIFO(os.stat(self.url.removeprefix("file:")).st_mode) else "file"
        except OSError:
            return "file"


def _ffmpeg_url(text: str) -> str:
    return "pipe:0" if text == "-" else text


def public_name(url: str) -> str:
    """`url` as it may be shown and logged: no user, password, query or fragment."""
    if url == "-":
        return "stdin"
    if "://" not in url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """How streams are read. Times are in seconds."""

    sample_rate: float = 1.0  # frames per second of stream time
    realtime: bool = False  # play files at their own speed (pts against the wall clock, as -re)
    queue_size: int = 8  # sampled frames waiting per stream before the oldest is dropped
    max_reconnects: int | None = 10  # reopen a URL this many times in a row; None: forever
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    open_timeout: float = 10.0
    read_timeout: float = 10.0

    def __post_init__(self) -> None:
        if not (self.sample_rate > 0 and math.isfinite(self.sample_rate)):
            raise ValueError(f"sample rate must be a positive number of frames per second, not {self.sample_rate}")
        if self.queue_size < 1:
            raise ValueError("queue size must be at least 1")
        if self.max_reconnects is not None and self.max_reconnects < 0:
            raise ValueError("max reconnects must be 0 or more (None: forever)")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before reconnect number `attempt` (1, 2, …): doubling, capped."""
        return min(self.backoff_max, self.backoff_initial * 2 ** (attempt - 1))


@dataclass(frozen=True, slots=True)
class SampledFrame:
    """One sampled frame of a stream, as the matchers receive it."""

    stream: str
    stream_time: float  # seconds since the stream's start (for a live stream joined late: since joining)
    arrived: float  # time.monotonic() when the reader had the decoded frame
    arrived_wall: float  # time.time() of the same moment
    luma: np.ndarray  # float32 (h, w)


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """Something a person watching the streams should know: opened, dropping frames, reconnecting…"""

    stream: str
    kind: EventKind
    message: str
    at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, object]:
        at = datetime.fromtimestamp(self.at, timezone.utc).isoformat()
        return {"type": "event", "stream": self.stream, "event": self.kind, "message": self.message, "at": at}


@dataclass(slots=True)
class ReaderStats:
    """Counters of one stream's reader; written by its thread, read by status displays."""

    state: str = "starting"
    frames_read: int = 0  # decoded frames
    sampled: int = 0  # frames handed to the matchers
    dropped: int = 0  # sampled frames dropped because matching was behind
    damaged: int = 0  # packets or frames FFmpeg could not decode or convert
    reconnects: int = 0
    lag: float = 0.0  # seconds the reader is behind the stream's own clock
    error: str | None = None


class FrameBuffer:
    """Sampled frames waiting for the matchers: a bounded queue per stream, taken in turn.

    One lock and condition for all streams, so a matcher waits for whichever stream has a
    frame, and streams are served round-robin so a busy one cannot starve the others."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._queues: dict[str, deque[SampledFrame]] = {}
        self._turn = 0
        self._changed = threading.Condition()
        self._closed = False

    def put(self, frame: SampledFrame, *, wait: bool, stop: threading.Event | None = None) -> SampledFrame | None:
        """Queue `frame`. When the stream's queue is full, either drop and return its oldest
        frame (`wait=False`, live sources) or wait for room (`wait=True`, files read at full speed)."""
        with self._changed:
            queue = self._queues.setdefault(frame.stream, deque())
            while wait and len(queue) >= self.capacity and not self._closed and not (stop and stop.is_set()):
                self._changed.wait(0.1)
            dropped = queue.popleft() if len(queue) >= self.capacity else None
            queue.append(frame)
            self._changed.notify_all()
            return dropped

    def take(self, limit: int, timeout: float) -> list[SampledFrame]:
        """Up to `limit` frames, oldest first within a stream, streams in turn; [] after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not any(self._queues.values()):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    return []
                self._changed.wait(remaining)
            taken: list[SampledFrame] = []
            queues = list(self._queues.values())
            while len(taken) < limit and any(queues):
                queue = queues[self._turn % len(queues)]
                self._turn += 1
                if queue:
                    taken.append(queue.popleft())
            self._changed.notify_all()
            return taken

    @property
    def closed(self) -> bool:
        return self._closed

    def waiting(self, stream: str) -> int:
        with self._changed:
            return len(self._queues.get(stream, ()))

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()


class StreamReader:
    """Reads one source in its own thread until it ends, fails for good, or `stop` is set.

    PyAV decodes with the GIL released, so readers of several streams run in parallel."""

    def __init__(
        self,
        source: StreamSource,
        buffer: FrameBuffer,
        options: StreamOptions,
        stop: threading.Event,
        on_event: Callable[[StreamEvent], None] = lambda event: None,
    ) -> None:
        self.source = source
        self.buffer = buffer
        self.options = options
        self.stop = stop
        self.on_event = on_event
        self.kind = source.kind
        self.stats = ReaderStats()
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"stream {source.name}", daemon=True)
        self._last_drop_report = 0.0
        self._drops_unreported = 0

    def start(self) -> None:
        self._thread.start()

    # An Event, not Thread.join: a Ctrl-C that interrupts Thread.join() leaves CPython marking
    # the still-running thread as stopped (the bpo-45274 fix), so later joins return at once.
    def join(self, timeout: float | None = None) -> None:
        if self._thread.ident is not None:  # started
            self.done.wait(timeout)

    def is_alive(self) -> bool:
        return self._thread.ident is not None and not self.done.is_set()

    def _emit(self, kind: EventKind, message: str) -> None:
        self.on_event(StreamEvent(self.source.name, kind, message))

    def _run(self) -> None:
        try:
            self._read()
        except Exception as exc:  # noqa: BLE001 - a bug or an FFmpeg surprise ends this stream, said aloud, not the others
            self._finish("failed", f"reader stopped: {type(exc).__name__}: {exc}")
        finally:
            self.done.set()

    def _read(self) -> None:
        kind = self.kind
        attempts = 0  # reconnect attempts since the last connection that gave frames
        while not self.stop.is_set():
            produced = False
            try:
                for frame in self._frames():
                    produced = True
                    self._offer(frame, live=kind != "file" or self.options.realtime)
                    if self.stop.is_set():
                        break
                if self.stop.is_set():
                    break
                if kind != "url":
                    self._finish("ended", "end of stream")
                    return
                problem = STREAM_ENDED
            except StreamError as exc:
                problem = str(exc)
                if kind != "url":
                    self._finish("failed", problem)
                    return
            attempts = 1 if produced else attempts + 1
            limit = self.options.max_reconnects
            if limit is not None and attempts > limit:
                ended = problem == STREAM_ENDED  # the broadcaster stopped: an end, not a failure
                self._finish("ended" if ended else "failed", f"{problem}; gave up after {limit} reconnect attempt(s)")
                return
            delay = self.options.backoff(attempts)
            self.stats.state, self.stats.reconnects = "reconnecting", self.stats.reconnects + 1
            of = f"/{limit}" if limit is not None else ""
            self._emit("reconnecting", f"{problem}; reconnecting in {delay:.1f} s (attempt {attempts}{of})")
            if self.stop.wait(delay):
                break
        self._finish("stopped", "stopped")

    def _finish(self, state: EventKind, message: str) -> None:
        self._report_drops(force=True)
        self.stats.state = state
        if state == "failed":
            self.stats.error = message
        self._emit(state, message)

    def _open(self) -> av.container.InputContainer:
        kind, url = self.kind, self.source.url
        if kind == "file" and not os.path.exists(url.removeprefix("file:")):
            raise StreamError(f"file not found: {url}")
        options = {}
        if kind != "file":  # a live source: waiting to probe delays every alert of a new stream
            options["analyzeduration"] = str(int(LIVE_PROBE_SECONDS * 1_000_000))
        if kind == "url":
            options["rw_timeout"] = str(int(self.options.read_timeout * 1_000_000))
        try:
            return av.open(url, mode="r", options=options, timeout=(self.options.open_timeout, self.options.read_timeout))
        except av.error.ExitError:
            raise StreamError(f"no answer within {self.options.open_timeout:g} s") from None
        except av.error.InvalidDataError:
            raise StreamError("not a readable media stream (invalid or corrupt data)") from None
        except (av.error.FFmpegError, OSError) as exc:
            raise StreamError(f"cannot open: {_reason(exc)}") from None

    def _frames(self) -> Iterator[SampledFrame]:
        """Sampled frames of one connection; raises StreamError when it breaks."""
        self.stats.state = "connecting"
        container = self._open()
        try:
            if not container.streams.video:
                raise StreamError("no video stream in the source")
            stream = container.streams.video[0]
            start = float(stream.start_time * stream.time_base) if stream.start_time is not None and stream.time_base else None
            self.stats.state = "playing"
            self._emit("opened", f"{stream.codec_context.name} {stream.codec_context.width}x{stream.codec_context.height}")
            interval = 1.0 / self.options.sample_rate
            next_due = previous = 0.0
            offset_floor: float | None = None  # smallest (wall - stream time) seen: the stream's own clock
            anchor: tuple[float, float] | None = None  # (monotonic, stream time) of the first frame, for pacing
            for frame in self._decoded(container, stream):
                self.stats.frames_read += 1
                if frame.time is None:
                    continue
                if start is None:
                    start = float(frame.time)
                at = max(0.0, float(frame.time) - start)
                if at + interval < previous:  # the clock went back (a new session on the same connection)
                    next_due, offset_floor, anchor = at, None, None
                previous = at
                now = time.monotonic()
                if self.options.realtime and self.kind == "file":
                    anchor = anchor or (now, at)
                    if self.stop.wait(max(0.0, anchor[0] + (at - anchor[1]) - now)):
                        return
                    now = time.monotonic()
                offset = now - at
                offset_floor = offset if offset_floor is None else min(offset_floor, offset)
                self.stats.lag = offset - offset_floor
                if at + 1e-6 < next_due:
                    continue
                next_due = (math.floor(at / interval + 1e-6) + 1) * interval
                try:
                    luma = frame_luma(frame)
                except VideoError:
                    self.stats.damaged += 1  # skipped; the next grid point is sampled instead
                    continue
                yield SampledFrame(self.source.name, at, now, time.time(), luma)
        finally:
            container.close()

    def _decoded(self, container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> Iterator[av.VideoFrame]:
        packets = container.demux(stream)
        while not self.stop.is_set():
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.error.ExitError:
                raise StreamError(f"no data for {self.options.read_timeout:g} s") from None
            except (av.error.FFmpegError, OSError) as exc:
                raise StreamError(f"read failed: {_reason(exc)}") from None
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                self.stats.damaged += 1  # one damaged packet costs its frames, not the stream
                continue
            yield from frames

    def _offer(self, frame: SampledFrame, *, live: bool) -> None:
        self.stats.sampled += 1
        if self.buffer.put(frame, wait=not live, stop=self.stop) is not None:
            self.stats.dropped += 1
            self._drops_unreported += 1
        self._report_drops()

    def _report_drops(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._drops_unreported and (force or now - self._last_drop_report >= DROP_REPORT_EVERY):
            self._emit("dropped", f"matching is behind: dropped {self._drops_unreported} frame(s) ({self.stats.dropped} in all)")
            self._drops_unreported, self._last_drop_report = 0, now


def _reason(exc: BaseException) -> str:
    """FFmpeg's own words for an error, without the errno and repeated URL PyAV adds."""
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text)
