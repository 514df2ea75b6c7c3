"""Workspace page speed at scale: the triage results grid of a 100,000-file run, and the page of
a 10,000-item series.

Setup: a fresh catalogue (SQLite by default, or `--db-url`), migrated, with one agency and one
investigator; a browser triage run of `--files` rows written in bulk the way the run's saver
writes them (statuses, series, media kinds, categories and sizes spread like a seized drive:
mostly new pictures, a few percent known across 200 series, some videos, other files and
errors), and one series of `--items` items contributed by three agencies, with a victim.

Measured: the server time of each page, as the whole request through the app in this process
(routing, session check, the service's queries, rendering the template), with a signed-in page
session. Thumbnails are separate requests and not part of a page's time. Each page is asked
`--repeat` times after one warm-up; the table gives the median and the slowest.

    python -m benchmarks.bench_web [--files 100000] [--items 10000] [--repeat 7] [--db-url URL]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from benchmarks.report import write_section
from mediamatch.api.app import create_app
from mediamatch.api.settings import ServerSettings
from mediamatch.auth.permissions import Role
from mediamatch.auth.tokens import issue_token
from mediamatch.auth.users import create_user
from mediamatch.services.triage import STATUSES
from mediamatch.store import repo
from mediamatch.store.db import session_scope
from mediamatch.store.keys import Keyring, generate_key, write_key_file
from mediamatch.store.models.catalogue import Contribution, MediaItem, Series, media_series
from mediamatch.store.models.triage_runs import TriageRun, TriageRunRow
from mediamatch.web.session import SESSION_COOKIE

GRID_LIMIT_MS = 200
SERIES_LIMIT_MS = 300
BATCH = 5000


def status_of(rng: random.Random) -> str:
    roll = rng.random()
    return "known_unidentified" if roll < 0.03 else "known_identified" if roll < 0.04 else "not_media" if roll < 0.10 else "error" if roll < 0.11 else "new"


def fill_run(engine: sa.Engine, agency_id: int, files: int) -> int:
    """A finished run of `files` rows, written in batches as the run's saver writes them."""
    rng = random.Random(7)
    with session_scope(engine) as session:
        run = TriageRun(agency_id=agency_id, started_by="bench", kind="server", label="bench drive", folder="/nonexistent", source="/nonexistent")
        run.state, run.total, run.done, run.finished_at = "finished", files, files, datetime.now(timezone.utc)
        session.add(run)
        session.flush()
        run_id = run.id
    for start in range(0, files, BATCH):
        values = []
        for seq in range(start, min(start + BATCH, files)):
            status = status_of(rng)
            known = status.startswith("known")
            kind = "other" if status in ("not_media", "error") else "video" if rng.random() < 0.02 else "image"
            path = f"Users/suspect/Pictures/{seq // 1000:03d}/IMG_{seq:06d}.{'mp4' if kind == 'video' else 'jpg'}"
            digest = hashlib.sha256(str(seq).encode()).hexdigest()
            match = {
                "media_id": rng.randint(1, 10**6),
                "series": [f"Series {rng.randint(1, 200):03d}"],
                "category": 1,
                "baseline": False,
                "victim_identified": status == "known_identified",
                "signal": "pdq",
                "distance": rng.randint(0, 31),
                "transform": "",
            }
            data = {
                "seq": seq,
                "path": path,
                "status": status,
                "size": rng.randint(20_000, 8_000_000),
                "signals": {"sha256": digest, "md5": digest[:32]},
                "qualities": {},
                "width": 1024,
                "height": 768,
                "media_type": "image/jpeg",
                "matches": [match] if known else [],
                "error": None,
                "note": None,
                "duration": None,
                "frames": 0,
            }
            values.append(
                {
                    "run_id": run_id,
                    "seq": seq,
                    "path": path,
                    "status": status,
                    "media_kind": kind,
                    "size": data["size"],
                    "series": match["series"][0] if known else None,
                    "category": 1 if known else None,
                    "category_set": False,
                    "best_distance": match["distance"] if known else None,
                    "media_id": match["media_id"] if known else None,
                    "known_from": "Unit NL (C-1)" if known else None,
                    "contributed_series": None,
                    "data": json.dumps(data),
                }
            )
        with session_scope(engine) as session:
            session.execute(sa.insert(TriageRunRow), values)
    with session_scope(engine) as session:
        counts = dict(session.execute(sa.select(TriageRunRow.status, sa.func.count()).where(TriageRunRow.run_id == run_id).group_by(TriageRunRow.status)).all())
        session.execute(sa.update(TriageRun).where(TriageRun.id == run_id).values(counts=json.dumps({status: counts.get(status, 0) for status in STATUSES})))
    return run_id


def fill_series(engine: sa.Engine, items: int) -> str:
    """One series of `items` items, contributed by three agencies over time, with a victim."""
    name = "Large series"
    with session_scope(engine) as session:
        agencies = [repo.get_or_create_agency(session, f"Unit {code}", code) for code in ("NL", "BR", "DE")]
        series = repo.get_or_create_series(session, name)
        repo.mark_series_victim_identified(session, series, agencies[1])
        series_id, agency_ids = series.id, [agency.id for agency in agencies]
    first = datetime.now(timezone.utc) - timedelta(days=400)
    for start in range(0, items, BATCH):
        with session_scope(engine) as session:
            rows = []
            for number in range(start, min(start + BATCH, items)):
                digest = hashlib.sha256(f"item-{number}".encode()).hexdigest()
                rows.append(
                    {
                        "sha256": digest,
                        "md5": digest[:32],
                        "sha1": digest[:40],
                        "media_type": "image/jpeg",
                        "size": 100_000 + number,
                        "width": 1024,
                        "height": 768,
                        "category": 1,
                        "baseline": False,
                        "created_at": first,
                    }
                )
            ids = session.scalars(sa.insert(MediaItem).returning(MediaItem.id), rows).all()
            session.execute(sa.insert(media_series), [{"media_id": media_id, "series_id": series_id} for media_id in ids])
            session.execute(
                sa.insert(Contribution),
                [
                    {
                        "media_id": media_id,
                        "agency_id": agency_ids[index % 3],
                        "series_id": series_id,
                        "original_name": f"{media_id}.jpg",
                        "contributed_at": first + timedelta(minutes=index),
                    }
                    for index, media_id in enumerate(ids)
                ],
            )
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(media_series).where(media_series.c.series_id == series_id)) == items
        assert session.scalar(sa.select(Series.name).where(Series.id == series_id)) == name
    return name


def timed(client: TestClient, path: str, repeat: int) -> tuple[float, float, float, float]:
    """Median and slowest wall-clock milliseconds of `repeat` requests for `path` (after one
    warm-up), then median and largest CPU milliseconds this process spent on each (the work
    itself, which other programs on a shared machine cannot stretch)."""
    answer = client.get(path)
    assert answer.status_code == 200, (path, answer.status_code, answer.text[:500])
    wall, cpu = [], []
    for _ in range(repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        answer = client.get(path)
        wall.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
        assert answer.status_code == 200
    return statistics.median(wall), max(wall), statistics.median(cpu), max(cpu)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--db-url", default=None, help="an empty database to fill (default: a new SQLite file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-web-") as scratch:
        root = Path(scratch)
        key_file = root / "content.keys"
        write_key_file(key_file, Keyring({"k1": generate_key()}, current_id="k1"))
        db_url = args.db_url or f"sqlite:///{root / 'catalogue.sqlite'}"
        settings = ServerSettings(db_url=db_url, blob_root=root / "blobs", key_file=key_file, secure_cookies=False, requests_per_minute=10**9)
        app = create_app(settings)
        engine = app.state.engine
        with session_scope(engine) as session:
            agency = repo.get_or_create_agency(session, "Unit NL", "NL")
            user = create_user(session, agency, "investigator@nl", "correct horse battery staple", Role.INVESTIGATOR)
            token = issue_token(session, user, "bench", timedelta(hours=2), datetime.now(timezone.utc)).plaintext
            agency_id = agency.id
        began = time.perf_counter()
        run_id = fill_run(engine, agency_id, args.files)
        series = fill_series(engine, args.items)
        print(f"filled {args.files:,} rows and {args.items:,} items in {time.perf_counter() - began:.0f} s", file=sys.stderr)
        if engine.dialect.name == "sqlite":  # the bulk fill's write-ahead log is copied back now, not during a measured request
            raw = engine.raw_connection()
            try:
                raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                raw.close()
        last_page = -(-args.files // 48)
        grid = {
            "first page (48)": f"/triage/{run_id}",
            "middle page": f"/triage/{run_id}?page={last_page // 2}",
            "last page": f"/triage/{run_id}?page={last_page}",
            "200 per page, page 100": f"/triage/{run_id}?per_page=200&page=100",
            "status new, page 1000": f"/triage/{run_id}?status=new&page=1000",
            "status known, one series": f"/triage/{run_id}?status=known_unidentified&series=Series%20042",
            "sorted by size, descending, page 500": f"/triage/{run_id}?sort=size&order=desc&page=500",
            "sorted by name, page 1500": f"/triage/{run_id}?sort=path&page=1500",
            "videos, sorted by distance": f"/triage/{run_id}?kind=video&sort=distance",
            "uncategorised, last page": f"/triage/{run_id}?category=none&page={-(-args.files * 96 // 100 // 48)}",
        }
        last_items = -(-args.items // 60)
        series_pages = {
            "series page, items page 1": f"/series/{series}",
            "series page, last items page": f"/series/{series}?page={last_items}",
            "series list": "/series",
        }
        rows = []
        with TestClient(app) as client:
            client.cookies.set(SESSION_COOKIE, token)
            for label, path in grid.items():
                rows.append(("grid", label, *timed(client, path, args.repeat), GRID_LIMIT_MS))
            for label, path in series_pages.items():
                rows.append(("series", label, *timed(client, path, args.repeat), SERIES_LIMIT_MS))
        engine.dispose()
    backend = sa.make_url(db_url).get_backend_name()
    table = ["| page | request | median ms | slowest ms | CPU ms, median | CPU ms, most | limit ms |", "|---|---|---:|---:|---:|---:|---:|"]
    table += [
        f"| {kind} | {label} | {median:.1f} | {slowest:.1f} | {cpu:.1f} | {cpu_most:.1f} | {limit} |"
        for kind, label, median, slowest, cpu, cpu_most, limit in rows
    ]
    over = [label for _, label, _, slowest, _, _, limit in rows if slowest > limit]
    verdict = "Every request answered within its limit." if not over else f"Requests over the limit, wall clock: {', '.join(over)}."
    body = (
        f"Results grid of a {args.files:,}-file browser triage and the page of a {args.items:,}-item series, on {backend}; "
        f"server time of each page (request through the app in-process, template rendered), {args.repeat} requests after a warm-up; "
        "wall clock, and the CPU time the process spent (what the page costs, whatever else the machine runs).\n\n"
        + "\n".join(table)
        + f"\n\n{verdict} Load average while measuring: {', '.join(f'{load:.1f}' for load in os.getloadavg())} (the machine's 2 cores are shared)."
    )
    print(body)
    command = "python -m benchmarks.bench_web" + "".join(f" {arg}" for arg in (argv if argv is not None else sys.argv[1:]))
    write_section("web", command, body)


if __name__ == "__main__":
    main()
