"""Writing a triage's rows as report.json (for tools), report.csv (for spreadsheets) and a
self-contained report.html (for a person).

The HTML report is built for investigator wellness: every thumbnail is greyscale and blurred
until the reader clicks that one picture, and nothing is loaded from outside the file, so it
opens offline on an evidence workstation. File names come from a seized drive and are treated
as hostile: escaped in HTML, and defused in CSV (a leading = + - @ would run as a spreadsheet
formula).
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, cast

from jinja2 import Environment, PackageLoader, select_autoescape

from mediamatch.atomic import atomic_write
from mediamatch.catalog.hashes import DISPLAYED, DISPLAYED_LABEL, BytesSource, Source, SpooledSource
from mediamatch.catalog.records import category_label
from mediamatch.media.collection import iter_collection
from mediamatch.media.contact_sheet import clock_label, contact_sheet
from mediamatch.media.spool import read_spooled
from mediamatch.media.thumbnail import ThumbnailError, jpeg_bytes, thumbnail
from mediamatch.services.triage import KNOWN_IDENTIFIED, KNOWN_UNIDENTIFIED, NEW, RELATED, STATUSES, TriageRow, TriageState, plain_row
from mediamatch.signals.pdq import DIHEDRAL_LABELS
from mediamatch.signals.registry import computed_from, find_signal, ranked_signals

MAX_THUMBNAILS = 2000
# How a match's `transform` reads: which of the file's pictures matched (a flip, or the picture as
# displayed rather than as its file stores it).
TRANSFORM_LABELS = {**DIHEDRAL_LABELS, DISPLAYED: DISPLAYED_LABEL}
THUMBNAIL_SIZE = 160
THUMBNAIL_QUALITY = 70
MATCH_COLUMNS = (
    "best_distance", "best_signal", "series", "category", "victim_identified", "matched_media_ids", "error", "note",
    "duration", "matched_seconds", "known_seconds", "investigations", "relation", "known_area_share", "transform",
)  # fmt: skip
STATUS_TITLES = {
    KNOWN_IDENTIFIED: "Known, victim identified",
    KNOWN_UNIDENTIFIED: "Known, victim not identified",
    RELATED: "Related to a known series (same scene or objects, not a copy)",
    NEW: "New (matches nothing in the catalogue)",
    "not_media": "Not media",
    "error": "Errors",
}


def write_reports(state: TriageState, out: Path) -> dict[str, Path]:
    """Write the three report files from the saved rows; returns their paths by format."""
    rows = list(state.rows())
    meta = state.meta()
    counts = state.counts()
    paths = {"json": out / "report.json", "csv": out / "report.csv", "html": out / "report.html"}
    _write_json(paths["json"], rows, meta, counts)
    _write_csv(paths["csv"], rows)
    thumbnails = make_thumbnails(Path(meta["source"]), rows)
    _write_html(paths["html"], rows, meta, counts, thumbnails)
    return paths


def file_signal_columns() -> tuple[str, ...]:
    """A column per signal of a whole file or picture (widest digest first, as matches are
    ranked), and `<name>_quality` beside a signal that grades its values. Frame hashes are
    per frame, not per file: they have no column."""
    columns: list[str] = []
    for signal in ranked_signals():
        if not signal.media_kinds.isdisjoint({"file", "image"}):
            columns.append(signal.name)
            if signal.min_quality:
                columns.append(f"{signal.name}_quality")
    return tuple(columns)


def csv_columns() -> tuple[str, ...]:
    return ("path", "status", "size", "media_type", "width", "height", *file_signal_columns(), *MATCH_COLUMNS)


def row_json(row: TriageRow) -> dict[str, Any]:
    """A row as report.json gives it: each signal (and its quality) a key of its own."""
    fields = plain_row(row)
    fields.pop("seq")
    signals, qualities = cast(dict[str, Any], fields.pop("signals")), cast(dict[str, Any], fields.pop("qualities"))
    for column in file_signal_columns():
        name = column.removesuffix("_quality")
        fields[column] = (qualities if column != name else signals).get(name)
    for match in cast(list[dict[str, Any]], fields["matches"]):
        match["series"] = list(match["series"])
        match["category_label"] = category_label(match["category"])
        match["investigations"] = list(match["investigations"])
    return fields


def _write_json(path: Path, rows: list[TriageRow], meta: dict[str, str], counts: dict[str, int]) -> None:
    document = {
        "report": "mediamatch triage",
        "version": 1,
        "source": meta.get("source"),
        "catalogue": meta.get("catalogue"),
        "started": meta.get("started"),
        "finished": meta.get("finished"),
        "summary": counts,
        "files": [row_json(row) for row in rows],
    }
    atomic_write(path, json.dumps(document, indent=1, ensure_ascii=False))


def defuse(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_row(row: TriageRow, columns: tuple[str, ...]) -> list[str]:
    best = row.matches[0] if row.matches else None
    series = sorted({name for match in row.matches for name in match.series})
    values: dict[str, object] = {
        **{key: getattr(row, key) for key in ("path", "status", "size", "media_type", "width", "height", "error", "note")},
        **{name: row.signals.get(name) for name in row.signals},
        **{f"{name}_quality": quality for name, quality in row.qualities.items()},
        "best_distance": best.distance if best else None,
        "best_signal": best.signal if best else None,
        "series": "; ".join(series),
        "category": best.category if best else None,
        "victim_identified": (any(match.victim_identified for match in row.matches) if row.matches else None),
        "matched_media_ids": " ".join(str(match.media_id) for match in row.matches),
        "duration": row.duration,
        "matched_seconds": spans_label(best.query_seconds) if best else None,
        "known_seconds": spans_label(best.known_seconds) if best else None,
        "investigations": "; ".join(dict.fromkeys(label for match in row.matches for label in match.investigations)),
        "relation": best.relation if best else None,
        "known_area_share": best.known_area_share if best else None,
        "transform": best.transform if best else None,
    }
    return [defuse(values.get(column)) for column in columns]


def _write_csv(path: Path, rows: list[TriageRow]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    columns = csv_columns()
    writer.writerow(columns)
    writer.writerows(csv_row(row, columns) for row in rows)
    atomic_write(path, buffer.getvalue())


def is_picture(row: TriageRow) -> bool:
    return any(signal.name in row.signals for signal in computed_from("luma"))


def make_thumbnails(source: Path, rows: Iterable[TriageRow], limit: int = MAX_THUMBNAILS) -> dict[int, str]:
    """Small JPEG data URIs for matched and new pictures, and contact sheets for videos, known
    first, at most `limit`."""
    wanted_rows = [row for row in rows if row.status in (KNOWN_IDENTIFIED, KNOWN_UNIDENTIFIED, RELATED, NEW) and (row.frames or is_picture(row))]
    wanted_rows.sort(key=lambda row: STATUSES.index(row.status))
    wanted = {row.path: row for row in wanted_rows[:limit]}
    thumbnails: dict[int, str] = {}
    if not wanted or not source.exists():
        return thumbnails
    for entry in iter_collection(source):
        row = wanted.pop(entry.name, None)
        if row is None or entry.source is None:
            continue
        if row.frames:
            matched = [span for match in row.matches for span in match.query_seconds]
            uri = sheet_uri(_bytes_or_path(entry.source), matched)
        else:
            found = _bytes_or_path(entry.source)
            data = found if isinstance(found, bytes) else _read(found)
            uri = thumbnail_uri(data) if data else None
        if uri:
            thumbnails[row.seq] = uri
        if not wanted:
            break
    return thumbnails


def _bytes_or_path(source: Source) -> bytes | Path:
    """An archive member's bytes, or the path of a file on disk."""
    if isinstance(source, BytesSource):
        return source.data
    return read_spooled(source) if isinstance(source, SpooledSource) else Path(source)


def sheet_uri(source: bytes | Path, matched: list[tuple[float, float]]) -> str | None:
    """The video's contact sheet as a JPEG data URI, or None when none can be made."""
    try:
        sheet = contact_sheet(source, matched)
    except Exception:  # noqa: BLE001 - like a thumbnail, a courtesy: a video that resists gets none
        return None
    if sheet is None:
        return None
    return _jpeg_uri(jpeg_bytes(sheet, THUMBNAIL_QUALITY))


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def thumbnail_uri(data: bytes) -> str | None:
    """A 160-px colour JPEG of the picture as a data URI (the page blurs it until clicked), or
    None when it cannot be made safely."""
    try:
        picture = thumbnail(data, THUMBNAIL_SIZE, reveal=True)
    except ThumbnailError:  # a thumbnail is a courtesy: a picture that resists gets none
        return None
    return _jpeg_uri(jpeg_bytes(picture, THUMBNAIL_QUALITY))


def _jpeg_uri(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()


def _groups(rows: list[TriageRow]) -> list[dict[str, Any]]:
    """Rows grouped by status (report order), and known rows by series within that."""
    groups = []
    for status in STATUSES:
        members = [row for row in rows if row.status == status]
        if not members:
            continue
        by_series: dict[str, list[TriageRow]] = {}
        for row in members:
            key = ", ".join(row.matches[0].series) if row.matches and row.matches[0].series else ""
            by_series.setdefault(key, []).append(row)
        groups.append({"status": status, "title": STATUS_TITLES[status], "count": len(members), "series": sorted(by_series.items())})
    return groups


def _write_html(path: Path, rows: list[TriageRow], meta: dict[str, str], counts: dict[str, int], thumbnails: dict[int, str]) -> None:
    environment = Environment(loader=PackageLoader("mediamatch.web", "templates"), autoescape=select_autoescape(default=True))
    environment.globals["category_label"] = category_label
    environment.globals["transform_label"] = lambda name: TRANSFORM_LABELS.get(name, name)
    environment.globals["spans"] = spans_label
    environment.globals["polygon"] = polygon_points
    environment.globals["index_kind"] = lambda name: getattr(find_signal(name), "index_kind", "exact")
    most = max(counts.values(), default=0) or 1
    html = environment.get_template("triage_report.html.j2").render(
        meta=meta,
        counts=counts,
        total=sum(counts.values()),
        bars=[(status, STATUS_TITLES[status], count, count / most) for status, count in counts.items()],
        groups=_groups(rows),
        thumbnails=thumbnails,
        generated=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    atomic_write(path, html)


def spans_label(ranges: Iterable[tuple[float, float]]) -> str:
    """Time ranges as a person reads them: "0:04-0:07, 1:12"."""
    return ", ".join(clock_label(start) if int(start) == int(end) else f"{clock_label(start)}-{clock_label(end)}" for start, end in ranges)


def polygon_points(region: Iterable[tuple[float, float]]) -> str:
    """A matched region (shares 0-1 of the picture's sides) as SVG polygon points."""
    return " ".join(f"{x:.4f},{y:.4f}" for x, y in region)
