"""Opening a video safely and giving its frames, numbered and sampled as Meta's vPDQ does.

Compatibility with the vPDQ reference (facebook/ThreatExchange vpdq/cpp, `hashVideoFile`):

- Frame numbers count the frames the decoder outputs, from 0, over the first video stream.
- One frame per second means: keep frame n when n % int(seconds_per_hash * fps) == 0, with fps
  the stream's average frame rate (falling back to r_frame_rate), exactly the reference's rule,
  so the frame numbers sampled are the reference's too.
- Each kept frame is converted to RGB24 by libswscale at its own size with BT.601 coefficients
  (the reference never sets a colour space), then to float luma 0.299 R + 0.587 G + 0.114 B in
  float32, which is what PDQ hashes. The RGB conversion asks swscale for its exact C arithmetic
  (POINT | ACCURATE_RND): the reference's output depends on the CPU it runs on (x86 SIMD rounds
  differently from the C code), and the exact path reproduces Meta's sample hashes bit for bit
  on 13 of the 14 ThreatExchange sample videos (the 14th's were evidently made on an x86
  machine: median 2 bits, max 4). Measured in tests/signals/test_vpdq_reference.py.

Where we deliberately differ from the reference, both for the reason given:

- Timestamps are the frame's presentation time (pts), relative to the stream's start, not
  frame_number / fps: for variable frame rate video (phones, screen recordings) only the pts
  says when a frame is shown. For constant frame rate video the two agree.
- Rotation metadata (the display matrix, e.g. a phone held upright) is applied as players apply
  it, so a frame is hashed as a person sees it and a screenshot of the playing video matches.
  The reference ignores the display matrix and hashes the stored orientation; a rotated video's
  hashes then differ from the reference's (PDQ's dihedral variants bridge that when searching).
- The reference gives up on a video when one packet fails to decode; we skip the packet as a
  player does, hash the rest, and report the damage as the record's error.

Beside each frame's reference hash, `frame_variants` gives the pictures of its extra hashes
(signals/vpdq.py, FRAME_VARIANTS): the frame without its letterbox or pillarbox bars, and the
four halves of what it shows, so the same footage is found with other bars or none, and with
a logo over part of it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Self

import av
import numba
import numpy as np
from av.video.reformatter import Colorspace, Interpolation

from mediamatch.catalog.hashes import BytesSource, Source, SpooledSource
from mediamatch.media.limits import DEFAULT_LIMITS, Limits
from mediamatch.media.spool import read_spooled

# A truncated file decodes without an error and simply ends early: a last frame this far short
# of the container's stated duration (and of its last tenth) is reported as truncation.
TRUNCATION_SLACK_SECONDS = 1.0
MAX_DAMAGED_PACKETS = 100  # undecodable packets skipped before a file is given up as noise

_TO_RGB: dict[str, Any] = {
    "format": "rgb24",
    "interpolation": Interpolation.POINT | Interpolation.ACCURATE_RND,  # same size: no scaling
    "src_colorspace": Colorspace.ITU601,  # swscale's default, which the reference relies on
    "dst_colorspace": Colorspace.ITU601,
    "threads": 1,
}
_R, _G, _B = np.float32(0.299), np.float32(0.587), np.float32(0.114)

# Letterbox and pillarbox bars are black: a line (row or column) at an edge whose brightest pixel
# is at most BORDER_LUMA (of 255) is bar. Only dark lines: a smooth bright region (the
# ThreatExchange sample `doorknob-hd-no-bar` has 434 rows at the bottom whose luma varies by
# under 2 standard deviations) is picture, never bar. The sample videos' bars measure 0-8.
BORDER_LUMA = 32.0
# Bars narrower than this share of the width (or height), both sides together, are no bars (an
# encoder's dark edge line): the plain hash already stands for the frame.
MIN_BORDER_SHARE = 0.02
# What is left must keep this share of each side: a fade to black is not cut down to a sliver.
MIN_CONTENT_SHARE = 0.25
VARIANT_SIDE = 256  # frames are shrunk towards this short side before their variants are hashed


class VideoError(Exception):
    """A video that cannot be read (or read to its end), with a message fit for a report."""


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What the container says about the first video stream, checked against the limits."""

    width: int  # as stored; a display matrix may turn frames (see `frame_luma`)
    height: int
    fps: float  # the reference's frame rate: average, else r_frame_rate
    duration: float | None  # seconds, as stated by the container (None when it does not say)
    codec: str


def frame_luma(frame: av.VideoFrame) -> np.ndarray:
    """The float32 luminance plane PDQ hashes, converted as the vPDQ reference converts it.

    The frame is turned upright as a player would by its display matrix (`frame.rotation`).
    Raises VideoError when FFmpeg cannot convert it (an exotic or broken pixel format).
    """
    try:
        rgb = frame.to_ndarray(**_TO_RGB)
    except Exception as exc:  # noqa: BLE001 - av.FFmpegError, ValueError, or whatever a damaged frame provokes
        raise VideoError(f"a {frame.width}x{frame.height} {frame.format.name} frame could not be converted: {_reason(exc)}") from None
    luma = np.empty(rgb.shape[:2], np.float32)
    _luma_from_rgb24(rgb, luma)
    turns = _quarter_turns(frame.rotation)
    return np.ascontiguousarray(np.rot90(luma, turns)) if turns else luma


@numba.njit(cache=True, nogil=True)
def _luma_from_rgb24(rgb: np.ndarray, out: np.ndarray) -> None:
    # One pass, in float32 and in the reference's order ((R + G) + B, no fused multiply-add):
    # NumPy's three whole-array passes with temporaries took 10 ms of a 1080p frame, this 1 ms.
    rows, cols, _ = rgb.shape
    for y in range(rows):
        for x in range(cols):
            out[y, x] = np.float32(rgb[y, x, 0]) * _R + np.float32(rgb[y, x, 1]) * _G + np.float32(rgb[y, x, 2]) * _B


def content_box(luma: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) bounds of what a frame shows inside its black bars, as slice
    bounds (`luma[top:bottom, left:right]`); None when it has no bars (see BORDER_LUMA)."""
    rows, cols = luma.shape
    top, bottom, left, right = _dark_edges(luma, np.float32(BORDER_LUMA))
    if top + bottom < MIN_BORDER_SHARE * rows and left + right < MIN_BORDER_SHARE * cols:
        return None
    if rows - top - bottom < MIN_CONTENT_SHARE * rows or cols - left - right < MIN_CONTENT_SHARE * cols:
        return None
    return top, rows - bottom, left, cols - right


@numba.njit(cache=True, nogil=True)
def _dark_edges(luma: np.ndarray, darkest: np.float32) -> tuple[int, int, int, int]:
    # How many dark lines each edge has, scanning inwards and stopping at the first line that
    # is not dark: only the bars are read, not the whole frame.
    rows, cols = luma.shape
    top = 0
    while top < rows and luma[top, :].max() <= darkest:
        top += 1
    bottom = 0
    while bottom < rows - top and luma[rows - 1 - bottom, :].max() <= darkest:
        bottom += 1
    left = 0
    while left < cols and luma[top : rows - bottom, left].max() <= darkest:
        left += 1
    right = 0
    while right < cols - left and luma[top : rows - bottom, cols - 1 - right].max() <= darkest:
        right += 1
    return top, bottom, left, right


def frame_variants(luma: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The pictures of a frame's extra hashes, by variant name (signals/vpdq.py FRAME_VARIANTS):
    "borderless" (the frame inside its bars, when it has bars), then the "top", "bottom",
    "left" and "right" halves of what it shows.

    They are hashed from the picture shrunk by an integer factor to about VARIANT_SIDE pixels
    on its short side (`shrunk`): PDQ reduces every picture to 64x64 blocks anyway, so a hash
    moves by a few bits at most, and five more hashes of a 1080p frame cost what one did."""
    box = content_box(luma)
    variants: list[tuple[str, np.ndarray]] = []
    if box is not None:
        top, bottom, left, right = box
        luma = shrunk(luma[top:bottom, left:right])
        variants.append(("borderless", luma))
    else:
        luma = shrunk(luma)
    rows, cols = luma.shape
    variants += [("top", luma[: rows // 2]), ("bottom", luma[rows // 2 :]), ("left", luma[:, : cols // 2]), ("right", luma[:, cols // 2 :])]
    return variants


def shrunk(luma: np.ndarray) -> np.ndarray:
    """`luma` averaged over square blocks so its short side is at least VARIANT_SIDE (itself when small)."""
    factor = min(luma.shape) // VARIANT_SIDE
    if factor < 2:
        return luma
    out = np.zeros((luma.shape[0] // factor, luma.shape[1] // factor), np.float32)
    _box_average(luma, factor, out)
    return out


@numba.njit(cache=True, nogil=True)
def _box_average(luma: np.ndarray, factor: int, out: np.ndarray) -> None:
    rows, cols = out.shape
    scale = np.float32(1.0 / (factor * factor))
    for y in range(rows):
        for x in range(cols):
            total = np.float32(0.0)
            for dy in range(factor):
                for dx in range(factor):
                    total += luma[y * factor + dy, x * factor + dx]
            out[y, x] = total * scale


def _quarter_turns(rotation: float | None) -> int:
    # np.rot90 turns counter-clockwise as seen on screen, as the display matrix angle counts.
    return round((rotation or 0) / 90) % 4


def _opened(source: Source | bytes | BinaryIO) -> str | BinaryIO:
    if isinstance(source, bytes):
        return io.BytesIO(source)
    if isinstance(source, BytesSource):
        return io.BytesIO(source.data)
    if isinstance(source, SpooledSource):
        return io.BytesIO(read_spooled(source))
    if isinstance(source, (str, Path)):
        return str(source)
    return source


class Video:
    """An open video file: check it with `info`, read it with `frames()`, then `close()`.

    Opening refuses, with a VideoError saying why, what has no video stream (an audio-only
    file), no usable size, more pixels per frame or a longer stated duration than the limits
    allow, or what FFmpeg cannot parse at all (corrupt, truncated before its index)."""

    def __init__(self, source: Source | bytes | BinaryIO, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.decoded = 0  # frames decoded so far by `frames()`
        self.damaged = 0  # packets the decoder rejected (skipped)
        self.first_damage = ""
        try:
            self.container = av.open(_opened(source), mode="r", metadata_errors="ignore")
        except av.FFmpegError as exc:
            raise VideoError(f"not a readable video (corrupt or truncated): {_reason(exc)}") from None
        except Exception as exc:  # noqa: BLE001 - OSError, ValueError, or a binding's own bug on mutated bytes
            raise VideoError(f"not a readable video: {_reason(exc)}") from None
        try:
            self.stream, self.info = self._check()
        except BaseException as exc:
            self.container.close()
            if isinstance(exc, VideoError) or not isinstance(exc, Exception):
                raise
            # a header field no check foresaw (an overflowing rate, a bad size)
            raise VideoError(f"not a readable video: {_reason(exc)}") from None

    def _check(self) -> tuple[av.video.stream.VideoStream, VideoInfo]:
        container, limits = self.container, self.limits
        if not container.streams.video:
            kinds = sorted({stream.type for stream in container.streams})
            raise VideoError("audio only: no video stream" if "audio" in kinds else f"no video stream (streams: {', '.join(kinds) or 'none'})")
        stream = container.streams.video[0]
        codec = stream.codec_context
        width, height = codec.width, codec.height
        if width <= 0 or height <= 0:
            raise VideoError(f"no usable frame size ({width}x{height})")
        if width * height > limits.max_video_pixels:
            raise VideoError(f"refused: {width}x{height} frames are over the {limits.max_video_pixels:,}-pixel limit")
        rate = stream.average_rate or stream.base_rate
        if not rate:
            raise VideoError("no frame rate stated")
        duration = stated_duration(container, stream)
        if duration is not None and duration > limits.max_video_seconds:
            raise VideoError(f"refused: {duration:,.0f} s is over the {limits.max_video_seconds:,.0f}-second limit")
        codec.options = {"max_pixels": str(limits.max_video_pixels)}  # FFmpeg refuses larger frames itself
        codec.thread_count = max(1, limits.video_threads)
        codec.thread_type = "AUTO" if limits.video_threads > 1 else "SLICE"
        info = VideoInfo(width, height, float(rate), duration, codec.name)
        return stream, info

    def frames(self, *, every_frame: bool = False, seconds_per_hash: float = 1.0) -> Iterator[tuple[int, float, av.VideoFrame]]:
        """(frame number, seconds from the start, frame) for each sampled frame, in order.

        Raises VideoError after the last frame when packets could not be decoded (they are
        skipped, as players skip them), when the decoded video outgrows the limits (a header
        can lie) or when it ends well short of its stated duration (truncated), and for any
        other exception on the way (a damaged file is the file's error, never the run's)."""
        try:
            yield from self._sampled(every_frame, seconds_per_hash)
        except VideoError:
            raise
        except Exception as exc:  # noqa: BLE001 - a damaged stream can make the decoder raise anything: it ends this file, not the run
            raise VideoError(f"damaged: reading stopped after frame {self.decoded - 1}: {_reason(exc)}") from None

    def _sampled(self, every_frame: bool, seconds_per_hash: float) -> Iterator[tuple[int, float, av.VideoFrame]]:
        every = 1 if every_frame else max(1, int(seconds_per_hash * self.info.fps))
        stream, limits = self.stream, self.limits
        base = stream.time_base
        start: int | None = stream.start_time
        number = -1
        last_time = 0.0
        for frame in self._decoded():
            number += 1
            self.decoded = number + 1
            if start is None and frame.pts is not None:
                start = frame.pts
            seconds = _seconds(frame.pts, start, base, number, self.info.fps)
            last_time = max(last_time, seconds)
            if frame.width * frame.height > limits.max_video_pixels:  # the size can change mid-stream
                raise VideoError(f"refused at frame {number}: {frame.width}x{frame.height} is over the {limits.max_video_pixels:,}-pixel limit")
            if number >= limits.max_video_frames or seconds > limits.max_video_seconds:
                raise VideoError(
                    f"cut off at frame {number} ({seconds:.1f} s): over the limit of {limits.max_video_frames:,} frames or {limits.max_video_seconds:,.0f} s"
                )
            if number % every == 0:
                yield number, seconds, frame
        if self.damaged:
            raise VideoError(f"damaged: {self.damaged} packet(s) could not be decoded, the first {self.first_damage}; the rest was read")
        if number < 0:
            raise VideoError("no frame could be decoded (corrupt or truncated)")
        stated = self.info.duration
        if stated is not None and last_time + 1 / self.info.fps < min(stated - TRUNCATION_SLACK_SECONDS, stated * 0.9):
            raise VideoError(f"truncated: frames end at {last_time:.2f} s of the {stated:.2f} s the container states")

    def _decoded(self) -> Iterator[av.VideoFrame]:
        """Every frame the decoder outputs, in order; a packet it rejects is counted and skipped.

        The reference gives up on the whole video at the first bad packet; a player shows the
        rest, and so do we, up to MAX_DAMAGED_PACKETS (beyond that the file is noise)."""
        try:
            for packet in self.container.demux(self.stream):
                try:
                    frames = self.stream.decode(packet)
                except av.FFmpegError as exc:
                    self.damaged += 1
                    if self.damaged == 1:
                        where = f"after frame {self.decoded - 1}" if self.decoded else "before the first frame"
                        self.first_damage = f"{where} ({_reason(exc)})"
                    if self.damaged > MAX_DAMAGED_PACKETS:
                        raise VideoError(f"damaged: over {MAX_DAMAGED_PACKETS} packets could not be decoded, the first {self.first_damage}") from None
                    continue
                yield from frames
        except av.FFmpegError as exc:  # the container itself, not one packet
            raise VideoError(f"damaged: reading stopped after frame {self.decoded - 1}: {_reason(exc)}") from None

    def close(self) -> None:
        self.container.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def iter_frames(
    source: Source | bytes | BinaryIO,
    *,
    every_frame: bool = False,
    seconds_per_hash: float = 1.0,
    limits: Limits = DEFAULT_LIMITS,
) -> Iterator[tuple[int, float, av.VideoFrame]]:
    """(frame number as the vPDQ reference counts it, seconds, frame) for each sampled frame.

    One frame per `seconds_per_hash` by default, every frame on request. Raises VideoError
    (see `Video`) for a file that cannot be read to its end, after the frames that could."""
    with Video(source, limits) as video:
        yield from video.frames(every_frame=every_frame, seconds_per_hash=seconds_per_hash)


def _seconds(pts: int | None, start: int | None, base: Fraction | None, number: int, fps: float) -> float:
    if pts is None or base is None:
        return number / fps  # no timestamps (some raw streams): the reference's own rule
    return float((pts - (start or 0)) * base)


def stated_duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    """The length the file states (the stream's, else the container's), before decoding."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
