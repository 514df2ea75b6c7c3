"""Soak: the server under steady load for a long time, its memory sampled, to show it is flat.

Same catalogue, server and clients as bench_server.py (PostgreSQL, `--items` items, uvicorn
with `--workers` processes, `--clients` asyncio clients sending 10-hash queries with the audit
trail on). The run is cut into windows of `--window` seconds; after each, the resident memory
of the server's whole process tree (supervisor and workers, from /proc) is sampled, with the
window's requests/s, p50, p99 and errors.

"Memory flat", the criterion: after the first `--settle` minutes (caches filling: item
details, origins and indicators, up to their limits; PostgreSQL's and the allocator's pools),
the tree's RSS grows by less than 5% from the first settled sample to the last, and the
least-squares slope over the settled samples is under 1 MB per minute. A leak of one small
object per request (about 100 bytes at 300 requests/s) would show as 1.8 MB a minute.

    python -m benchmarks.bench_soak [--minutes 30] [--items 1000000] [--workers 2] [--clients 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_hostile import tree_rss
from benchmarks.bench_server import fill, fresh_database, load, request_bodies, start_server, warm_up
from benchmarks.report import write_section

GROWTH_LIMIT = 0.05
SLOPE_LIMIT_MB_PER_MIN = 1.0


def slope_per_minute(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope of (seconds, bytes) samples, in MB per minute."""
    if len(samples) < 2:
        return 0.0
    times, sizes = [t for t, _ in samples], [s for _, s in samples]
    mean_t, mean_s = statistics.fmean(times), statistics.fmean(sizes)
    denominator = sum((t - mean_t) ** 2 for t in times)
    return sum((t - mean_t) * (s - mean_s) for t, s in samples) / denominator * 60 / 1e6 if denominator else 0.0


def verdict(samples: list[tuple[float, int]], settle_seconds: float) -> tuple[bool, str]:
    settled = [(t, s) for t, s in samples if t >= settle_seconds]
    if len(settled) < 2:
        return False, "too short to judge: fewer than two samples after settling"
    growth = settled[-1][1] / settled[0][1] - 1
    slope = slope_per_minute(settled)
    flat = growth < GROWTH_LIMIT and slope < SLOPE_LIMIT_MB_PER_MIN
    return flat, (
        f"after {settle_seconds / 60:.0f} min: RSS {settled[0][1] / 1e6:,.0f} MB -> {settled[-1][1] / 1e6:,.0f} MB ({growth:+.1%}), "
        f"slope {slope:+.2f} MB/min; criterion: growth < {GROWTH_LIMIT:.0%} and slope < {SLOPE_LIMIT_MB_PER_MIN} MB/min"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--window", type=float, default=60, help="seconds per sample")
    parser.add_argument("--settle", type=float, default=5, help="minutes before memory is judged")
    parser.add_argument("--section", default="soak", help="BENCHMARKS.md section to write (another name keeps a reduced run apart)")
    args = parser.parse_args()
    url = fresh_database()
    known, pdqs, token = fill(url, args.items)
    bodies = request_bodies(known, pdqs)
    rows: list[tuple[float, int, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        port = 18710
        server = start_server(url, Path(tmp), port, True, args.workers)
        try:
            warm_up(port, token, bodies[0], args.workers)
            started = time.monotonic()
            while (elapsed := time.monotonic() - started) < args.minutes * 60:
                result = asyncio.run(load(port, token, bodies, args.clients, min(args.window, args.minutes * 60 - elapsed)))
                rows.append((time.monotonic() - started, tree_rss(server.pid), result))
                print(f"{rows[-1][0] / 60:5.1f} min  RSS {rows[-1][1] / 1e6:7,.0f} MB  {result}", file=sys.stderr, flush=True)
                if server.poll() is not None:
                    raise RuntimeError(f"the server exited with {server.returncode}")
        finally:
            server.terminate()
            server.wait(timeout=30)
    flat, why = verdict([(t, rss) for t, rss, _ in rows], args.settle * 60)
    errors = sum(int(r["errors"]) for _, _, r in rows)
    table = "\n".join(
        f"| {t / 60:.1f} | {rss / 1e6:,.0f} | {r['requests_s']:,.0f} | {r['p50_ms']:,.0f} | {r['p99_ms']:,.0f} | {r['errors']} |" for t, rss, r in rows
    )
    body = (
        f"{args.minutes:g} min at {args.clients} clients, {args.workers} worker(s), {args.items:,} items on PostgreSQL, audit on, "
        f"{os.cpu_count()} cores shared with the clients. Errors: {errors}. Memory **{'flat' if flat else 'NOT flat'}**: {why}.\n\n"
        "| minute | server RSS MB | requests/s | p50 ms | p99 ms | errors |\n|---:|---:|---:|---:|---:|---:|\n" + table
    )
    print(body)
    write_section(
        args.section,
        f"python -m benchmarks.bench_soak --minutes {args.minutes:g} --items {args.items} --workers {args.workers} --clients {args.clients} --window {args.window:g} --settle {args.settle:g}",
        body,
    )
    if not flat or errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
