"""Triage runs started in the browser: what was uploaded or chosen on the server, the run in the
background, and the rows the results grid pages through.

A run is the CLI's triage (services/triage.py, with its resumable state file) executed by the
server in a background thread, one run at a time so a server's cores are not split between
two drives. Each row is also written to the catalogue database as it is made (`TriageRunRow`),
so progress is a count and the grid filters, sorts and pages with indexes instead of reading a
report file. A CLI triage's `report.json` can be opened as a run too: same rows, same grid,
without files (nothing to show or contribute).

Where the files are: an upload is written into the run's own folder under the server's triage
root; a collection on the evidence volume is read where it lies, and only below the roots the
deployment allows (`evidence_roots`), judged after resolving links, so `..` or a link cannot
reach outside them. Archive members are never extracted (media/archive.py reads them in memory).
What the pages read of a run (the grid, a row) is services/triage_grid.py.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.orm import Session

from mediamatch.catalog.hashes import BytesSource
from mediamatch.catalog.records import Category, ContributionOutcome, Match
from mediamatch.media.archive import NESTED_MARK, is_archive, unsafe_name_reason
from mediamatch.media.collection import iter_collection
from mediamatch.media.contact_sheet import contact_sheet
from mediamatch.media.hashing import read_source
from mediamatch.media.thumbnail import ThumbnailError, jpeg_bytes, thumbnail
from mediamatch.services.contribute import ContributionRequest, contribute
from mediamatch.services.identify import note_interest
from mediamatch.services.triage import STATUSES, CatalogueLookup, TriageRow, count_entries, plain_row, triage
from mediamatch.services.triage_grid import RowDetail, owned_run, row_detail
from mediamatch.services.triage_report import file_signal_columns
from mediamatch.store import repo
from mediamatch.store.blobs import EncryptedBlobStore
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import Agency, Series
from mediamatch.store.models.triage_runs import TriageRun, TriageRunRow

INPUT_FOLDER = "input"
STATE_FOLDER = "state"
PICTURES_FOLDER = "pictures"
PICTURE_SIZE = 256  # the grid's largest thumbnail
FULL_SIZE = 1600  # the full-size view: large enough to look, still decoded within the thumbnailer's limits
SAVE_EVERY_ROWS = 200
SAVE_EVERY_SECONDS = 1.0
CONTRIBUTE_BATCH = 100  # files read into memory at once when contributing a selection


class RunRefused(ValueError):
    """The run cannot be started as asked; the message says why, in the user's terms."""


# -- starting runs ---------------------------------------------------------------------------


def create_upload_run(session: Session, root: Path, agency_id: int, username: str, files: Iterable[tuple[str, BinaryIO]]) -> int:
    """A run over uploaded files (a folder's files with their relative paths, or one archive),
    written into the run's folder. Returns the run's id; `execute_run` triages it."""
    run = _new_run(session, root, agency_id, username, "upload", "")
    folder = Path(run.folder) / INPUT_FOLDER
    written: list[Path] = []
    for name, stream in files:
        relative = safe_relative_path(name)
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as out:
            shutil.copyfileobj(stream, out)
        written.append(target)
    if not written:
        raise RunRefused("no files were uploaded")
    if len(written) == 1 and is_archive(written[0]):
        run.kind, run.source, run.label = "archive", str(written[0]), written[0].name
    else:
        tops = sorted({path.relative_to(folder).parts[0] for path in written})
        run.source, run.label = str(folder), (tops[0] if len(tops) == 1 else f"{len(written)} uploaded files")
    session.flush()
    return run.id


def safe_relative_path(name: str) -> PurePosixPath:
    """An uploaded file's relative path (a browser sends a folder's files as `folder/sub/a.jpg`),
    refused when it would leave the run's folder."""
    normalised = name.replace("\\", "/")
    if reason := unsafe_name_reason(normalised):
        raise RunRefused(f"{name!r}: {reason}")
    path = PurePosixPath(normalised)
    if not path.parts or any(part in ("", ".") for part in path.parts):
        raise RunRefused(f"{name!r}: not a file name")
    return path


def create_server_run(session: Session, root: Path, agency_id: int, username: str, path: str, evidence_roots: Sequence[Path]) -> int:
    """A run over a collection already on the server's evidence volume, read where it lies.
    Refused unless the deployment names evidence roots and `path` resolves inside one."""
    if not evidence_roots:
        raise RunRefused("this server does not allow triage of collections on its evidence volume; upload the files instead")
    try:
        resolved = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):
        raise RunRefused(f"{path}: no such file or folder on the server") from None
    if not any(resolved.is_relative_to(allowed.resolve()) for allowed in evidence_roots):
        raise RunRefused(f"{path} is outside the evidence roots this server allows: " + ", ".join(str(allowed) for allowed in evidence_roots))
    run = _new_run(session, root, agency_id, username, "server", str(resolved))
    run.label = str(resolved)
    session.flush()
    return run.id


def import_report(session: Session, root: Path, agency_id: int, username: str, name: str, document: bytes) -> int:
    """A CLI triage's report.json opened as a finished run: the same grid, without files."""
    try:
        parsed = json.loads(document)
        files = parsed["files"] if isinstance(parsed, dict) and parsed.get("report") == "mediamatch triage" else None
    except (ValueError, UnicodeDecodeError):
        files = None
    if not isinstance(files, list):
        raise RunRefused(f"{name} is not a mediamatch triage report (report.json)")
    run = _new_run(session, root, agency_id, username, "report", "")
    run.label = f"{name} ({parsed.get('source') or 'unknown source'})"
    rows = []
    for seq, fields in enumerate(files):
        try:
            rows.append(_row_from_report(seq, fields))
        except (KeyError, TypeError, ValueError) as exc:
            raise RunRefused(f"{name}: file {seq + 1} of the report cannot be read ({type(exc).__name__}: {exc})") from None
    _save_rows(session, run, rows, known_from={})
    run.state, run.total, run.done, run.finished_at = "finished", len(rows), len(rows), datetime.now(timezone.utc)
    run.counts = json.dumps(_counts(session, run.id))
    session.flush()
    return run.id


def _row_from_report(seq: int, fields: dict[str, Any]) -> TriageRow:
    signal_names = {column for column in file_signal_columns() if not column.endswith("_quality")}
    return TriageRow(
        seq=seq,
        path=str(fields["path"]),
        status=str(fields["status"]) if fields["status"] in STATUSES else "error",
        size=fields.get("size"),
        signals={name: fields[name] for name in signal_names if fields.get(name)},
        qualities={name: fields[f"{name}_quality"] for name in signal_names if fields.get(f"{name}_quality") is not None},
        width=fields.get("width"),
        height=fields.get("height"),
        media_type=fields.get("media_type"),
        matches=tuple(Match.from_json(match) for match in fields.get("matches") or ()),
        error=fields.get("error"),
        note=fields.get("note"),
        duration=fields.get("duration"),
        frames=int(fields.get("frames") or 0),
    )


def _new_run(session: Session, root: Path, agency_id: int, username: str, kind: str, source: str) -> TriageRun:
    run = TriageRun(agency_id=agency_id, started_by=username, kind=kind, label="", folder="", source=source, state="queued", done=0, counts="{}")
    session.add(run)
    session.flush()
    folder = root / f"run-{run.id}"
    folder.mkdir(parents=True, exist_ok=True)
    run.folder = str(folder)
    return run


# -- running ---------------------------------------------------------------------------------


class RunRunner:
    """Runs queued triages one after another in a background thread of the server.

    `matcher` gives the server's catalogue matcher when a run starts (opened lazily, shared
    with the API's queries); `workers` is how many hashing processes a run uses. The server is
    one process (`mediamatch serve`), so when its runner starts, a run still queued or running
    was left by a server that stopped: it is started again from the beginning."""

    def __init__(self, engine: Engine, matcher: Callable[[], CatalogueLookup], workers: int | None = None) -> None:
        self.engine = engine
        self.matcher = matcher
        self.workers = workers
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="triage-run")
        self._lock = threading.Lock()
        self.restarted = [self.submit(run_id) for run_id in restart_interrupted(engine)]

    def submit(self, run_id: int) -> Future[None]:
        with self._lock:
            return self._executor.submit(execute_run, self.engine, run_id, self.matcher, self.workers)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def restart_interrupted(engine: Engine) -> list[int]:
    """Queue again, from the start, every run a stopped server left queued or running: its
    saved rows and state are removed (the files it triages are still in its folder)."""
    with session_scope(engine) as session:
        runs = session.scalars(select(TriageRun).where(TriageRun.state.in_(("queued", "running"))).order_by(TriageRun.id)).all()
        for run in runs:
            session.execute(delete(TriageRunRow).where(TriageRunRow.run_id == run.id))
            for leftover in (STATE_FOLDER, PICTURES_FOLDER):
                shutil.rmtree(Path(run.folder) / leftover, ignore_errors=True)
            run.state, run.done, run.total, run.counts = "queued", 0, None, "{}"
        return [run.id for run in runs]


def execute_run(engine: Engine, run_id: int, matcher: Callable[[], CatalogueLookup], workers: int | None = None) -> None:
    """Triage the run's collection, saving rows to the database as they come, then make the
    pictures the grid shows for files inside archives. A failure is recorded on the run."""
    with session_scope(engine) as session:
        run = session.get(TriageRun, run_id)
        if run is None or run.state != "queued":
            return
        run.state = "running"
        source, folder, agency_id = Path(run.source), Path(run.folder), run.agency_id
        run.total = count_entries(source) if source.is_dir() else None
    try:
        saver = _RowSaver(engine, run_id, agency_id)
        triage(source, folder / STATE_FOLDER, engine, workers=workers, on_row=saver.add, matcher=matcher(), catalogue="this server")
        saver.flush()
        _make_archive_pictures(source, folder, run_id, engine)
    except Exception as exc:  # noqa: BLE001 - a background run has no caller to raise to: the run records why it stopped
        with session_scope(engine) as session:
            failed = session.get(TriageRun, run_id)
            if failed is not None:
                failed.state, failed.error = "failed", f"{type(exc).__name__}: {exc}"
                failed.finished_at = datetime.now(timezone.utc)
                failed.counts = json.dumps(_counts(session, run_id))
        return
    with session_scope(engine) as session:
        finished = session.get(TriageRun, run_id)
        if finished is not None:
            finished.state, finished.finished_at = "finished", datetime.now(timezone.utc)
            finished.counts = json.dumps(_counts(session, run_id))


class _RowSaver:
    """Writes rows to the database in batches, with who first contributed each matched item,
    and notes the agency's interest in every series it matched (so it is told when that
    series' victim is identified, as a query through the API would)."""

    def __init__(self, engine: Engine, run_id: int, agency_id: int) -> None:
        self.engine, self.run_id, self.agency_id = engine, run_id, agency_id
        self.pending: list[TriageRow] = []
        self.last = time.monotonic()

    def add(self, row: TriageRow) -> None:
        self.pending.append(row)
        if len(self.pending) >= SAVE_EVERY_ROWS or time.monotonic() - self.last > SAVE_EVERY_SECONDS:
            self.flush()

    def flush(self) -> None:
        rows, self.pending, self.last = self.pending, [], time.monotonic()
        if not rows:
            return
        with session_scope(self.engine) as session:
            run = session.get(TriageRun, self.run_id)
            if run is None:
                return
            best = {row.matches[0].media_id for row in rows if row.matches}
            known_from = {media_id: names[0] for media_id, names in repo.describe_contributions_of(session, best).items() if names}
            _save_rows(session, run, rows, known_from)
            names = {name for row in rows for match in row.matches for name in match.series}
            if names:
                series_ids = set(session.scalars(select(Series.id).where(Series.name.in_(sorted(names)))))
                note_interest(session, self.agency_id, series_ids, "matched")


def _save_rows(session: Session, run: TriageRun, rows: Sequence[TriageRow], known_from: dict[int, str]) -> None:
    values = []
    for row in rows:
        best = row.matches[0] if row.matches else None
        values.append(
            {
                "run_id": run.id,
                "seq": row.seq,
                "path": row.path,
                "status": row.status,
                "media_kind": media_kind(row),
                "size": row.size,
                "series": best.series[0] if best and best.series else None,
                "category": best.category if best else None,
                "category_set": False,
                "best_distance": best.distance if best else None,
                "media_id": best.media_id if best else None,
                "known_from": known_from.get(best.media_id) if best else None,
                "contributed_series": None,
                "data": json.dumps(plain_row(row)),
            }
        )
    # a resumed triage hands back no row twice, but a run re-executed after a crash may: replace
    session.execute(delete(TriageRunRow).where(TriageRunRow.run_id == run.id, TriageRunRow.seq.in_([row.seq for row in rows])))
    session.execute(insert(TriageRunRow), values)
    run.done = (run.done or 0) + len(rows)


def media_kind(row: TriageRow) -> str:
    if row.frames or (row.media_type or "").startswith("video/"):
        return "video"
    if (row.media_type or "").startswith("image/") or row.width:
        return "image"
    return "other"


def _counts(session: Session, run_id: int) -> dict[str, int]:
    rows = session.execute(select(TriageRunRow.status, func.count()).where(TriageRunRow.run_id == run_id).group_by(TriageRunRow.status))
    found = {status: count for status, count in rows}  # noqa: C416 - a Result has .keys(): dict(rows) would read it as a mapping
    return {status: found.get(status, 0) for status in STATUSES}


# -- the run's files -------------------------------------------------------------------------


def row_picture(session: Session, run_id: int, agency_id: int, seq: int, *, reveal: bool, size: int = PICTURE_SIZE) -> bytes:
    """A JPEG of the row's file: greyscale and blurred unless `reveal`. A video gives its contact
    sheet with the matched ranges framed. Up to PICTURE_SIZE it is made once and kept in the
    run's folder; the full-size view is made from the file each time."""
    run = owned_run(session, run_id, agency_id)
    detail = row_detail(session, run_id, agency_id, seq)
    if run.kind == "report":
        raise ThumbnailError("an opened report holds no files")
    kept = Path(run.folder) / PICTURES_FOLDER / f"{seq}.jpg"
    if size <= PICTURE_SIZE and kept.exists():
        picture = kept.read_bytes()
    else:
        data = next((data for _, _, data in _files(run, [(seq, detail.row.path)])), None)
        if data is None:
            raise ThumbnailError("the file is no longer on the server")
        picture = _picture_of(data, detail, PICTURE_SIZE if size <= PICTURE_SIZE else size)
        if size <= PICTURE_SIZE:
            kept.parent.mkdir(parents=True, exist_ok=True)
            kept.write_bytes(picture)
    return jpeg_bytes(thumbnail(picture, size, reveal=reveal))


def _picture_of(data: bytes, detail: RowDetail, size: int) -> bytes:
    if detail.row.media_kind == "video":
        matched = [span for match in detail.matches for span in match.query_seconds]
        try:
            sheet = contact_sheet(data, matched)
        except Exception:  # noqa: BLE001 - a video the decoder refuses has no sheet, like a picture that is not one
            sheet = None
        if sheet is None:
            raise ThumbnailError("no frame of this video can be shown")
        return jpeg_bytes(sheet)
    return jpeg_bytes(thumbnail(data, size, reveal=True))


def _make_archive_pictures(source: Path, folder: Path, run_id: int, engine: Engine) -> None:
    """Keep the grid's pictures of files inside archives now, in one pass over the archive:
    later, reaching one member would mean reading the archive up to it."""
    with session_scope(engine) as session:
        wanted = {
            seq: path
            for seq, path in session.execute(
                select(TriageRunRow.seq, TriageRunRow.path).where(TriageRunRow.run_id == run_id, TriageRunRow.media_kind != "other")
            )
            if not _direct(source, path)
        }
    if not wanted:
        return
    with session_scope(engine) as session:
        run = session.get(TriageRun, run_id)
        assert run is not None
        for seq, _, data in _files(run, sorted(wanted.items())):
            try:
                picture = _picture_of(data, row_detail(session, run_id, run.agency_id, seq), PICTURE_SIZE)
            except ThumbnailError:
                continue
            (folder / PICTURES_FOLDER).mkdir(exist_ok=True)
            (folder / PICTURES_FOLDER / f"{seq}.jpg").write_bytes(picture)


def _direct(source: Path, path: str) -> bool:
    """Whether the row's file is a plain file of a folder, readable without opening an archive."""
    return source.is_dir() and NESTED_MARK not in path


def _files(run: TriageRun, wanted: Sequence[tuple[int, str]]) -> Iterator[tuple[int, str, bytes]]:
    """(seq, path, bytes) of the wanted rows' files: plain files read directly, archive members
    in one pass over the collection."""
    source = Path(run.source)
    rest: dict[int, str] = {}
    for seq, path in wanted:
        if _direct(source, path):
            file = source / path
            if file.is_file() and not file.is_symlink() and file.resolve().is_relative_to(source.resolve()):
                yield seq, path, file.read_bytes()
        else:
            rest[seq] = path
    if not rest:
        return
    for seq, entry in enumerate(iter_collection(source)):
        if seq in rest and entry.source is not None and entry.name == rest[seq]:
            yield seq, entry.name, read_source(entry.source)
            del rest[seq]
            if not rest:
                return


# -- contributing ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SelectionContribution:
    """Contribute the selected rows' files to a series: a new one or one that exists."""

    series: str
    category: int = Category.CHILD_ABUSE_MATERIAL  # for rows whose category the user did not set
    case: str | None = None


def contribute_rows(
    engine: Engine, blobs: EncryptedBlobStore, run_id: int, agency_id: int, seqs: Iterable[int], request: SelectionContribution
) -> list[ContributionOutcome]:
    """Contribute the files of the selected rows, each with the category the user set on its
    row (else the request's), store their encrypted copies, and mark the rows contributed.
    Through services/contribute.py, as the API's upload: same outcomes, same interest noted."""
    Category(request.category)
    with session_scope(engine) as session:
        run = owned_run(session, run_id, agency_id)
        if run.kind == "report":
            raise RunRefused("an opened report holds no files to contribute; triage the files themselves")
        agency = session.get(Agency, agency_id)
        assert agency is not None
        agency_name, country = agency.name, agency.country
        chosen = session.execute(
            select(TriageRunRow.seq, TriageRunRow.path, TriageRunRow.category, TriageRunRow.category_set)
            .where(TriageRunRow.run_id == run_id, TriageRunRow.seq.in_(sorted(set(seqs))))
            .order_by(TriageRunRow.seq)
        ).all()
        session.expunge(run)
    outcomes: list[ContributionOutcome] = []
    by_category: dict[int, list[tuple[int, str]]] = {}
    for seq, path, category, category_set in chosen:
        by_category.setdefault(category if category_set and category is not None else request.category, []).append((seq, path))
    for category, rows in sorted(by_category.items()):
        contribution = ContributionRequest(series=request.series, category=category, agency=agency_name, country=country, case=request.case)
        for start in range(0, len(rows), CONTRIBUTE_BATCH):
            files = list(_files(run, rows[start : start + CONTRIBUTE_BATCH]))
            batch = contribute(engine, [BytesSource(path, data) for _, path, data in files], contribution, workers=1)
            for (_, _, data), outcome in zip(files, batch, strict=True):
                if outcome.status != "error":
                    blobs.put(data)
            outcomes += batch
            done = [seq for (seq, _, _), outcome in zip(files, batch, strict=True) if outcome.status != "error"]
            with session_scope(engine) as session:
                session.execute(update(TriageRunRow).where(TriageRunRow.run_id == run_id, TriageRunRow.seq.in_(done)).values(contributed_series=request.series))
    with session_scope(engine) as session:
        series_id = session.scalar(select(Series.id).where(Series.name == request.series))
        note_interest(session, agency_id, {series_id} if series_id else set(), "contributed")
    return outcomes
