"""Importing other systems' hash lists into the catalogue, and exporting the catalogue to them.

Formats are those of `interop/registry.py` (Project VIC VICS JSON, INTERPOL ICSE hash
exports, NCMEC/ThreatExchange-style CSV lists), each behind `interop.base.InteropFormat`: this
module names none of them. They meet the catalogue here, through `ExchangeRecord`:

- A record becomes a media item contributed by the importing agency (and case). A record
  whose hashes name an item already in the catalogue (same SHA-256, or same MD5/SHA-1 with no
  hash disagreeing) adds a contribution to that item: one item per content, never a duplicate.
  Most records carry no SHA-256, so most imported items are "hash-only": they match by MD5,
  SHA-1 (and PDQ), are never offered as content, and become complete when someone contributes
  the file (`repo.add_media` finds them by MD5/SHA-1).
- Category: Project VIC 0-4 as the catalogue stores it. A record that states none gets the
  request's `default_category` only when the importer gave one (`--category`); otherwise its
  item is uncategorised (NULL), counted in the summary, and never exported to platforms' hash
  lists: a list of benign known files, or a writer that leaves out category 0, must not put
  them on a platform's list. An item that is already catalogued keeps its category (the
  first contributor's, as for contributed files); an uncategorised one takes the first
  category a record states. Baseline is added, never removed.
- Victim identified: the catalogue keeps identification per series (`repo.
  mark_series_victim_identified`) or, for an item in no series, per item. Offender identified
  is series data (`series_offenders`); a record that says it without a series is imported
  with a warning that this flag was not kept. "false" never un-identifies: identification is
  news the catalogue spreads, and one agency's older list must not undo another's finding.
  One corner does not survive a round trip: an item whose own victim is identified but whose
  series' victim is not exports "identified" in its series record, and importing that marks
  the series' victim identified.
- PhotoDNA and PDQ values become `media_signals` rows ("photodna" is stored as received and
  never interpreted). IsDistributed, Tags, ICSE's number of submissions and File Available go
  to the item's columns of the same meaning, only where the item has none yet.

- The sender's id for the item (ICSE `Image ID`, VICS `MediaID`, a CSV `id`) and the VICS
  fields `DateUpdated`, `IsPrecategorized`, `PrecategorizationSource` and `Comments` are kept
  as given (`media_exchange_fields`), first source first, and written back on export: an ICSE
  export's 1001-1004 come back as 1001-1004. An item no source gave an id exports its
  catalogue id.

Export writes one record per item and series (an item in two series is two records, which an
import merges back into one item), so an export imported into an empty catalogue exports the
same records again, ids included. Original file names are never exported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path

from sqlalchemy import Engine, func, insert, or_, select
from sqlalchemy.orm import Session, selectinload

from mediamatch.atomic import atomic_open
from mediamatch.catalog.records import Category
from mediamatch.interop.base import Direction, FileNote, option_settings
from mediamatch.interop.records import ExchangeRecord, RecordError
from mediamatch.interop.registry import get_format
from mediamatch.services.catalogue_changes import catalogue_changed
from mediamatch.signals.registry import find_signal
from mediamatch.store import repo
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import (
    Agency,
    Case,
    Contribution,
    MediaItem,
    MediaSignal,
    Offender,
    Series,
    Victim,
    media_series,
    media_victims,
)
from mediamatch.store.models.exchange import KEPT_FIELDS, ExchangeFields

COMMIT_EVERY = 500
KEPT_PROBLEMS = 1000
EXPORT_BATCH = 1000
UNKNOWN_MEDIA_TYPE = "application/octet-stream"  # what `repo.add_media` stores when it cannot tell
DIGESTS = ("sha256", "md5", "sha1")  # kept as columns and as signals
STORED_SIGNALS = ("pdq", "photodna")  # kept as signals only
_LIMITS = {"series": 200, "media_type": 100, "source_id": 100, "date_updated": 40, "precategorization_source": 200}  # the columns' lengths


@dataclass(frozen=True, slots=True)
class ImportRequest:
    """Who imports, and what to assume where a record says nothing: `default_category` is the
    category of records that state none, only when the importer gives one (None: such records
    stay uncategorised). `options` are the format's import options by flag."""

    agency: str | None = None
    country: str = "XX"
    case: str | None = None
    default_category: int | None = None
    options: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(slots=True)
class ImportSummary:
    """Counts, and the first `KEPT_PROBLEMS` errors and warnings (a broken list of millions of
    records must not fill memory with its errors)."""

    imported: int = 0  # records that became new items
    merged: int = 0  # records that named an item already in the catalogue
    uncategorised: int = 0  # imported or merged records whose item has no category: kept out of hash lists
    errors: list[RecordError] = field(default_factory=list)  # records not imported, and why
    warnings: list[RecordError] = field(default_factory=list)  # imported, but part not kept
    error_count: int = 0
    warning_count: int = 0

    def error(self, problem: RecordError) -> None:
        self.error_count += 1
        if len(self.errors) < KEPT_PROBLEMS:
            self.errors.append(problem)

    def warning(self, problem: RecordError) -> None:
        self.warning_count += 1
        if len(self.warnings) < KEPT_PROBLEMS:
            self.warnings.append(problem)


@dataclass(frozen=True, slots=True)
class ExportRequest:
    format: str  # a name in `interop.registry.FORMATS`
    options: Mapping[str, str | None] = field(default_factory=dict)  # the format's export options by flag
    series: str | None = None  # only this series' items


@dataclass(frozen=True, slots=True)
class ExportSummary:
    written: int
    skipped: int  # items the format cannot express (VICS: no MD5; ICSE: no MD5, SHA-1 or PhotoDNA; a naming: no hash it names)


def read_file(path: Path, fmt: str, options: Mapping[str, str | None] | None = None) -> Iterator[ExchangeRecord | RecordError]:
    """The records of the file at `path` in the format named `fmt`, streamed. Raises
    `ExchangeFormatError` for an unknown format or option, or a file that is not in that format
    (also when first iterated), OSError when it cannot be read."""
    interop = get_format(fmt)
    return interop.read(path, option_settings(interop, Direction.IMPORT, options or {}))


def import_records(
    engine: Engine,
    parsed: Iterable[ExchangeRecord | RecordError],
    request: ImportRequest,
    on_progress: Callable[[int], None] | None = None,
    summary: ImportSummary | None = None,
) -> ImportSummary:
    """Add the records to the catalogue, committing every few hundred, so an interrupted import
    keeps what it finished and a re-run adds contributions, never duplicate items.
    `on_progress` is told how many records each committed batch held; a caller that passes
    `summary` still has the counts of what was committed when the import is interrupted."""
    if request.default_category is not None:
        Category(request.default_category)
    summary = summary if summary is not None else ImportSummary()
    iterator = iter(parsed)
    while batch := list(islice(iterator, COMMIT_EVERY)):
        records = []
        for entry in batch:
            if isinstance(entry, FileNote):
                summary.warning(entry)
            elif isinstance(entry, RecordError):
                summary.error(entry)
            elif problem := _too_long(entry):
                summary.error(problem)
            else:
                records.append(entry)
        if records:
            with session_scope(engine) as session:
                _Batch(session, request, records).add_all(summary)
            catalogue_changed(engine)
        if on_progress:
            on_progress(len(batch))
    return summary


def _too_long(record: ExchangeRecord) -> RecordError | None:
    for name, limit in _LIMITS.items():
        value = getattr(record, name)
        if value is not None and len(value) > limit:
            return RecordError(record.position, f"{name} is longer than the catalogue's {limit} characters")
    return None


@dataclass(eq=False)
class _NewItem:
    """An item this batch creates: its row and links are written together, in a few bulk
    inserts, when the batch ends (eq=False: each is itself, as an ORM object is)."""

    sha256: str | None
    md5: str
    sha1: str
    media_type: str
    size: int
    category: int | None
    baseline: bool
    distributed: bool | None
    tags: str | None
    submissions: int | None
    file_available: bool | None
    series: list[Series] = field(default_factory=list)
    id: int | None = None

    def row(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in _NEW_ITEM_COLUMNS}


_NEW_ITEM_COLUMNS = ("sha256", "md5", "sha1", "media_type", "size", "category", "baseline", "distributed", "tags", "submissions", "file_available")
_Item = MediaItem | _NewItem


class _Batch:
    """One committed batch of records. The items their digests name, and those items' signals,
    are read in a few queries up front; new items and their rows are written in bulk when the
    batch ends. A record costs no database round trip of its own."""

    def __init__(self, session: Session, request: ImportRequest, records: list[ExchangeRecord]) -> None:
        self.session = session
        self.request = request
        self.records = records
        self.agency: Agency = repo.get_or_create_agency(session, request.agency, request.country)
        self.case: Case | None = repo.get_or_create_case(session, self.agency, request.case)
        self.series = {name: repo.get_or_create_series(session, name) for name in sorted({r.series for r in records if r.series})}
        self.by_value: dict[tuple[str, str], list[_Item]] = defaultdict(list)  # (signal, value) -> items
        self.signals: set[tuple[_Item, str, str]] = set()
        self.loaded: set[MediaItem] = set()
        self.new: list[_NewItem] = []
        self.added_signals: list[tuple[_Item, str, str]] = []
        self.contributions: list[tuple[_Item, dict[str, object]]] = []
        self.kept: list[tuple[_Item, ExchangeRecord]] = []  # records stating fields kept only to be written back
        self._load_items()

    def add_all(self, summary: ImportSummary) -> None:
        item_victims: list[_Item] = []  # items in no series whose victim a record says is identified
        victims: dict[str, Series] = {}  # series whose victim, or offender, a record says is identified
        offenders: dict[str, Series] = {}
        for record in self.records:
            item = self._find(record)
            if item is None:
                item = self._create(record)
                summary.imported += 1
            else:
                self._complete(item, record)
                summary.merged += 1
            if item.category is None:
                summary.uncategorised += 1
            series = self.series[record.series] if record.series else None
            if series is not None and series not in item.series:
                item.series.append(series)
            contribution: dict[str, object] = {
                "agency_id": self.agency.id, "case_id": self.case.id if self.case else None,
                "series_id": series.id if series else None, "original_name": record.names[0] if record.names else "",
            }  # fmt: skip
            self.contributions.append((item, contribution))
            if any(getattr(record, name) is not None for name in KEPT_FIELDS):
                self.kept.append((item, record))
            if record.victim_identified:
                if series is None:
                    item_victims.append(item)
                else:
                    victims[series.name] = series
            if record.offender_identified:
                if series is None:
                    summary.warning(
                        RecordError(record.position, "offender identified was not kept: the catalogue records offenders per series, and this record names none")
                    )
                else:
                    offenders[series.name] = series
        self._write()
        for item in item_victims:
            persistent = item if isinstance(item, MediaItem) else self.session.get(MediaItem, item.id)
            repo.mark_media_victim_identified(self.session, persistent, self.agency)  # type: ignore[arg-type]
        for series in victims.values():
            repo.mark_series_victim_identified(self.session, series, self.agency)
        for series in offenders.values():
            repo.mark_series_offender_identified(self.session, series, self.agency)

    def _write(self) -> None:
        """New items first (their ids are needed), then every signal, contribution and new
        item's series link of the batch, each kind in one bulk insert."""
        if self.new:
            ids = self.session.scalars(insert(MediaItem).returning(MediaItem.id, sort_by_parameter_order=True), [item.row() for item in self.new]).all()
            for item, media_id in zip(self.new, ids, strict=True):
                item.id = media_id
        if self.added_signals:
            self.session.execute(insert(MediaSignal), [{"media_id": item.id, "signal": signal, "value": value} for item, signal, value in self.added_signals])
        if self.contributions:
            self.session.execute(insert(Contribution), [{"media_id": item.id, **values} for item, values in self.contributions])
        if links := [{"media_id": item.id, "series_id": series.id} for item in self.new for series in item.series]:
            self.session.execute(insert(media_series), links)
        self._write_kept()

    def _write_kept(self) -> None:
        """The sender's id and the VICS fields the catalogue keeps only to write back: a field
        is set by the first record that states it."""
        if not self.kept:
            return
        ids = sorted({item.id for item, _ in self.kept if item.id is not None})
        rows = {row.media_id: row for row in self.session.scalars(select(ExchangeFields).where(ExchangeFields.media_id.in_(ids)))}
        for item, record in self.kept:
            row = rows.get(item.id)  # type: ignore[arg-type]
            if row is None:
                row = rows[item.id] = ExchangeFields(media_id=item.id)  # type: ignore[index]
                self.session.add(row)
            for name in KEPT_FIELDS:
                if getattr(row, name) is None:
                    setattr(row, name, getattr(record, name))
        self.session.flush()

    def _load_items(self) -> None:
        wanted = {name: sorted({getattr(record, name) for record in self.records if getattr(record, name)}) for name in DIGESTS}
        conditions = [getattr(MediaItem, name).in_(values) for name, values in wanted.items() if values]
        if not conditions:
            return
        items = self.session.scalars(select(MediaItem).where(or_(*conditions)).options(selectinload(MediaItem.series)).order_by(MediaItem.id)).all()
        self._load_signals(items)
        for item in items:
            self._remember(item)

    def _load_signals(self, items: Iterable[MediaItem]) -> None:
        by_id = {item.id: item for item in items if item not in self.loaded}
        self.loaded.update(by_id.values())
        ids = sorted(by_id)
        for start in range(0, len(ids), 500):
            for media_id, signal, value in self.session.execute(
                select(MediaSignal.media_id, MediaSignal.signal, MediaSignal.value).where(
                    MediaSignal.media_id.in_(ids[start : start + 500]), MediaSignal.signal.in_((*DIGESTS, *STORED_SIGNALS))
                )
            ):
                self.signals.add((by_id[media_id], signal, value))

    def _remember(self, item: _Item) -> None:
        for name in DIGESTS:
            if (value := getattr(item, name)) and item not in self.by_value[name, value]:
                self.by_value[name, value].append(item)

    def _find(self, record: ExchangeRecord) -> _Item | None:
        """As `repo.find_item`, from what the batch loaded and created."""
        if record.sha256 and self.by_value.get(("sha256", record.sha256)):
            return self.by_value["sha256", record.sha256][0]
        for name in ("md5", "sha1"):
            for item in self.by_value.get((name, getattr(record, name)), ()):
                if repo.hashes_agree((item.sha256, item.md5, item.sha1), (record.sha256, record.md5, record.sha1)):
                    return item
        if record.sha256 or record.md5 or record.sha1:
            return None
        for signal in STORED_SIGNALS:  # an entry of a PDQ or PhotoDNA list: the item holding that value
            if value := getattr(record, signal):
                if self.by_value.get((signal, value)):
                    return self.by_value[signal, value][0]
                media_id = self.session.scalar(select(MediaSignal.media_id).where(MediaSignal.signal == signal, MediaSignal.value == value).limit(1))
                if media_id is not None:
                    found = self.session.get(MediaItem, media_id)
                    self._load_signals([found])  # type: ignore[list-item]
                    return found
        return None

    def _create(self, record: ExchangeRecord) -> _NewItem:
        item = _NewItem(
            sha256=record.sha256, md5=record.md5 or "", sha1=record.sha1 or "",
            media_type=record.media_type or UNKNOWN_MEDIA_TYPE, size=record.size or 0,
            category=self._category(record),
            baseline=bool(record.baseline), distributed=record.distributed, tags=record.tags,
            submissions=record.submissions, file_available=bool(record.file_available),  # no source said so: no file
        )  # fmt: skip
        self.new.append(item)
        self._remember(item)
        self._add_signals(item, record)
        return item

    def _category(self, record: ExchangeRecord) -> int | None:
        return self.request.default_category if record.category is None else record.category

    def _complete(self, item: _Item, record: ExchangeRecord) -> None:
        """What the record knows of an item that the catalogue does not yet."""
        if item.category is None:
            item.category = self._category(record)
        if record.sha256 and item.sha256 is None:
            item.sha256 = record.sha256
        item.md5 = item.md5 or record.md5 or ""
        item.sha1 = item.sha1 or record.sha1 or ""
        self._remember(item)
        item.baseline = item.baseline or bool(record.baseline)
        for name in ("distributed", "tags", "submissions"):
            if getattr(item, name) is None:
                setattr(item, name, getattr(record, name))
        if item.sha256 is None and record.file_available is not None:  # a source holds the file if any says so
            item.file_available = bool(item.file_available) or record.file_available
        if item.media_type == UNKNOWN_MEDIA_TYPE and record.media_type:
            item.media_type = record.media_type
        item.size = item.size or record.size or 0
        self._add_signals(item, record)

    def _add_signals(self, item: _Item, record: ExchangeRecord) -> None:
        for name in (*DIGESTS, *STORED_SIGNALS):
            if (value := getattr(record, name)) and (item, name, value) not in self.signals:
                self.signals.add((item, name, value))
                if name in STORED_SIGNALS and item not in self.by_value[name, value]:
                    self.by_value[name, value].append(item)
                self.added_signals.append((item, name, value))


def import_file(
    engine: Engine, path: Path, fmt: str, request: ImportRequest, on_progress: Callable[[int], None] | None = None, summary: ImportSummary | None = None
) -> ImportSummary:
    """Import the file at `path` in the format named `fmt` (see `import_records`). Raises
    `ExchangeFormatError` before anything is stored when the format or an option is unknown, or
    the file is not in that format at all."""
    return import_records(engine, read_file(path, fmt, request.options), request, on_progress, summary)


def catalogue_records(engine: Engine, series: str | None = None, *, per_series: bool = True, batch_size: int = EXPORT_BATCH) -> Iterator[ExchangeRecord]:
    """Every item of the catalogue (or of one series) as exchange records, in item order: one
    per item and series, or with `per_series` off one per item, without series (for formats
    that have no series field). Each batch is read in its own short transaction: on SQLite
    every transaction holds the write lock, and a long export must not stop contributions."""
    last = 0
    while True:
        with Session(engine) as session:
            query = select(MediaItem).where(MediaItem.id > last).order_by(MediaItem.id).limit(batch_size)
            if series is not None:
                query = (
                    query.join(media_series, media_series.c.media_id == MediaItem.id)
                    .join(Series, Series.id == media_series.c.series_id)
                    .where(Series.name == series)
                )
            items = session.scalars(query).all()
            if not items:
                return
            records = _records_of(session, items, series, per_series)
        yield from records
        last = items[-1].id


def _records_of(session: Session, items: Iterable[MediaItem], only_series: str | None, per_series: bool) -> list[ExchangeRecord]:
    by_id = {item.id: item for item in items}
    ids = sorted(by_id)
    signals: dict[int, dict[str, str]] = defaultdict(dict)
    for media_id, signal, value, quality in session.execute(
        select(MediaSignal.media_id, MediaSignal.signal, MediaSignal.value, MediaSignal.quality)
        .where(MediaSignal.media_id.in_(ids), MediaSignal.signal.in_(STORED_SIGNALS), MediaSignal.displayed.is_(False))
        .order_by(MediaSignal.id)
    ):
        if _exportable(signal, quality):
            signals[media_id].setdefault(signal, value)
    series_of: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for media_id, series_id, name in session.execute(
        select(media_series.c.media_id, Series.id, Series.name)
        .join(Series, Series.id == media_series.c.series_id)
        .where(media_series.c.media_id.in_(ids))
        .order_by(Series.name)
    ):
        series_of[media_id].append((series_id, name))
    all_series = {series_id for pairs in series_of.values() for series_id, _ in pairs}
    victim_series = repo.series_with_identified(session, all_series, Victim)
    offender_series = repo.series_with_identified(session, all_series, Offender)
    victim_items = set(
        session.scalars(
            select(media_victims.c.media_id)
            .join(Victim, Victim.id == media_victims.c.victim_id)
            .where(Victim.identified.is_(True), media_victims.c.media_id.in_(ids))
        )
    )
    contributions = dict(
        session.execute(select(Contribution.media_id, func.count()).where(Contribution.media_id.in_(ids)).group_by(Contribution.media_id)).all()
    )
    kept = {row.media_id: row for row in session.scalars(select(ExchangeFields).where(ExchangeFields.media_id.in_(ids)))}
    records = []
    for media_id in ids:
        item = by_id[media_id]
        if not (item.md5 or item.sha1 or item.sha256 or signals[media_id]):
            continue  # known only by a hash too poor to match with: nothing to export
        fields = kept.get(media_id) or ExchangeFields()
        base = ExchangeRecord(
            md5=item.md5 or None, sha1=item.sha1 or None, sha256=item.sha256,
            pdq=signals[media_id].get("pdq"), photodna=signals[media_id].get("photodna"),
            source_id=fields.source_id or str(media_id), category=item.category, baseline=item.baseline,
            victim_identified=media_id in victim_items, offender_identified=False, distributed=item.distributed,
            tags=item.tags, size=item.size or None,
            media_type=None if item.media_type == UNKNOWN_MEDIA_TYPE else item.media_type,
            submissions=item.submissions if item.submissions is not None else contributions.get(media_id, 0),
            file_available=item.file_available if item.file_available is not None else item.sha256 is not None,
            date_updated=fields.date_updated, precategorized=fields.precategorized,
            precategorization_source=fields.precategorization_source, comments=fields.comments,
        )  # fmt: skip
        pairs: list[tuple[int | None, str | None]] = [pair for pair in series_of[media_id] if only_series is None or pair[1] == only_series]
        if not per_series:
            identified = base.victim_identified or any(series_id in victim_series for series_id, _ in pairs)
            records.append(replace(base, victim_identified=identified, offender_identified=any(series_id in offender_series for series_id, _ in pairs)))
            continue
        for series_id, name in pairs or [(None, None)]:
            identified = base.victim_identified or series_id in victim_series
            records.append(replace(base, series=name, victim_identified=identified, offender_identified=series_id in offender_series))
    return records


def _exportable(signal: str, quality: int | None) -> bool:
    """A value leaves the catalogue only where its signal would match with it: a PDQ of quality
    under 50 matches noise (the reference's rule), so exports leave it out as hash lists do."""
    declared = find_signal(signal)
    return declared is None or quality is None or quality >= declared.min_quality


def export_file(engine: Engine, out: Path, request: ExportRequest) -> ExportSummary:
    """Write the catalogue (or one series) to `out` in the requested format, atomically: a
    failed export leaves no partial file behind. Raises `ExchangeFormatError` for an unknown
    format or option before anything is written."""
    interop = get_format(request.format)
    options = option_settings(interop, Direction.EXPORT, request.options)
    offered = 0

    def writable(records: Iterator[ExchangeRecord]) -> Iterator[ExchangeRecord]:
        nonlocal offered
        for record in records:
            offered += 1
            if interop.expresses.can_write(record):
                yield record

    out.parent.mkdir(parents=True, exist_ok=True)
    records = writable(catalogue_records(engine, request.series, per_series=interop.expresses.series))
    with atomic_open(out, "w", encoding="utf-8", newline="") as handle:
        written = interop.write(records, handle, options)
    # Left out: records the format cannot hold, and those with no hash the chosen naming has a name for.
    return ExportSummary(written, offered - written)
