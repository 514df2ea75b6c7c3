"""The results grid of browser triage runs: what the pages read of a run and its rows.

Every read is scoped to the agency that owns the run (another agency's run is as absent as a
missing one). Rows are read through the indexes of `store/models/triage_runs.py`: one per
filter, each ending with the row's position, so a page is an index range scan; the unfiltered
grid in file order reads a range of positions, and totals come from the counts a run saves
when it finishes wherever no other filter than the status is set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mediamatch.catalog.records import Category, Match
from mediamatch.store import repo
from mediamatch.store.models.triage_runs import TriageRun, TriageRunRow

PER_PAGE_CHOICES = (24, 48, 96, 200)
SORTS = ("seq", "path", "size", "distance")
MEDIA_KINDS = ("image", "video", "other")
UNCATEGORISED_FILTER = "none"


@dataclass(frozen=True, slots=True)
class RunView:
    """A run as the pages show it."""

    id: int
    kind: str
    label: str
    state: str
    started_by: str
    total: int | None
    done: int
    counts: dict[str, int]
    error: str | None
    created_at: datetime
    finished_at: datetime | None

    @property
    def has_files(self) -> bool:
        """Whether the run's files can be shown and contributed (an opened report has none)."""
        return self.kind != "report"

    @property
    def running(self) -> bool:
        return self.state in ("queued", "running")

    @property
    def percent(self) -> int | None:
        if self.state == "finished":
            return 100
        return min(99, self.done * 100 // self.total) if self.total else None


@dataclass(frozen=True, slots=True)
class GridRow:
    """One row of the results grid (the indexed columns, not the whole triage row)."""

    seq: int
    path: str
    status: str
    media_kind: str
    size: int | None
    series: str | None
    category: int | None
    category_set: bool
    best_distance: int | None
    media_id: int | None
    known_from: str | None
    contributed_series: str | None


@dataclass(frozen=True, slots=True)
class RowDetail:
    """One row with everything triage found: signals and every match, each with who first
    contributed the matched item."""

    row: GridRow
    media_type: str | None
    width: int | None
    height: int | None
    signals: dict[str, str]
    error: str | None
    note: str | None
    duration: float | None
    matches: tuple[Match, ...]
    contributors: dict[int, tuple[str, ...]]  # media id -> "agency (case)", oldest first


@dataclass(frozen=True, slots=True)
class RowQuery:
    """What the grid asks for: filters (None: any), the sort, and the page."""

    status: str | None = None
    series: str | None = None
    media_kind: str | None = None
    category: str | None = None  # "0".."4", or UNCATEGORISED_FILTER
    sort: str = "seq"
    descending: bool = False
    page: int = 1
    per_page: int = PER_PAGE_CHOICES[1]


@dataclass(frozen=True, slots=True)
class RowPage:
    rows: tuple[GridRow, ...]
    total: int
    query: RowQuery
    series_choices: tuple[str, ...] = field(default=())

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))


def list_runs(session: Session, agency_id: int, limit: int = 50) -> list[RunView]:
    runs = session.scalars(select(TriageRun).where(TriageRun.agency_id == agency_id).order_by(TriageRun.id.desc()).limit(limit))
    return [_view(run) for run in runs]


def get_run(session: Session, run_id: int, agency_id: int) -> RunView:
    """The run, if it belongs to `agency_id` (another agency's run is as absent as a missing one)."""
    return _view(owned_run(session, run_id, agency_id))


def owned_run(session: Session, run_id: int, agency_id: int) -> TriageRun:
    """The run's row, if it belongs to `agency_id`; LookupError otherwise."""
    run = session.get(TriageRun, run_id)
    if run is None or run.agency_id != agency_id:
        raise LookupError(f"no triage run {run_id}")
    return run


def _view(run: TriageRun) -> RunView:
    return RunView(
        id=run.id, kind=run.kind, label=run.label, state=run.state, started_by=run.started_by, total=run.total, done=run.done,
        counts=json.loads(run.counts or "{}"), error=run.error, created_at=run.created_at, finished_at=run.finished_at,
    )  # fmt: skip


_GRID_COLUMNS = (
    TriageRunRow.seq, TriageRunRow.path, TriageRunRow.status, TriageRunRow.media_kind, TriageRunRow.size, TriageRunRow.series,
    TriageRunRow.category, TriageRunRow.category_set, TriageRunRow.best_distance, TriageRunRow.media_id, TriageRunRow.known_from,
    TriageRunRow.contributed_series,
)  # fmt: skip
_SORT_COLUMNS = {"seq": (), "path": (TriageRunRow.path,), "size": (TriageRunRow.size,), "distance": (TriageRunRow.best_distance,)}


def page_rows(session: Session, run_id: int, agency_id: int, query: RowQuery) -> RowPage:
    """One page of the run's rows, filtered and sorted, with the total that matches.

    Offset paging over an index per filter (see the model); a sort column is followed by the
    row's position so the order is total and pages never repeat or skip a row. Two shortcuts
    keep the common views independent of the run's size: a finished run's rows are numbered
    0..n-1 without gaps, so the unfiltered grid in file order reads a page as a range of
    positions; and the run's counts per status (saved when it finished) give the total of
    the unfiltered and status-only views without counting rows."""
    run = owned_run(session, run_id, agency_id)
    where = [TriageRunRow.run_id == run_id]
    if query.status:
        where.append(TriageRunRow.status == query.status)
    if query.series:
        where.append(TriageRunRow.series == query.series)
    if query.media_kind:
        where.append(TriageRunRow.media_kind == query.media_kind)
    if query.category == UNCATEGORISED_FILTER:
        where.append(TriageRunRow.category.is_(None))
    elif query.category:
        where.append(TriageRunRow.category == int(query.category))
    total = _total(session, run, query, where)
    skip = (query.page - 1) * query.per_page
    statement = select(*_GRID_COLUMNS).where(*where).limit(query.per_page)
    if len(where) == 1 and query.sort == "seq" and run.state != "running":
        first = total - skip - query.per_page if query.descending else skip
        statement = statement.where(TriageRunRow.seq >= first, TriageRunRow.seq < first + query.per_page)
        statement = statement.order_by(TriageRunRow.seq.desc() if query.descending else TriageRunRow.seq)
    else:
        order = [*_SORT_COLUMNS[query.sort], TriageRunRow.seq]
        statement = statement.order_by(*(column.desc() if query.descending else column.asc() for column in order)).offset(skip)
    rows = tuple(GridRow(**row._asdict()) for row in session.execute(statement))
    return RowPage(rows, total, query, series_choices(session, run_id))


def _total(session: Session, run: TriageRun, query: RowQuery, where: list[Any]) -> int:
    counts: dict[str, int] = json.loads(run.counts or "{}")
    if run.state != "running" and counts and not (query.series or query.media_kind or query.category):
        return counts.get(query.status, 0) if query.status else sum(counts.values())
    return session.scalar(select(func.count()).select_from(TriageRunRow).where(*where)) or 0


def series_choices(session: Session, run_id: int, limit: int = 500) -> tuple[str, ...]:
    """The series the run's rows matched, for the grid's series filter."""
    statement = (
        select(TriageRunRow.series)
        .where(TriageRunRow.run_id == run_id, TriageRunRow.series.is_not(None))
        .group_by(TriageRunRow.series)
        .order_by(TriageRunRow.series)
        .limit(limit)
    )
    return tuple(name for name in session.scalars(statement) if name is not None)


def row_detail(session: Session, run_id: int, agency_id: int, seq: int) -> RowDetail:
    owned_run(session, run_id, agency_id)
    found = session.get(TriageRunRow, (run_id, seq))
    if found is None:
        raise LookupError(f"no row {seq} in triage run {run_id}")
    fields = json.loads(found.data)
    matches = tuple(Match.from_json(match) for match in fields.get("matches", ()))
    return RowDetail(
        row=_grid_row(found),
        media_type=fields.get("media_type"),
        width=fields.get("width"),
        height=fields.get("height"),
        signals=dict(fields.get("signals") or {}),
        error=fields.get("error"),
        note=fields.get("note"),
        duration=fields.get("duration"),
        matches=matches,
        contributors=repo.describe_contributions_of(session, {match.media_id for match in matches}),
    )


def _grid_row(found: TriageRunRow) -> GridRow:
    return GridRow(**{column.key: getattr(found, column.key) for column in _GRID_COLUMNS})


def set_category(session: Session, run_id: int, agency_id: int, seq: int, category: int) -> int | None:
    """Set the Project VIC category a user chose for a row (used when it is contributed);
    returns the category it had."""
    Category(category)
    owned_run(session, run_id, agency_id)
    found = session.get(TriageRunRow, (run_id, seq))
    if found is None:
        raise LookupError(f"no row {seq} in triage run {run_id}")
    before, found.category, found.category_set = found.category, category, True
    return before
