"""A series' clues, discussion and investigation history, exported to go with its media.

Two forms (docs/collaboration.md):

- `series_notes`: the documented JSON (`mediamatch-series-notes`, version 1) holding everything
  shared: every clue visible to all agencies (with its revisions), the threads under those clues
  and under the series, and every claim, open or ended;
- `write_series_vics`: the series' media as a VICS hash set in which each Media record's
  `Comments` field carries the clues pinned to that picture; VICS has no place for series-level
  clues, threads or claims, which go in the JSON.

Clues an agency kept to itself never leave in either form: an export is handed to other
systems and agencies.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from mediamatch.atomic import atomic_open
from mediamatch.catalog.collaboration import ClueRecord
from mediamatch.interop.vics import write_vics_with_comments
from mediamatch.services.clues import as_record, comment_record
from mediamatch.services.exchange import catalogue_records
from mediamatch.services.investigations import list_investigations
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import Series
from mediamatch.store.models.collaboration import Clue, ClueRevision, Comment

NOTES_FORMAT = "mediamatch-series-notes"
NOTES_VERSION = 1


def shared_clues(session: Session, series_id: int) -> list[Clue]:
    """The series' clues every agency may see (not deleted), oldest first."""
    query = select(Clue).where(Clue.series_id == series_id, Clue.visibility == "all", Clue.deleted_at.is_(None)).order_by(Clue.created_at, Clue.id)
    return list(session.scalars(query))


def series_notes(session: Session, series: str) -> dict[str, Any]:
    """The documented JSON of a series' shared clues, threads and claims; LookupError for an unknown series."""
    series_row = session.scalar(select(Series).where(Series.name == series))
    if series_row is None:
        raise LookupError(f"no series named {series!r}")
    clues = shared_clues(session, series_row.id)
    revisions: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for revision in session.scalars(select(ClueRevision).where(ClueRevision.clue_id.in_([c.id for c in clues])).order_by(ClueRevision.id)):
        revisions[revision.clue_id].append(
            {"action": revision.action, "before": json.loads(revision.before), "by": revision.changed_by, "at": _iso(revision.changed_at)}
        )
    threads: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for comment in session.scalars(select(Comment).where(Comment.clue_id.in_([c.id for c in clues])).order_by(Comment.id)):
        threads[comment.clue_id].append(_plain(asdict(comment_record(comment))))  # type: ignore[index]
    series_thread = session.scalars(select(Comment).where(Comment.series_id == series_row.id).order_by(Comment.id))
    return {
        "format": NOTES_FORMAT,
        "version": NOTES_VERSION,
        "series": series_row.name,
        "clues": [_clue(as_record(clue), revisions[clue.id], threads[clue.id]) for clue in clues],
        "comments": [_plain(asdict(comment_record(comment))) for comment in series_thread],
        "investigations": [_plain(asdict(record)) for record in list_investigations(session, series=series)],
    }


def _clue(record: ClueRecord, revisions: list[dict[str, Any]], thread: list[dict[str, Any]]) -> dict[str, Any]:
    fields = _plain(asdict(record))
    for name in ("visibility", "deleted", "series"):
        fields.pop(name)
    return fields | {"revisions": revisions, "comments": thread}


def _plain(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: _iso(value) if isinstance(value, datetime) else value for name, value in fields.items()}


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def comment_line(record: ClueRecord) -> str:
    """One clue as a line of VICS `Comments`: "[object, CH, 70%] Type J wall socket (Unit NL, 2026-11-27)"."""
    where = f", box {record.box.left},{record.box.top},{record.box.width}x{record.box.height}" if record.box else ""
    when = f", {record.time_start:g}-{record.time_end:g} s" if record.time_start is not None else ""
    country = f", {record.country}" if record.country else ""
    return f"[{record.kind}{country}, {record.confidence}%{where}{when}] {record.text} ({record.agency}, {record.created_at.date().isoformat()})"


def write_series_notes(engine: Engine, series: str, out: Path) -> int:
    """Write the series' notes JSON to `out` (atomically); how many clues it holds."""
    with session_scope(engine) as session:
        document = series_notes(session, series)
    with atomic_open(out, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1, ensure_ascii=False)
    return len(document["clues"])


def write_series_vics(engine: Engine, series: str, out: Path, version: str = "2.0") -> int:
    """Write the series' media as a VICS hash set whose Media `Comments` hold the clues pinned to
    each picture (atomically); how many records were written. Items without an MD5 are left out."""
    with session_scope(engine) as session:
        series_id = session.scalar(select(Series.id).where(Series.name == series))
        if series_id is None:
            raise LookupError(f"no series named {series!r}")
        by_item: dict[str, list[str]] = defaultdict(list)
        for clue in shared_clues(session, series_id):
            if clue.media_id is not None:
                by_item[str(clue.media_id)].append(comment_line(as_record(clue)))

    def annotated() -> Iterator[tuple[Any, str | None]]:
        for record in catalogue_records(engine, series):
            if record.md5:
                yield record, "\n".join(by_item.get(record.source_id or "", [])) or None

    with atomic_open(out, "w", encoding="utf-8", newline="") as handle:
        return write_vics_with_comments(annotated(), handle, version)
