"""What the frames of a live stream are matched against: the catalogue, or a platform's signed
hash list. Both answer the same question (`StreamFrameMatcher.match_frames`), so the watcher
does not know which one it runs on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Engine

from mediamatch.catalog.hashes import HashRecord
from mediamatch.services.matching import CatalogueMatcher
from mediamatch.services.platform_matcher import HashListMatcher
from mediamatch.services.watch.alerts import IndicatorMatch, KnownMatch
from mediamatch.signals.pdq import PDQSignal
from mediamatch.signals.registry import hamming_signal

FramePdq = tuple[str, int]  # (PDQ hex, quality) of one sampled frame
REFRESH_EVERY = 60.0  # seconds between catalogue refreshes, so new contributions are matched


class StreamFrameMatcher(Protocol):
    """Matches PDQ hashes of frames; one list of matches (closest first) per hash.

    The catalogue is one implementation; a platform's signed hash list can be another."""

    def match_frames(self, pdqs: Sequence[FramePdq]) -> Sequence[Sequence[KnownMatch]]: ...


class CatalogueFrameMatcher:
    """`StreamFrameMatcher` over the local catalogue, refreshed every `refresh_every` seconds.

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


class HashListFrameMatcher:
    """`StreamFrameMatcher` over a verified hash list (`platform_matcher.HashListMatcher`):
    what a platform runs on its own streams, with no catalogue and nothing leaving it. A frame
    is looked up among the list's stills and frames of known videos (`frame_signals`)."""

    def __init__(self, matcher: HashListMatcher) -> None:
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


def frame_signals() -> tuple[str, str]:
    """The signals a stream frame is looked up as: a known still's, and a known video frame's."""
    return hamming_signal("image").name, hamming_signal("video_frame").name
