"""The platform matcher: a verified hash list in memory, answering "is this known?" with an
indicator id, a signal and a distance, and nothing else.

It holds no series, victim, case or agency data, because the list it loads holds none: what a
platform learns from a hit is exactly what it would learn from the list itself.

Updates without downtime: `apply_delta` builds the next state beside the current one and
replaces it with one attribute assignment (atomic in Python), and every lookup reads the
state once, so a lookup during an update is answered wholly by the old version or wholly by
the new one. The next state does not rebuild what it keeps: removed indicators are masked out
of the loaded arrays (one boolean per entry) and added ones go to a small overlay index, so a
delta of 100k changes to a 10M list costs about as much as indexing 100k hashes. When the
overlay grows past a quarter of the base, the state is rebuilt once (still beside the old one).

Loading verifies the whole list (SHA-256 and Ed25519 over every byte) and memory-maps it: the
hashes are never copied. The PDQ tables are built on the first load and saved beside the list
(`<list>.pdq-index`, the index/persist.py format), so a restart only verifies and maps.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mediamatch.catalog.hashes import FrameHash
from mediamatch.hashlist.delta import check_delta_fits
from mediamatch.hashlist.format import VIDEO_GROUP_BYTES, VIDEO_GROUP_SECTION, HashList, HashListError, Section, empty_section, read_hashlist
from mediamatch.hashlist.signing import load_public_key
from mediamatch.index.cache import IndexCache
from mediamatch.index.exact import ExactIndex
from mediamatch.index.hamming import HASH_BYTES, MAX_RADIUS, PDQIndex
from mediamatch.services.video_lookup import VideoAnswer, VideoRule
from mediamatch.signals.pdq import MIN_QUALITY
from mediamatch.signals.registry import get_signal

log = logging.getLogger(__name__)
COMPACT_FRACTION = 4  # rebuild when the overlay holds more than base / 4 entries ...
COMPACT_MIN = 65_536  # ... and more than this many


@dataclass(frozen=True, slots=True)
class IndicatorHit:
    """A match: which indicator, on which signal, how far (0 for exact digests)."""

    indicator: int
    signal: str
    distance: int


def _nearest(hit: tuple[int, int]) -> tuple[int, int]:
    return hit[1], hit[0]


def _build(kind: str, ids: np.ndarray, hashes: np.ndarray) -> PDQIndex | ExactIndex:
    if kind == "hamming":
        return PDQIndex.from_arrays(np.asarray(ids).view(np.int64), hashes)
    return ExactIndex(ids, hashes)


@dataclass(frozen=True, slots=True)
class _SignalIndex:
    """One signal's entries: a base (from the loaded list) with a mask of what was removed
    since, and an overlay of what was added since. Never changed once built."""

    signal: str
    kind: str  # "exact" or "hamming", from the signal's own declaration
    radius: int
    width: int
    base_ids: np.ndarray  # sorted
    base_hashes: np.ndarray
    base: PDQIndex | ExactIndex
    live: np.ndarray | None = None  # per base row; None: every row
    extra_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))  # sorted
    extra_hashes: np.ndarray | None = None
    extra: PDQIndex | ExactIndex | None = None

    @classmethod
    def of(cls, signal: str, kind: str, radius: int, section: Section, built: PDQIndex | ExactIndex | None = None) -> _SignalIndex:
        return cls(signal, kind, radius, section.width, section.ids, section.hashes, built or _build(kind, section.ids, section.hashes))

    def __len__(self) -> int:
        live = len(self.base_ids) if self.live is None else int(self.live.sum())
        return live + len(self.extra_ids)

    def _base_rows(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row in the base of each id and whether it is there and live."""
        rows = np.minimum(np.searchsorted(self.base_ids, ids), max(len(self.base_ids) - 1, 0))
        there = (self.base_ids[rows] == ids) if len(self.base_ids) else np.zeros(len(ids), bool)
        if self.live is not None:
            there &= self.live[rows]
        return rows, there

    def search_many(self, queries: np.ndarray) -> list[list[IndicatorHit]]:
        """Hits per query, nearest first (ties by indicator id)."""
        found = self.base.search_many(queries, self.radius)
        if self.live is not None:
            found = [self._still_live(hits) for hits in found]
        if self.extra is not None:
            found = [sorted(a + b, key=_nearest) if b else a for a, b in zip(found, self.extra.search_many(queries, self.radius))]
        signal = self.signal
        return [[IndicatorHit(i, signal, d) for i, d in hits] for hits in found]

    def _still_live(self, hits: list[tuple[int, int]]) -> list[tuple[int, int]]:
        if not hits:
            return hits
        live = self._base_rows(np.fromiter((i for i, _ in hits), np.uint64, len(hits)))[1]
        return [hit for hit, keep in zip(hits, live.tolist()) if keep]

    def applied(self, removed: Section, added: Section) -> _SignalIndex:
        """The next state of this signal: `removed` masked or dropped, `added` overlaid."""
        rows, in_base = self._base_rows(np.asarray(removed.ids))
        in_extra = np.isin(removed.ids, self.extra_ids)
        if not np.all(in_base | in_extra):
            missing = int(np.asarray(removed.ids)[~(in_base | in_extra)][0])
            raise HashListError(f"the delta removes {self.signal} indicator {missing}, which the loaded version does not hold")
        if len(added) and (self._base_rows(np.asarray(added.ids))[1].any() or np.isin(added.ids, self.extra_ids).any()):
            raise HashListError(f"the delta adds a {self.signal} indicator the loaded version already holds")
        live = self.live
        if in_base.any():
            live = np.ones(len(self.base_ids), bool) if live is None else live.copy()
            live[rows[in_base]] = False
        keep = ~np.isin(self.extra_ids, removed.ids)
        extra_hashes = self.extra_hashes if self.extra_hashes is not None else np.zeros((0, self.width), np.uint8)
        ids = np.concatenate([self.extra_ids[keep], np.asarray(added.ids, np.uint64)])
        hashes = np.concatenate([extra_hashes[keep], np.asarray(added.hashes).reshape(-1, self.width)])
        order = np.argsort(ids, kind="stable")
        ids, hashes = ids[order], hashes[order]
        base_live = len(self.base_ids) if live is None else int(live.sum())
        if len(ids) > max(COMPACT_MIN, base_live // COMPACT_FRACTION):
            mask = slice(None) if live is None else live
            merged = Section.of(np.concatenate([self.base_ids[mask], ids]), np.concatenate([np.asarray(self.base_hashes)[mask], hashes]), self.width)
            return _SignalIndex.of(self.signal, self.kind, self.radius, merged)
        extra = _build(self.kind, ids, hashes) if len(ids) else None
        return replace(self, live=live, extra_ids=ids, extra_hashes=hashes, extra=extra)


@dataclass(frozen=True, slots=True)
class _VideoGroups:
    """Which video each frame indicator belongs to (the list's `vpdq_video` section), and how
    many frames each video has in the list. Never changed once built."""

    frame_ids: np.ndarray  # sorted
    videos: np.ndarray  # row for row
    video_ids: np.ndarray  # sorted, distinct
    frame_counts: np.ndarray  # per video_ids row

    @classmethod
    def of(cls, section: Section) -> _VideoGroups:
        videos = np.ascontiguousarray(section.hashes).reshape(-1, VIDEO_GROUP_BYTES).view("<u8").ravel().astype(np.uint64)
        video_ids, counts = np.unique(videos, return_counts=True)
        return cls(np.asarray(section.ids, np.uint64), videos, video_ids, counts)

    def __len__(self) -> int:
        return len(self.frame_ids)

    def applied(self, removed: Section, added: Section) -> _VideoGroups:
        keep = ~np.isin(self.frame_ids, np.asarray(removed.ids, np.uint64))
        kept = self.videos[keep].astype("<u8").view(np.uint8).reshape(-1, VIDEO_GROUP_BYTES)
        ids = np.concatenate([self.frame_ids[keep], np.asarray(added.ids, np.uint64)])
        return _VideoGroups.of(Section.of(ids, np.concatenate([kept, np.asarray(added.hashes).reshape(-1, VIDEO_GROUP_BYTES)]), VIDEO_GROUP_BYTES))

    def video_of(self, frame_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The video of each frame indicator, and whether the list names one."""
        if not len(self.frame_ids):
            return np.zeros(len(frame_ids), np.uint64), np.zeros(len(frame_ids), bool)
        rows = np.minimum(np.searchsorted(self.frame_ids, frame_ids), len(self.frame_ids) - 1)
        return self.videos[rows], self.frame_ids[rows] == frame_ids

    def frames_of(self, video: int) -> int:
        row = int(np.searchsorted(self.video_ids, np.uint64(video)))
        return int(self.frame_counts[row]) if row < len(self.video_ids) and int(self.video_ids[row]) == video else 0


_NO_GROUPS = _VideoGroups.of(empty_section(VIDEO_GROUP_BYTES))


@dataclass(frozen=True, slots=True)
class _State:
    name: str
    version: int
    payload_sha256: str
    signals: Mapping[str, _SignalIndex]
    skipped: tuple[str, ...]  # signals in the list this installation cannot match
    videos: _VideoGroups = _NO_GROUPS

    def counts(self) -> dict[str, int]:
        return {signal: len(index) for signal, index in sorted(self.signals.items())}


def _matching(signal: str, width: int) -> tuple[str, int] | None:
    """(index kind, radius) for a signal, from its own declaration; None when unknown here."""
    try:
        declared = get_signal(signal)
    except KeyError:
        return None
    if declared.index_kind == "hamming":
        return ("hamming", min(declared.default_threshold, MAX_RADIUS)) if width == HASH_BYTES else None
    return "exact", 0


def _state_of(hashlist: HashList, cache_beside: Path | None = None) -> _State:
    if hashlist.kind != "full":
        raise HashListError(f"{hashlist.name} v{hashlist.version} is a delta; load the full list first")
    signals, skipped, videos = {}, [], _NO_GROUPS
    for (_, signal), section in sorted(hashlist.sections.items()):
        if signal == VIDEO_GROUP_SECTION:
            videos = _VideoGroups.of(section)
            continue
        how = _matching(signal, section.width)
        if how is None:
            skipped.append(signal)
            continue
        kind, radius = how
        built = _cached_tables(cache_beside, signal, hashlist.payload_sha256, section) if kind == "hamming" and cache_beside else None
        signals[signal] = _SignalIndex.of(signal, kind, radius, section, built)
    return _State(hashlist.name, hashlist.version, hashlist.payload_sha256, signals, tuple(skipped), videos)


def _cached_tables(list_path: Path, signal: str, payload_sha256: str, section: Section) -> PDQIndex:
    """The Hamming index of a verified list's section, from `<list>.<signal>-index`
    (index/cache.py) when that was built from this very list, else built and saved there (in
    the background: the matcher answers at once) for next time.

    Building the tables is most of a load (16 sorts of every hash: seconds at 10M); a restart
    with the same list then only verifies the list and maps the saved tables. The saved file is
    used only when its ids and hashes equal the verified list's, and searches run on the list's
    own verified arrays, so a stale or damaged cache costs a rebuild, never a wrong answer."""
    ids = np.asarray(section.ids).view(np.int64)
    cache = IndexCache(list_path.with_name(f"{list_path.name}.{signal}-index"))
    key = {"payload_sha256": payload_sha256}
    loaded = cache.load(key)
    if loaded is not None:
        cached = loaded[0]
        if np.array_equal(cached.ids, ids) and np.array_equal(cached.hashes, section.hashes) and (not len(ids) or int(cached.order.max()) < len(ids)):
            cached.ids, cached.hashes = ids, section.hashes
            return cached
    index = PDQIndex.from_arrays(ids, section.hashes)
    cache.save(index, key)
    return index


class HashListMatcher:
    """Lookups against one verified hash list, kept current by deltas.

    Thread-safe: lookups never lock; one update runs at a time."""

    def __init__(self, public_key: Ed25519PublicKey, state: _State) -> None:
        self.public_key = public_key
        self._state = state
        self._update = threading.Lock()
        self.updating_to: int | None = None  # the version being loaded, while an update runs

    @classmethod
    def from_hashlist(cls, path: Path, public_key: Ed25519PublicKey | Path, *, cache: bool = True) -> HashListMatcher:
        """Verify the list at `path` with `public_key` (a key or a PEM file) and load it. With
        `cache`, PDQ tables are kept beside the list (`<list>.pdq-index`) for a faster restart."""
        key = load_public_key(public_key) if isinstance(public_key, Path) else public_key
        return cls(key, _state_of(read_hashlist(path, key), path if cache else None))

    @property
    def ready(self) -> bool:
        return self._state is not None

    @property
    def name(self) -> str:
        return self._state.name

    @property
    def version(self) -> int:
        return self._state.version

    @property
    def skipped_signals(self) -> tuple[str, ...]:
        return self._state.skipped

    def counts(self) -> dict[str, int]:
        return self._state.counts()

    def lookup(self, signal: str, value: str) -> list[IndicatorHit]:
        return self.lookup_many([(signal, value)])[0]

    def lookup_many(self, queries: Sequence[tuple[str, str]]) -> list[list[IndicatorHit]]:
        """Hits for each (signal, hex value), nearest first. A signal the list does not hold
        has no hits; a malformed value raises ValueError before anything is searched."""
        state = self._state  # one version answers the whole batch
        parsed = [_parse(signal, value) for signal, value in queries]
        results: list[list[IndicatorHit]] = [[] for _ in queries]
        for signal in {signal for signal, _ in parsed}:
            index = state.signals.get(signal)
            positions = [i for i, (s, _) in enumerate(parsed) if s == signal]
            if index is None:
                continue
            if any(len(parsed[i][1]) != index.width for i in positions):
                raise ValueError(f"a {signal} value is {index.width} bytes ({2 * index.width} hex digits)")
            batch = np.frombuffer(b"".join(parsed[i][1] for i in positions), np.uint8).reshape(-1, index.width)
            for position, hits in zip(positions, index.search_many(batch)):
                results[position] = hits
        return results

    def lookup_video(self, frames: Sequence[FrameHash], rule: VideoRule = VideoRule.KNOWN) -> list[VideoAnswer]:
        """Every known video of the list that shares a frame with the queried one (frames of
        quality >= 50, each distinct hash once, within PDQ distance 31), matches first. Raises
        ValueError when the list holds frame hashes without saying which video each belongs to
        (a list published before video groups): then only single frames can be looked up."""
        state = self._state
        index = state.signals.get("vpdq")
        usable = sorted({frame.pdq for frame in frames if frame.quality >= MIN_QUALITY})
        if index is None or not len(index) or not usable:
            return []
        if not len(state.videos):
            raise ValueError(f"{state.name} v{state.version} does not say which video each frame belongs to: look its frames up one by one")
        hits = index.search_many(np.frombuffer(bytes.fromhex("".join(usable)), np.uint8).reshape(-1, index.width))
        query_rows: dict[int, set[int]] = {}
        known_frames: dict[int, set[int]] = {}
        for row, row_hits in enumerate(hits):
            if not row_hits:
                continue
            ids = np.fromiter((hit.indicator for hit in row_hits), np.uint64, len(row_hits))
            videos, named = state.videos.video_of(ids)
            for indicator, video in zip(ids[named].tolist(), videos[named].tolist()):
                query_rows.setdefault(video, set()).add(row)
                known_frames.setdefault(video, set()).add(indicator)
        answers = []
        for video, rows in query_rows.items():
            query_share, known_share = len(rows) / len(usable), len(known_frames[video]) / max(state.videos.frames_of(video), 1)
            answers.append(
                VideoAnswer(video, round(query_share, 3), round(known_share, 3), rule.decides(query_share, known_share), tuple(sorted(known_frames[video])))
            )
        return sorted(answers, key=lambda answer: (not answer.match, -answer.known_share, -answer.query_share, answer.video))

    def apply_delta(self, path: Path) -> int:
        """Verify the delta at `path`, build the next version beside the current one and swap
        to it; returns the new version. A delta for another version or list is refused and
        the current version keeps answering."""
        return self._apply(read_hashlist(path, self.public_key))

    def _apply(self, delta: HashList) -> int:
        with self._update:
            current = self._state
            self.updating_to = delta.version
            try:
                self._state = _next_state(current, delta)
            finally:
                self.updating_to = None
            return self._state.version

    def apply_deltas(self, paths: Iterable[Path]) -> DeltaReport:
        """Apply, in version order, every delta among `paths` that continues the loaded version
        (a chain of them in one call), and report each one not applied with its reason, also
        as a warning in the log: a platform must learn that its list stopped advancing."""
        unapplied: list[UnappliedDelta] = []
        readable: dict[Path, HashList] = {}
        for path in sorted(paths):
            try:
                readable[path] = read_hashlist(path, self.public_key)
            except HashListError as exc:
                unapplied.append(UnappliedDelta(path.name, DeltaProblem.BAD_SIGNATURE, str(exc)))
        applied: list[str] = []
        while (ready := next((p for p, d in sorted(readable.items()) if self._continues(d)), None)) is not None:
            delta = readable.pop(ready)
            try:
                self._apply(delta)
            except HashListError as exc:
                unapplied.append(UnappliedDelta(ready.name, DeltaProblem.DOES_NOT_FIT, str(exc)))
            else:
                applied.append(ready.name)
        unapplied += [self._why_not(path.name, delta) for path, delta in sorted(readable.items())]
        for entry in unapplied:
            log.warning("hash list update %s not applied (%s): %s", entry.file, entry.problem, entry.reason)
        return DeltaReport(tuple(applied), tuple(unapplied))

    def _continues(self, delta: HashList) -> bool:
        return delta.kind == "delta" and delta.name == self.name and delta.header.get("previous_version") == self.version

    def _why_not(self, file: str, delta: HashList) -> UnappliedDelta:
        """Why a verified file that does not continue the loaded version was left alone."""
        if delta.kind != "delta":
            return UnappliedDelta(file, DeltaProblem.DOES_NOT_FIT, f"{delta.name!r} v{delta.version} is a full list, not a delta")
        if delta.name != self.name:
            return UnappliedDelta(file, DeltaProblem.WRONG_LIST, f"this delta is for list {delta.name!r}, not {self.name!r}")
        previous = delta.header.get("previous_version")
        if delta.version <= self.version:
            return UnappliedDelta(file, DeltaProblem.REPLAY, f"v{previous} -> v{delta.version} is already in the loaded version {self.version}")
        return UnappliedDelta(
            file, DeltaProblem.SKIPPED_VERSION,
            f"v{previous} -> v{delta.version} continues a version not loaded: the delta(s) from the loaded version {self.version} to v{previous} are missing",
        )  # fmt: skip

    def load(self, path: Path) -> int:
        """Replace the list with a newer full version (verified), e.g. after a key rotation."""
        with self._update:
            hashlist = read_hashlist(path, self.public_key)
            if hashlist.name != self._state.name or hashlist.version <= self._state.version:
                raise HashListError(f"{path}: {hashlist.name!r} v{hashlist.version} is not newer than the loaded {self._state.name!r} v{self._state.version}")
            self.updating_to = hashlist.version
            try:
                self._state = _state_of(hashlist, path)
            finally:
                self.updating_to = None
            return self._state.version


class DeltaProblem(StrEnum):
    """Why a delta was not applied. Values are shown in the status endpoint and logs."""

    BAD_SIGNATURE = "bad_signature"  # unreadable, or not signed by the list's key
    WRONG_LIST = "wrong_list"  # a delta of another list
    REPLAY = "replay"  # already in the loaded version (an old or repeated delta)
    SKIPPED_VERSION = "skipped_version"  # continues a later version: the deltas before it are missing
    DOES_NOT_FIT = "does_not_fit"  # the right versions, but not made from the loaded content


@dataclass(frozen=True, slots=True)
class UnappliedDelta:
    file: str
    problem: DeltaProblem
    reason: str


@dataclass(frozen=True, slots=True)
class DeltaReport:
    applied: tuple[str, ...]  # file names, in the order applied
    unapplied: tuple[UnappliedDelta, ...]


def _next_state(current: _State, delta: HashList) -> _State:
    check_delta_fits(_AsBase(current), delta)  # type: ignore[arg-type]
    target = delta.header["target_header"]
    signals, videos = {}, _NO_GROUPS
    for entry in target["sections"]:
        signal = entry["signal"]
        if signal == VIDEO_GROUP_SECTION:
            videos = current.videos.applied(delta.section("removed", signal), delta.section("added", signal))
            continue
        index = current.signals.get(signal)
        if index is None:
            how = _matching(signal, entry["hash_bytes"])
            if how is None:
                continue
            index = _SignalIndex.of(signal, how[0], how[1], empty_section(entry["hash_bytes"]))
        index = index.applied(delta.section("removed", signal), delta.section("added", signal))
        if len(index) != entry["count"]:
            raise HashListError(f"the delta leaves {len(index)} {signal} entries; version {delta.version} holds {entry['count']}")
        signals[signal] = index
    skipped = tuple(sorted({e["signal"] for e in target["sections"]} - signals.keys() - {VIDEO_GROUP_SECTION}))
    return _State(current.name, delta.version, target["payload_sha256"], signals, skipped, videos)


@dataclass(frozen=True, slots=True)
class _AsBase:
    """The few fields of a loaded list that `check_delta_fits` compares."""

    state: _State
    kind: str = "full"

    @property
    def name(self) -> str:
        return self.state.name

    @property
    def version(self) -> int:
        return self.state.version

    @property
    def payload_sha256(self) -> str:
        return self.state.payload_sha256


def _parse(signal: str, value: str) -> tuple[str, bytes]:
    text = value.strip().lower() if isinstance(value, str) else ""
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"a {signal} value must be hex digits, got {str(value)[:80]!r}") from None
    if not raw or len(raw) * 2 != len(text):
        raise ValueError(f"a {signal} value must be hex digits, got {str(value)[:80]!r}")
    return signal, raw
