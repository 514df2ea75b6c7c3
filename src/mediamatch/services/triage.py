"""Triage of a seized collection: for every file, is it known, from which series, is the victim
identified, or is it new?

The run is a pipeline: the collection's entries in a fixed order -> hashing on all cores
(`hash_many`, in order, bounded) -> matching in batches -> rows saved to a small SQLite state
file in the output folder, committed every few hundred files. The state file is what makes a
run resumable: a killed run (Ctrl-C, kill -9, power loss) loses at most the uncommitted batch,
and `resume=True` skips every entry whose row is saved. Rows are keyed by the entry's position
in the collection, so a resumed run can neither duplicate nor reorder a row.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine

from mediamatch.catalog.hashes import HashRecord, Source
from mediamatch.catalog.records import Match
from mediamatch.media.archive import ArchiveError, Entry
from mediamatch.media.collection import iter_collection
from mediamatch.media.hashing import hash_many
from mediamatch.media.limits import DEFAULT_LIMITS, SEARCH_FEATURE_SECONDS, Limits
from mediamatch.services.global_similar import global_descriptor_off, with_global_descriptor
from mediamatch.services.matching import CatalogueMatcher
from mediamatch.services.similar import NO_DESCRIPTORS, SimilarityLookup, SimilarityMatcher, searchable, second_pass
from mediamatch.signals.base import SignalType
from mediamatch.signals.registry import computed_from

KNOWN_IDENTIFIED = "known_identified"
KNOWN_UNIDENTIFIED = "known_unidentified"
RELATED = "related"  # shares a scene or object with a known series, without containing a known picture
NEW = "new"
NOT_MEDIA = "not_media"
ERROR = "error"
STATUSES = (KNOWN_IDENTIFIED, KNOWN_UNIDENTIFIED, RELATED, NEW, NOT_MEDIA, ERROR)

STATE_FILE = "triage-state.sqlite"
COMMIT_EVERY_ROWS = 256
COMMIT_EVERY_SECONDS = 2.0


class TriageError(Exception):
    """The triage cannot start or continue; the message says what to do."""


@dataclass(frozen=True, slots=True)
class TriageRow:
    """One file of the collection and what triage found."""

    seq: int
    path: str
    status: str
    size: int | None = None
    signals: dict[str, str] = field(default_factory=dict)  # as HashRecord: every signal computed, by name
    qualities: dict[str, int] = field(default_factory=dict)
    width: int | None = None
    height: int | None = None
    media_type: str | None = None
    matches: tuple[Match, ...] = ()
    error: str | None = None
    note: str | None = None
    duration: float | None = None  # seconds, for a video
    frames: int = 0  # how many frame hashes a video gave


@dataclass(frozen=True, slots=True)
class TriageSummary:
    source: str
    out: Path
    counts: dict[str, int] = field(default_factory=dict)
    resumed_from: int = 0  # rows already done when this run started

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def classify(record: HashRecord, matches: list[Match]) -> str:
    """The triage status of a hashed file, from its record and its catalogue matches."""
    known = [match for match in matches if match.relation != RELATED]
    if known:
        return KNOWN_IDENTIFIED if any(match.victim_identified for match in known) else KNOWN_UNIDENTIFIED
    if matches:
        return RELATED
    if record.error:
        return ERROR
    if record.frames or any(record.value(signal.name) for signal in _picture_signals()):
        return NEW
    return NOT_MEDIA


def _picture_signals() -> tuple[type[SignalType], ...]:
    """Signals computed from a decoded picture: a file that has one is media."""
    return computed_from("luma")


def row_from(seq: int, name: str, record: HashRecord, matches: list[Match]) -> TriageRow:
    note = record.note
    for signal in _picture_signals():
        quality = record.quality(signal.name)
        if record.value(signal.name) and quality is not None and quality < signal.min_quality and not matches:
            note = "; ".join(filter(None, [note, f"low {signal.name.upper()} quality ({quality}): near-duplicate search skipped"]))
    if record.features and not matches and not searchable(record.features):
        note = "; ".join(filter(None, [note, NO_DESCRIPTORS]))
    return TriageRow(
        seq=seq,
        path=name,
        status=classify(record, matches),
        size=record.size,
        signals=dict(record.signals),
        qualities=dict(record.qualities),
        width=record.width,
        height=record.height,
        media_type=record.media_type,
        matches=tuple(matches),
        error=record.error,
        note=note,
        duration=record.duration,
        frames=len(record.frames),
    )


ROW_FIELDS = tuple(field.name for field in fields(TriageRow))
MATCH_FIELDS = tuple(field.name for field in fields(Match))


class TriageState:
    """The rows of one triage, saved as they are made (SQLite, WAL, in the output folder).

    A state file counts as a started triage only once its header (the `meta` table with the
    source) is committed, and `create` commits the tables and the header in one transaction: a
    run killed at any instant leaves either no header (`saved_header` is None, the file is
    started again) or a header and whole committed batches of rows (the run resumes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("BEGIN")
        self._create_tables()
        self.db.commit()

    @classmethod
    def create(cls, path: Path, **header: str) -> TriageState:
        """A new state file at `path` (none may exist) whose tables and header appear at once."""
        state = cls.__new__(cls)
        state.path = path
        state.db = sqlite3.connect(path)
        state.db.execute("PRAGMA journal_mode=WAL")
        state.db.execute("PRAGMA synchronous=NORMAL")
        state.db.execute("BEGIN")
        state._create_tables()
        state.db.executemany("INSERT INTO meta VALUES (?, ?)", header.items())
        state.db.commit()
        return state

    def _create_tables(self) -> None:
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.db.execute("CREATE TABLE IF NOT EXISTS rows (seq INTEGER PRIMARY KEY, path TEXT NOT NULL, status TEXT NOT NULL, data TEXT NOT NULL)")

    def meta(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM meta"))

    def set_meta(self, **values: str) -> None:
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())
        self.db.commit()

    def done(self) -> dict[int, str]:
        return dict(self.db.execute("SELECT seq, path FROM rows"))

    def save(self, rows: list[TriageRow]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO rows VALUES (?, ?, ?, ?)",
            [(row.seq, row.path, row.status, json.dumps(plain_row(row))) for row in rows],
        )
        self.db.commit()

    def rows(self) -> Iterator[TriageRow]:
        for (data,) in self.db.execute("SELECT data FROM rows ORDER BY seq"):
            fields = json.loads(data)
            fields["matches"] = tuple(Match.from_json(m) for m in fields["matches"])
            yield TriageRow(**fields)

    def counts(self) -> dict[str, int]:
        found = dict(self.db.execute("SELECT status, COUNT(*) FROM rows GROUP BY status"))
        return {status: found.get(status, 0) for status in STATUSES}

    def close(self) -> None:
        self.db.close()


def plain_row(row: TriageRow) -> dict[str, object]:
    """The row as JSON-ready values. Written out field by field: `dataclasses.asdict` deep-copies
    every nested match and measured as a quarter of a triage's time."""
    fields: dict[str, object] = {name: getattr(row, name) for name in ROW_FIELDS}
    fields["matches"] = [{name: getattr(match, name) for name in MATCH_FIELDS} for match in row.matches]
    return fields


def open_state(source: Path, out: Path, catalogue: str, resume: bool) -> TriageState:
    """The state of the triage in `out`: new, or the interrupted one when `resume` is set.

    A state file without a header is what a run killed while creating it leaves: it holds no
    row, so it is removed and the triage starts again, with or without `resume`."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / STATE_FILE
    if resume and not path.exists():
        raise TriageError(f"nothing to resume in {out} (no {STATE_FILE})")
    header = saved_header(path) if path.exists() else None
    if header is None:
        _remove_state(path)
        return TriageState.create(path, source=str(source.resolve()), catalogue=catalogue, started=_now())
    if not resume:
        raise TriageError(f"{out} already holds a triage; pass --resume to continue it, or choose another --out")
    if header["source"] != str(source.resolve()):
        raise TriageError(f"{out} holds the triage of {header['source']}, not of {source.resolve()}")
    return TriageState(path)


def saved_header(path: Path) -> dict[str, str] | None:
    """The committed header of the state file at `path`, or None when it has none (empty, torn
    before SQLite wrote its first page, or without the header's transaction)."""
    try:
        db = sqlite3.connect(path)
        try:
            header = dict(db.execute("SELECT key, value FROM meta"))
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:  # "no such table", "file is not a database"
        if "locked" in str(exc) or "busy" in str(exc):
            raise TriageError(f"{path} is in use by another triage") from None
        return None
    return header if "source" in header else None


def _remove_state(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"), path.with_name(path.name + "-journal")):
        leftover.unlink(missing_ok=True)


def count_entries(source: Path) -> int | None:
    """How many entries the collection has (for progress and ETA), when cheap to know: an
    archive in a folder counts as one (listing its members means decompressing it)."""
    if source.is_dir():
        return sum(1 for _ in iter_collection(source, open_archives=False))
    return None


class CatalogueLookup(Protocol):
    """What triage needs of a catalogue: the local one (`CatalogueMatcher`) or a server
    (`RemoteCatalogueMatcher`, which receives hashes only)."""

    def match(self, records: Sequence[HashRecord]) -> list[list[Match]]: ...


def triage(
    source: Path,
    out: Path,
    engine: Engine | None,
    *,
    workers: int | None = None,
    resume: bool = False,
    on_row: Callable[[TriageRow], None] | None = None,
    matcher: CatalogueLookup | None = None,
    catalogue: str | None = None,
    every_frame: bool = False,
    similar: bool = True,
) -> TriageSummary:
    """Hash, match and classify every file of `source`, saving rows to `out` as they are made.

    Matches come from `matcher`, else from the catalogue behind `engine`; `catalogue` names
    where they come from in the reports (default: the database URL, password hidden).
    Videos are hashed at one frame per second, or every frame with `every_frame`. With
    `similar`, files that match nothing are searched by local features (services/similar.py),
    through `matcher` when it answers similarity searches (a server), else the local catalogue."""
    if not source.exists():
        raise TriageError(f"{source}: no such file or folder")
    if matcher is None and engine is None:
        raise ValueError("triage needs a catalogue: an engine or a matcher")
    catalogue = catalogue or (engine.url.render_as_string(hide_password=True) if engine is not None else "remote")
    state = open_state(source, out, catalogue, resume)
    try:
        done = state.done()
        matcher = matcher or CatalogueMatcher.open(engine)  # type: ignore[arg-type]
        lookup = _similarity_lookup(matcher, engine) if similar else None
        if lookup is not None and engine is not None and (off := global_descriptor_off()) is not None:
            state.set_meta(global_descriptor=off)  # said once per run, not per file
        pending: list[TriageRow] = []
        last_commit = time.monotonic()
        limits = replace(
            DEFAULT_LIMITS, dihedral=True, video_every_frame=every_frame, local_features=lookup is not None, video_feature_seconds=SEARCH_FEATURE_SECONDS
        )
        for row in _rows(source, done, matcher, workers, limits, lookup):
            pending.append(row)
            if on_row:
                on_row(row)
            if len(pending) >= COMMIT_EVERY_ROWS or time.monotonic() - last_commit > COMMIT_EVERY_SECONDS:
                state.save(pending)
                pending, last_commit = [], time.monotonic()
        state.save(pending)
        state.set_meta(finished=_now())
        return TriageSummary(str(source), out, state.counts(), resumed_from=len(done))
    finally:
        state.close()


def _similarity_lookup(matcher: CatalogueLookup, engine: Engine | None) -> SimilarityLookup | None:
    """Who answers the second pass: a matcher that searches similarity itself (a server), else
    the local catalogue's similarity index; None when there is neither."""
    if isinstance(matcher, SimilarityLookup):
        return matcher
    return with_global_descriptor(SimilarityMatcher.open(engine), engine) if engine is not None else None


def _rows(
    source: Path, done: dict[int, str], matcher: CatalogueLookup, workers: int | None, limits: Limits, lookup: SimilarityLookup | None = None
) -> Iterator[TriageRow]:
    """Rows for the entries not yet done, in collection order, hashed on all cores."""
    waiting: deque[tuple[int, Entry]] = deque()

    def to_hash() -> Iterator[Source]:
        try:
            for seq, entry in enumerate(iter_collection(source)):
                if seq in done:
                    if done[seq] != entry.name:
                        raise TriageError(
                            f"the collection changed since the interrupted run (entry {seq} was {done[seq]!r}, now {entry.name!r}); start a new triage"
                        )
                    continue
                waiting.append((seq, entry))
                if entry.source is not None:
                    yield entry.source
        except ArchiveError as exc:
            waiting.append((0, Entry(source.name, None, str(exc))))  # nothing was listed: one row

    batch: list[tuple[int, str, HashRecord]] = []
    records = hash_many(to_hash(), workers=workers, limits=limits)
    for record in records:
        while waiting:
            seq, entry = waiting.popleft()
            if entry.source is None:
                batch.append((seq, entry.name, HashRecord(path=entry.name, error=entry.error)))
                continue
            batch.append((seq, entry.name, record))
            break
        if len(batch) >= 64:
            yield from _matched(batch, matcher, lookup)
            batch = []
    while waiting:  # entries after the last hashed file that could not be read
        seq, entry = waiting.popleft()
        batch.append((seq, entry.name, HashRecord(path=entry.name, error=entry.error)))
    yield from _matched(batch, matcher, lookup)


def _matched(batch: list[tuple[int, str, HashRecord]], matcher: CatalogueLookup, lookup: SimilarityLookup | None = None) -> Iterator[TriageRow]:
    if not batch:
        return
    records = [record for _, _, record in batch]
    all_matches = matcher.match(records)
    if lookup is not None:
        all_matches = second_pass(records, all_matches, lookup)
    for (seq, name, record), matches in zip(batch, all_matches):
        yield row_from(seq, name, record, matches)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
