"""Collaboration benchmark: clue search and the statistics on a large catalogue.

Run: `python -m benchmarks.bench_collab [--items 1000000] [--clues 100000] [--db URL] [--keep | --reuse URL]`

Builds a synthetic catalogue in a new database (`--db`, default a SQLite file in a temporary
folder; a PostgreSQL URL names a server, where a scratch database is made and dropped): agencies
of 60 countries, 20,000 series with one victim each (a quarter identified), `--items` media items
each in one series with one contribution, 50,000 "matched" interests, 10,000 platform hits,
3,000 open investigations and `--clues` clues (eight words each from a 5,000-word vocabulary),
with their search documents. Rows go in with executemany (SQLite) or COPY (PostgreSQL) after the
schema is migrated, so every index and the full-text index are maintained as in production.
`--keep` leaves the catalogue (PostgreSQL database or SQLite file) in place and prints its URL; `--reuse URL` measures such
a catalogue again without rebuilding it (the schema is migrated first, so a new index migration is
measured on the same rows: building 1,000,000 items takes minutes, measuring takes seconds).

Then it times, through the services the API calls: a one-word clue search as an agency (20
different words, each in about 160 clues), the same with a country filter, a two-word search,
and the whole statistics page (15 runs, so its median and p95 hold on a busy machine).
Targets (issue 14): search under 100 ms, statistics under 500 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics as stats_module
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from benchmarks.report import write_section
from mediamatch.catalog.collaboration import Actor
from mediamatch.services.search import SearchFilters, search
from mediamatch.services.stats import statistics
from mediamatch.store.db import migrate, open_engine, session_scope

COUNTRIES = ("NL", "DE", "FR", "GB", "US", "CA", "AU", "NZ", "BR", "AR", "MX", "ES", "PT", "IT", "CH", "AT", "BE", "LU", "DK", "SE",
             "NO", "FI", "IS", "IE", "PL", "CZ", "SK", "HU", "RO", "BG", "GR", "TR", "IL", "ZA", "KE", "NG", "EG", "MA", "IN", "PK",
             "BD", "LK", "TH", "VN", "PH", "ID", "MY", "SG", "JP", "KR", "CN", "TW", "HK", "CL", "CO", "PE", "UY", "EE", "LV", "LT")  # fmt: skip
KINDS = ("location", "language", "object", "clothing", "product", "landscape", "audio", "other")
SERIES = 20_000
VOCABULARY = 5_000
START = datetime(2024, 1, 1, tzinfo=timezone.utc)
SPAN_DAYS = 3 * 365
CHUNK = 50_000


def words(rng: random.Random) -> list[str]:
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "bel", "dor", "gan", "pre", "stu", "wix", "zen", "qua"]
    found: set[str] = set()
    while len(found) < VOCABULARY:
        found.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(found)


class Loader:
    """Bulk rows into one table: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"

    def load(self, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        batch: list[tuple] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= CHUNK:
                self._write(table, columns, batch)
                batch = []
        if batch:
            self._write(table, columns, batch)

    def _write(self, table: str, columns: Sequence[str], batch: list[tuple]) -> None:
        with self.engine.begin() as conn:
            if self.sqlite:
                rows = [tuple(_sqlite_value(value) for value in row) for row in batch]
                conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)
            else:
                cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)


def _sqlite_value(value: object) -> object:
    """As SQLAlchemy's DateTime stores a time in SQLite (naive UTC text)."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return value


def when(rng: random.Random) -> datetime:
    return START + timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))


def build(engine: sa.Engine, items: int, clues: int, seed: int) -> dict[str, float]:
    """Fill the catalogue; seconds per table group."""
    rng = random.Random(seed)
    load = Loader(engine).load
    timings: dict[str, float] = {}
    started = time.perf_counter()
    load("agencies", ("id", "name", "country", "created_at"), ((i + 1, f"Unit {code}", code, START) for i, code in enumerate(COUNTRIES)))
    agencies = len(COUNTRIES)
    created = sorted(when(rng) for _ in range(SERIES))
    load("series", ("id", "name", "notes", "created_at"), ((i + 1, f"series-{i + 1:05d}", "", created[i]) for i in range(SERIES)))
    identified = {s for s in range(1, SERIES + 1) if rng.random() < 0.25}
    load("victims", ("id", "reference", "identified", "identified_at", "identified_by_id", "created_at"),
         ((s, f"series-{s:05d}/victim-1", s in identified, created[s - 1] + timedelta(days=rng.randint(1, 300)) if s in identified else None,
           rng.randint(1, agencies) if s in identified else None, created[s - 1]) for s in range(1, SERIES + 1)))  # fmt: skip
    load("series_victims", ("series_id", "victim_id"), ((s, s) for s in range(1, SERIES + 1)))
    timings["agencies, series, victims"] = time.perf_counter() - started

    started = time.perf_counter()
    load("media_items", ("id", "sha256", "md5", "sha1", "media_type", "size", "width", "height", "category", "baseline", "created_at"),
         ((i, uuid.UUID(int=rng.getrandbits(128)).hex * 2, uuid.UUID(int=rng.getrandbits(128)).hex, uuid.UUID(int=rng.getrandbits(128)).hex + "0" * 8,
           "image/jpeg", 100_000, 1024, 768, 1, False, when(rng)) for i in range(1, items + 1)))  # fmt: skip
    load("media_series", ("media_id", "series_id"), ((i, i % SERIES + 1) for i in range(1, items + 1)))
    load("contributions", ("id", "media_id", "agency_id", "series_id", "original_name", "contributed_at"),
         ((i, i, rng.randint(1, agencies), i % SERIES + 1, "", max(created[i % SERIES], when(rng))) for i in range(1, items + 1)))  # fmt: skip
    timings[f"{items:,} media items, series links, contributions"] = time.perf_counter() - started

    started = time.perf_counter()
    hits = min(10_000, items)
    pairs = {(rng.randint(1, agencies), rng.randint(1, SERIES)) for _ in range(50_000)}
    load("series_interest", ("agency_id", "series_id", "reason", "first_at"), ((a, s, "matched", when(rng)) for a, s in sorted(pairs)))
    load("media_signals", ("id", "media_id", "signal", "value", "quality"), ((i, i, "pdq", f"{i:064x}", 100) for i in range(1, hits + 1)))
    load("hits", ("id", "agency_id", "source", "signal", "value", "signal_id", "distance", "reference", "reported_at", "status"),
         ((i, 1, "platform", "pdq", f"{i:064x}", i, 0, f"ref-{i}", when(rng), "pending") for i in range(1, hits + 1)))  # fmt: skip
    load("investigations", ("id", "agency_id", "series_id", "case_reference", "contact", "claimed_by", "started_at"),
         ((i, rng.randint(1, agencies), rng.randint(1, SERIES), f"case-{i}", "desk@example.org", "bench", when(rng)) for i in range(1, 3_001)))  # fmt: skip
    timings["interests, hits, investigations"] = time.perf_counter() - started

    started = time.perf_counter()
    vocabulary = words(random.Random(seed))  # measure() probes the same words
    rows = []
    for i in range(1, clues + 1):
        private = rng.random() < 0.2
        rows.append((i, rng.randint(1, SERIES), rng.choice(KINDS), " ".join(rng.choices(vocabulary, k=8)), rng.choice(COUNTRIES), rng.randint(1, agencies),
                     private, when(rng)))  # fmt: skip
    load("clues", ("id", "series_id", "kind", "text", "country", "confidence", "visibility", "agency_id", "author", "created_at", "updated_at"),
         ((i, s, k, t, c, 50, "agency" if p else "all", a, "bench", at, at) for i, s, k, t, c, a, p, at in rows))  # fmt: skip
    load("search_documents", ("kind", "object_id", "series_id", "agency_id", "visible_to", "clue_kind", "country", "created_at", "text"),
         (("clue", i, s, a, a if p else None, k, c, at, t) for i, s, k, t, c, a, p, at in rows))  # fmt: skip
    timings[f"{clues:,} clues with their search documents"] = time.perf_counter() - started
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
        else:
            for table, column in (("agencies", "id"), ("series", "id"), ("victims", "id"), ("media_items", "id"), ("contributions", "id"),
                                  ("media_signals", "id"), ("hits", "id"), ("investigations", "id"), ("clues", "id"), ("search_documents", "id")):  # fmt: skip
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), (SELECT max({column}) FROM {table}))")
    if engine.dialect.name == "postgresql":  # the steady state autovacuum keeps: statistics and the visibility map (index-only scans)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    return timings


def timed(action: Callable[[], object], runs: int) -> tuple[list[float], object]:
    """Milliseconds of each run after one warm-up run, and the last result."""
    result = action()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def measure(engine: sa.Engine, seed: int) -> dict[str, tuple[list[float], float]]:
    rng = random.Random(seed)
    vocabulary = words(random.Random(seed))  # the same words the clues were written with
    probes = rng.sample(vocabulary, 20)
    viewer = Actor(user_id=1, username="bench", agency_id=1)
    found: dict[str, tuple[list[float], float]] = {}
    with session_scope(engine) as session:
        for label, filters, query in (
            ("one word", SearchFilters(), None),
            ("one word, country filter", SearchFilters(country="NL"), None),
            ("two words of one clue", SearchFilters(), 2),
        ):
            times: list[float] = []
            hits = 0
            for probe in probes:
                text = probe if query is None else " ".join(_words_of_a_clue_with(session, probe)[:2])
                run, result = timed(lambda text=text, filters=filters: search(session, viewer, text, filters), 3)  # type: ignore[misc]
                times.extend(run)
                hits += len(result)  # type: ignore[arg-type]
            found[f"clue search, {label}"] = (times, hits / len(probes))
        run, figures = timed(lambda: statistics(session), 15)
        found["statistics (whole page)"] = (run, len(figures.victims_identified))  # type: ignore[attr-defined]
    return found


def _words_of_a_clue_with(session: object, word: str) -> list[str]:
    """`word` and the other words of a clue that holds it (a two-word search with results)."""
    query = sa.select(sa.text("text")).select_from(sa.text("clues")).where(sa.text("text LIKE :w")).limit(50)
    for (text,) in session.execute(query, {"w": f"%{word}%"}):  # type: ignore[attr-defined]
        if word in text.split():
            return [word, *(other for other in text.split() if other != word)]
    return [word]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--clues", type=int, default=100_000)
    parser.add_argument("--db", help="SQLite file URL, or a PostgreSQL server URL (a scratch database is made there); default: a SQLite file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    parser.add_argument("--keep", action="store_true", help="leave the catalogue (database or SQLite file) in place and print its URL (for --reuse)")
    parser.add_argument("--reuse", metavar="URL", help="measure a catalogue kept by --keep (same --items/--clues/--seed) without rebuilding it")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench_collab_"))
    scratch = admin = None
    url = args.reuse or args.db or f"sqlite:///{workdir / 'catalogue.sqlite'}"
    if url.startswith("postgresql") and not args.reuse:
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        scratch = f"mm_bench_collab_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{scratch}"')
        url = f"{url.rpartition('/')[0]}/{scratch}"
    try:
        engine = open_engine(url)
        migrate(engine)
        loading = {} if args.reuse else build(engine, args.items, args.clues, args.seed)
        results = measure(engine, args.seed)
        backend = engine.dialect.name
        engine.dispose()
    finally:
        kept = args.keep and not args.reuse
        if kept:
            print(f"Kept: --reuse {url}")
        if not (kept and url.startswith("sqlite")):
            shutil.rmtree(workdir, ignore_errors=True)
        if admin is not None:
            if not kept:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
            admin.dispose()

    load = os.getloadavg()[0]
    lines = [
        f"Load average while measuring: {load:.1f} on {os.cpu_count()} cores (a machine shared with other work; figures on an idle one are lower).",
        "",
        f"Synthetic catalogue on {backend}: {args.items:,} media items in {SERIES:,} series (one contribution each), {args.clues:,} clues, "
        f"{len(COUNTRIES)} agencies; searches as one agency (own-agency clues of others hidden), through the services the API calls.",
        "",
        "| operation | median | p95 | results (mean) | target |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, (times, count) in results.items():
        ordered = sorted(times)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        target = "500 ms" if label.startswith("statistics") else "100 ms"
        lines.append(f"| {label} | {stats_module.median(times):.1f} ms | {p95:.1f} ms | {count:g} | {target} |")
    if loading:
        lines += ["", "| loading (bulk, indexes maintained) | seconds |", "|---|---:|", *(f"| {name} | {seconds:.1f} |" for name, seconds in loading.items())]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section(f"collab-{backend}", "python -m benchmarks.bench_collab " + " ".join(argv if argv is not None else sys.argv[1:]), body)


if __name__ == "__main__":
    main()
