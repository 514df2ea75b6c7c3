"""Matching hashed files against the catalogue: every exact signal, then PDQ within the radius.

Hamming indexes live in memory, built from the catalogue's `media_signals` rows: stills (the
registry's Hamming signal of images, PDQ) and the frames of known videos (its signal of video
frames), one index per family of frame hashes that may match one another (the frame with or
without its bars; each of its four halves: signals/vpdq.py VARIANT_FAMILIES; see
`frame_matching.py` for what a frame hit means). Building
them for millions of hashes means reading millions of rows, so each is saved beside the
catalogue (`index/cache.py`) with the last row id it holds; the next start loads the file
(memory mapped, under a second) and reads only the rows added since. Exact digests are looked
up in the database, whose unique index already answers them in one query per batch.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mediamatch.catalog.hashes import DISPLAYED, HashRecord
from mediamatch.catalog.records import Match, MatchDetail
from mediamatch.config import index_file_for, url_key
from mediamatch.index.cache import IndexCache
from mediamatch.index.hamming import PDQIndex, hashes_from_hex
from mediamatch.services.catalogue_changes import ChangeWatch, follow_changes
from mediamatch.services.frame_matching import Evidence, is_video_match, time_ranges, time_slots, video_shares
from mediamatch.signals.pdq import MATCH_THRESHOLD, MIN_QUALITY
from mediamatch.signals.registry import exact_signals, hamming_signal
from mediamatch.signals.vpdq import VARIANT_FAMILIES, variant_family, variant_signal
from mediamatch.store import repo

DETAILS_CACHE_LIMIT = 1_000_000


class SavedIndex:
    """A PDQ index of catalogue rows of one or more signals, kept beside the catalogue between runs.

    Stills are keyed by media id; video frames (`by_row`) by their row id, which says which frame
    of which video, and so when in it, a hit is. `signal` is the first of `signals`: what a hit
    is reported as."""

    def __init__(self, signals: tuple[str, ...], cache: IndexCache, index: PDQIndex, last_row: int, *, by_row: bool = False) -> None:
        self.signals = signals
        self.signal = signals[0]
        self.by_row = by_row
        self.cache = cache
        self.index = index
        self.last_row = last_row

    @classmethod
    def open(cls, engine: Engine, signals: tuple[str, ...], cache_path: Path, *, by_row: bool = False) -> SavedIndex:
        """The saved index when it is of this catalogue and these signals, caught up with the
        rows stored since (and saved again in the background when it changed); else built from
        the catalogue."""
        cache = IndexCache(cache_path)
        key = {"url_key": url_key(engine.url.render_as_string(hide_password=True)), "signals": list(signals)}
        saved = cls(signals, cache, PDQIndex(), 0, by_row=by_row)
        loaded = cache.load(key)
        if loaded is not None and isinstance(last_row := loaded[1].get("last_row"), int):
            saved.index, saved.last_row = loaded[0], last_row
        if saved.refresh(engine):
            cache.save(saved.index, {**key, "last_row": saved.last_row})
        return saved

    def refresh(self, engine: Engine) -> int:
        """Add the rows stored since; returns how many were added."""
        added = _rows_after(engine, self.signals, self.last_row, self.by_row)
        if not added:
            return 0
        ids, hashes, self.last_row = added
        self.index = _grown(self.index, ids, hashes)
        return len(ids)

    def search(self, queries: list[str], radius: int) -> list[list[tuple[int, int]]]:
        if not queries or not len(self.index):
            return [[] for _ in queries]
        results = self.index.search_many(hashes_from_hex(queries), radius=radius)
        return [[(int(key), int(distance)) for key, distance in hits] for hits in results]


@dataclass(frozen=True, slots=True)
class ItemOrigin:
    """Where a matched item came from: "agency (case)" of each contribution, oldest first, and
    the ids of its series (the agencies that match it are told when its victim is identified)."""

    known_from: tuple[str, ...]
    series_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class _Query:
    """One PDQ hash searched for a record: the picture (or one of its flips) or a video frame."""

    position: int  # which record
    value: str
    transform: str = ""
    frame: int | None = None  # the record's frame number, for a video
    timestamp: float = 0.0
    family: str = ""  # which frame index it is searched in (signals/vpdq.py VARIANT_FAMILIES)


class CatalogueMatcher:
    """Answers, for a batch of HashRecords, which catalogue items each one matches.

    A long-lived one (a server's) is kept current by `invalidate()`, which the services that
    change the catalogue call through `catalogue_changes.catalogue_changed`: the next `match`
    first catches up (`refresh`)."""

    def __init__(self, engine: Engine, stills: SavedIndex, frames: dict[str, SavedIndex], radius: int = MATCH_THRESHOLD) -> None:
        self.engine = engine
        self.stills = stills
        self.frames = frames  # by family of frame hashes (signals/vpdq.py VARIANT_FAMILIES)
        self.radius = radius
        # The same known items match file after file (a drive holds many copies of a series), so
        # their details are read once per matcher. A matcher lives for one triage run: an item
        # marked identified meanwhile shows as such in the next run.
        self._details: dict[int, MatchDetail] = {}
        self._origins: dict[int, ItemOrigin] = {}
        self._indicators: dict[tuple[int, str, float | None], int] = {}
        self._known_slots: dict[int, int] = {}  # seconds with usable frames, per known video
        self._stale = False
        self._others = ChangeWatch(engine)  # changes made by other processes (other server workers)
        self._refreshing = threading.Lock()

    @classmethod
    def open(cls, engine: Engine, cache: Path | None = None) -> CatalogueMatcher:
        """The matcher for the catalogue behind `engine`, from the saved indexes when there are."""
        cache = cache or index_file_for(engine.url.render_as_string(hide_password=False), ".pdq-index")
        frame_signal = hamming_signal("video_frame").name
        frames = {
            family: SavedIndex.open(
                engine,
                tuple(variant_signal(frame_signal, variant) for variant in members),
                cache.with_name(f"{cache.name}.frames{'-' + family if family else ''}"),
                by_row=True,
            )
            for family, members in VARIANT_FAMILIES.items()
        }
        matcher = cls(engine, SavedIndex.open(engine, (hamming_signal("image").name,), cache), frames)
        follow_changes(engine, matcher)
        return matcher

    def invalidate(self) -> None:
        """The catalogue changed: catch up before the next answer."""
        self._stale = True

    def refresh(self) -> int:
        """Add the PDQ hashes stored since this matcher was opened and forget cached item
        details (a long-running server calls this after contributions and identifications, so
        what it answers is current). Returns how many hashes were added."""
        with self._refreshing:  # two requests catching up at once would grow one index twice
            self._stale = False  # cleared first: a change during the refresh is caught next time
            self._details.clear()  # an identification may have changed what is known of them
            self._origins.clear()  # and a contribution who holds them
            self._indicators.clear()  # and a removal the rows behind them
            self._known_slots.clear()  # and a re-contributed video more frames
            return self.stills.refresh(self.engine) + sum(index.refresh(self.engine) for index in self.frames.values())

    def match(self, records: Sequence[HashRecord], session: Session | None = None) -> list[list[Match]]:
        """For each record, its matches (closest first); empty when it matches nothing.

        A server passes its request's `session`, so one request holds one database connection."""
        if self._stale or self._others.changed():
            self.refresh()
        found: list[dict[int, Evidence]] = [{} for _ in records]
        with nullcontext(session) if session is not None else Session(self.engine) as session:
            # Widest digest first, so a SHA-256 hit is reported as such; every one is asked (in
            # one statement), as items imported from hash lists may have an MD5 or SHA-1 and no SHA-256.
            digests = exact_signals()
            wanted = {signal.name: [value for record in records if (value := record.value(signal.name))] for signal in digests}
            hits = repo.lookup_exact_many(session, wanted) if any(wanted.values()) else {}
            for signal in digests:
                for slot, record in zip(found, records):
                    for media_id in hits.get((signal.name, record.value(signal.name) or ""), ()):
                        slot.setdefault(media_id, Evidence(0, signal.name))
            queries = _queries(records)
            self._match_stills(queries, found)
            self._match_frames(session, queries, found)
            media_ids = {media_id for slot in found for media_id in slot}
            details = self._match_details(session, media_ids)
            known_slots = self._slots_of(session, {media_id for slot in found for media_id, evidence in slot.items() if evidence.nearest})
        query_frames = Counter(position for position, _ in {(query.position, query.frame) for query in queries if query.frame is not None})  # usable ones
        return [
            sorted(
                (
                    match
                    for media_id, evidence in slot.items()
                    if media_id in details and (match := _as_match(details[media_id], evidence, query_frames[position], known_slots.get(media_id, 0)))
                ),
                key=lambda match: (match.distance, match.media_id),
            )
            for position, slot in enumerate(found)
        ]

    def origins(self, session: Session, media_ids: set[int]) -> dict[int, ItemOrigin]:
        """Who contributed each matched item, and its series, read once per matcher like the
        details (a server answers the same known items all day: two queries per request saved)."""
        found = {media_id: origin for media_id in media_ids if (origin := self._origins.get(media_id)) is not None}
        missing = media_ids - found.keys()
        if missing:
            if len(self._origins) > DETAILS_CACHE_LIMIT:
                self._origins.clear()
            known_from = repo.describe_contributions_of(session, missing)
            series = repo.series_ids_of(session, missing)
            fresh = {media_id: ItemOrigin(known_from.get(media_id, ()), series.get(media_id, frozenset())) for media_id in missing}
            self._origins.update(fresh)
            found.update(fresh)  # from here, not the cache: a refresh in another thread may clear it
        return found

    def indicators(self, session: Session, keys: set[tuple[int, str, float | None]]) -> dict[tuple[int, str, float | None], int]:
        """The indicator ids (`repo.indicator_ids`) of matches, read once per matcher like the
        details: a platform's `/match` then costs no statement for them."""
        found = {key: indicator for key in keys if (indicator := self._indicators.get(key)) is not None}
        missing = keys - found.keys()
        if missing:
            if len(self._indicators) > DETAILS_CACHE_LIMIT:
                self._indicators.clear()
            fresh = repo.indicator_ids(session, missing)
            self._indicators.update(fresh)
            found.update(fresh)
        return found

    def _slots_of(self, session: Session, videos: set[int]) -> dict[int, int]:
        """How many seconds of each known video have a usable frame hash (of any family): the
        denominator of its share (frame_matching.py), read once per matcher like the details."""
        missing = videos - self._known_slots.keys()
        if missing:
            if len(self._known_slots) > DETAILS_CACHE_LIMIT:
                self._known_slots.clear()
            signals = [signal for index in self.frames.values() for signal in index.signals]
            times = repo.usable_frame_times(session, missing, signals, MIN_QUALITY)
            self._known_slots.update({media_id: len(time_slots(times.get(media_id, ()))) for media_id in missing})
        return {media_id: self._known_slots.get(media_id, 0) for media_id in videos}

    def _match_details(self, session: Session, media_ids: set[int]) -> dict[int, MatchDetail]:
        missing = media_ids - self._details.keys()
        if missing:
            if len(self._details) > DETAILS_CACHE_LIMIT:
                self._details.clear()
            self._details.update(repo.match_details(session, missing))
        return self._details

    def _match_stills(self, queries: list[_Query], found: list[dict[int, Evidence]]) -> None:
        """Known stills: matched by a picture (or a flip of it), or by a frame of a video (with
        or without its bars; a half frame is no still)."""
        signal = self.stills.signal
        queries = [query for query in queries if not query.family]
        for query, hits in zip(queries, self.stills.search([query.value for query in queries], self.radius)):
            slot = found[query.position]
            for media_id, distance in hits:
                evidence = slot.setdefault(media_id, Evidence(distance, signal, query.transform))
                evidence.closer(distance, signal, query.transform)
                if query.frame is not None:
                    evidence.query_times.add(query.timestamp)

    def _match_frames(self, session: Session, queries: list[_Query], found: list[dict[int, Evidence]]) -> None:
        """Frames of known videos: matched by a still (found inside the video) or by a frame of a
        triaged video (the two videos share footage), each hash in the index of its family."""
        searched: list[tuple[_Query, list[tuple[int, int]]]] = []
        for family, index in self.frames.items():
            family_queries = [query for query in queries if query.family == family]
            searched += zip(family_queries, index.search([query.value for query in family_queries], self.radius))
        rows = repo.frame_rows(session, {row for _, hits in searched for row, _ in hits})
        frame_signal = self.frames[""].signal
        for query, hits in searched:
            slot = found[query.position]
            for row_id, distance in hits:
                if (row := rows.get(row_id)) is None:
                    continue
                signal = self.stills.signal if query.frame is None else frame_signal
                evidence = slot.setdefault(row.media_id, Evidence(distance, signal, query.transform))
                evidence.closer(distance, signal, query.transform)
                if query.frame is None:
                    evidence.known_times.add(row.timestamp)
                else:
                    evidence.frame_hit(query.frame, query.timestamp, distance, row.timestamp)


def _queries(records: Sequence[HashRecord]) -> list[_Query]:
    """The Hamming hashes to search: each usable picture in its variants (PDQ's 8 flips) and as
    displayed where EXIF turns it, each usable hash of a video frame (the frame's and its
    variants', signals/vpdq.py). The catalogue's index holds both of its pictures' hashes too
    (`media_signals.displayed`), keyed by the item."""
    still = hamming_signal("image")
    queries: list[_Query] = []
    for position, record in enumerate(records):
        for frame in record.frames:
            for variant, frame_hash, quality in (("", frame.pdq, frame.quality), *frame.variants):
                if quality >= MIN_QUALITY:
                    queries.append(_Query(position, frame_hash, frame=frame.number, timestamp=frame.timestamp, family=variant_family(variant)))
        value = record.value(still.name)
        if not value or (record.quality(still.name) or 0) < still.min_quality:
            continue  # the reference's rule: low-quality hashes match noise
        variants = record.variants.get(still.name) or (value,)
        for number, (name, variant) in enumerate(zip(still.variant_names or ("",), variants)):
            queries.append(_Query(position, variant, name if number else ""))  # the first: as it is
        if shown := record.displayed.get(still.name):
            queries.append(_Query(position, shown[0], DISPLAYED))  # as a viewer shows it (EXIF orientation)
    return queries


def _as_match(detail: MatchDetail, evidence: Evidence, query_frames: int, known_slots: int) -> Match | None:
    """The match to report, or None where two videos share too little (vPDQ's rule, counted in
    time: frame_matching.py)."""
    query_share = known_share = None
    if evidence.nearest and evidence.signal == hamming_signal("video_frame").name:
        query_share, known_share = video_shares(evidence, query_frames, known_slots)
        if not is_video_match(query_share, known_share):
            return None
    return Match(
        media_id=detail.media_id,
        series=detail.series,
        category=detail.category,
        baseline=detail.baseline,
        victim_identified=detail.victim_identified,
        signal=evidence.signal,
        distance=evidence.distance,
        transform=evidence.transform,
        query_seconds=time_ranges(evidence.query_times),
        known_seconds=time_ranges(evidence.known_times),
        query_share=None if query_share is None else round(query_share, 3),
        known_share=None if known_share is None else round(known_share, 3),
        investigations=detail.investigations,
    )


def _rows_after(engine: Engine, signals: tuple[str, ...], last_row: int, by_row: bool) -> tuple[np.ndarray, np.ndarray, int] | None:
    """(keys, hashes, last row id) of the usable rows of `signals` stored after `last_row`, if
    any. Stills are keyed by media id, video frames by row id (see `SavedIndex`)."""
    with Session(engine) as session:
        rows = sorted(row for signal in signals for row in repo.iter_signal_rows(session, signal, after_id=last_row, min_quality=MIN_QUALITY))
    if not rows:
        return None
    ids = np.array([row_id if by_row else media_id for row_id, media_id, _ in rows], np.int64)
    return ids, hashes_from_hex([value for _, _, value in rows]), rows[-1][0]


def _grown(index: PDQIndex, ids: np.ndarray, hashes: np.ndarray) -> PDQIndex:
    """`index` with the new rows: added in place to an in-memory index, else built anew."""
    if not len(index):
        return PDQIndex.from_arrays(ids, hashes)
    if not isinstance(index.hashes, np.memmap):
        index.add(ids, hashes)
        return index
    # A loaded index is memory-mapped and read-only: rebuild it in memory with the new rows.
    return PDQIndex.from_arrays(np.concatenate([np.asarray(index.ids), ids]), np.concatenate([np.asarray(index.hashes), hashes]))
