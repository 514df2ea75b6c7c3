"""Matching hashed files against the catalogue: exact digests, then PDQ within the radius.

The PDQ index lives in memory, built from the catalogue's `media_signals` rows. Building it
for millions of hashes means reading millions of rows, so it is saved beside the catalogue
(`persist.py` format) with the last row id it holds; the next start loads the file (memory
mapped, under a second) and reads only the rows added since. Exact digests are looked up in
the database, whose unique index already answers them in one query per batch.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import nullcontext
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mediamatch.catalog.records import Match, MatchDetail
from mediamatch.config import data_dir
from mediamatch.index.hamming import PDQIndex, hashes_from_hex
from mediamatch.index.persist import IndexFileError, load_index, save_index
from mediamatch.media.record import HashRecord
from mediamatch.signals.pdq import DIHEDRAL_NAMES, MATCH_THRESHOLD, MIN_QUALITY
from mediamatch.store import repo

EXACT_SIGNALS = ("sha256", "md5")
DETAILS_CACHE_LIMIT = 1_000_000  # the strongest first: a sha256 hit is reported as such


@dataclass(frozen=True, slots=True)
class IndexState:
    """Which catalogue rows a saved index holds, so a later start knows what to add."""

    url_key: str
    last_row: int
    count: int


def index_cache_path(url: str) -> Path:
    """Where the PDQ index of the catalogue at `url` is kept between runs."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url.removeprefix("sqlite:///") + ".pdq-index")
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    return data_dir() / "index-cache" / f"{key}.pdq-index"


class CatalogueMatcher:
    """Answers, for a batch of HashRecords, which catalogue items each one matches."""

    def __init__(self, engine: Engine, index: PDQIndex, radius: int = MATCH_THRESHOLD, last_row: int = 0) -> None:
        self.engine = engine
        self.index = index
        self.radius = radius
        self.last_row = last_row
        # The same known items match file after file (a drive holds many copies of a series), so
        # their details are read once per matcher. A matcher lives for one triage run: an item
        # marked identified meanwhile shows as such in the next run.
        self._details: dict[int, MatchDetail] = {}

    @classmethod
    def open(cls, engine: Engine, cache: Path | None = None) -> CatalogueMatcher:
        """The matcher for the catalogue behind `engine`, from the saved index when there is one."""
        cache = cache or index_cache_path(engine.url.render_as_string(hide_password=False))
        state_file = cache.with_suffix(cache.suffix + ".json")
        url_key = _url_key(engine)
        index, last_row = PDQIndex(), 0
        try:
            state = IndexState(**json.loads(state_file.read_text()))
            if state.url_key == url_key:
                index, last_row = load_index(cache), state.last_row
        except (OSError, ValueError, TypeError, IndexFileError):
            pass  # no usable saved index: build from the catalogue
        added = _rows_after(engine, last_row)
        if added:
            ids, hashes, last_row = added
            index = _grown(index, ids, hashes)
            _save(index, cache, state_file, IndexState(url_key, last_row, len(index)))
        return cls(engine, index, last_row=last_row)

    def refresh(self) -> int:
        """Add the PDQ hashes stored since this matcher was opened and forget cached item
        details (a long-running server calls this after contributions and identifications, so
        what it answers is current). Returns how many hashes were added."""
        added = _rows_after(self.engine, self.last_row)
        self._details.clear()  # an identification may have changed what is known of them
        if not added:
            return 0
        ids, hashes, self.last_row = added
        self.index = _grown(self.index, ids, hashes)
        return len(ids)

    def match(self, records: Sequence[HashRecord], session: Session | None = None) -> list[list[Match]]:
        """For each record, its matches (closest first); empty when it matches nothing.

        A server passes its request's `session`, so one request holds one database connection."""
        found: list[dict[int, tuple[int, str, str]]] = [{} for _ in records]
        with nullcontext(session) if session is not None else Session(self.engine) as session:
            for signal in EXACT_SIGNALS:
                values = [getattr(record, signal) for record in records]
                hits = repo.lookup_exact(session, signal, [value for value in values if value])
                for slot, value in zip(found, values):
                    for media_id in hits.get(value or "", ()):
                        slot.setdefault(media_id, (0, signal, ""))
            self._match_pdq(records, found)
            details = self._match_details(session, {media_id for slot in found for media_id in slot})
        return [
            sorted(
                (
                    Match(
                        media_id=media_id,
                        series=details[media_id].series,
                        category=details[media_id].category,
                        baseline=details[media_id].baseline,
                        victim_identified=details[media_id].victim_identified,
                        signal=signal,
                        distance=distance,
                        transform=transform,
                    )
                    for media_id, (distance, signal, transform) in slot.items()
                    if media_id in details
                ),
                key=lambda match: (match.distance, match.media_id),
            )
            for slot in found
        ]

    def _match_details(self, session: Session, media_ids: set[int]) -> dict[int, MatchDetail]:
        missing = media_ids - self._details.keys()
        if missing:
            if len(self._details) > DETAILS_CACHE_LIMIT:
                self._details.clear()
            self._details.update(repo.match_details(session, missing))
        return self._details

    def _match_pdq(self, records: Sequence[HashRecord], found: list[dict[int, tuple[int, str, str]]]) -> None:
        queries: list[str] = []
        owners: list[tuple[int, str]] = []
        for position, record in enumerate(records):
            if not record.pdq or (record.pdq_quality or 0) < MIN_QUALITY:
                continue  # the reference's rule: low-quality hashes match noise
            variants = record.pdq_dihedral or (record.pdq,)
            for name, value in zip(DIHEDRAL_NAMES, variants):
                queries.append(value)
                owners.append((position, "" if name == "original" else name))
        if not queries or not len(self.index):
            return
        results = self.index.search_many(hashes_from_hex(queries), radius=self.radius)
        for (position, transform), hits in zip(owners, results):
            slot = found[position]
            for media_id, distance in hits:
                media_id, distance = int(media_id), int(distance)
                if media_id not in slot or distance < slot[media_id][0]:
                    slot[media_id] = (distance, "pdq", transform)


def _url_key(engine: Engine) -> str:
    return hashlib.sha256(engine.url.render_as_string(hide_password=True).encode()).hexdigest()[:16]


def _rows_after(engine: Engine, last_row: int) -> tuple[np.ndarray, np.ndarray, int] | None:
    """(media ids, hashes, last row id) of the usable PDQ rows stored after `last_row`, if any."""
    with Session(engine) as session:
        rows = list(repo.iter_signal_rows(session, "pdq", after_id=last_row, min_quality=MIN_QUALITY))
    if not rows:
        return None
    ids = np.array([media_id for _, media_id, _ in rows], np.int64)
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


def _save(index: PDQIndex, cache: Path, state_file: Path, state: IndexState) -> None:
    """Write the index and its state atomically; a failure only costs the next start a rebuild."""
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        state_file.unlink(missing_ok=True)  # never a state that describes another index file
        partial = cache.with_suffix(cache.suffix + ".partial")
        save_index(index, partial)
        partial.replace(cache)
        state_file.write_text(json.dumps(asdict(state)))
    except OSError:
        pass
