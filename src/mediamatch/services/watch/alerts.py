"""What the stream watcher reports: a match of a frame (`KnownMatch`) and the `Alert` raised
for it. Alert sinks (see `sinks`) are plain callables taking an `Alert`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

AlertSink = Callable[["Alert"], None]


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


@dataclass(frozen=True, slots=True)
class IndicatorMatch:
    """A hit on a signed hash list, as a `KnownMatch`. A list names indicators, never media
    items or series, so `media_id` carries the indicator id (what a platform reports back in
    its hit) and `series` stays empty."""

    media_id: int
    signal: str
    distance: int
    series: tuple[str, ...] = ()


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
