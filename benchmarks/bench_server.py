"""Server hash-query throughput and latency on loopback, against 1M catalogue items on PostgreSQL.

Setup: a fresh PostgreSQL database (scripts/postgres.sh) filled in bulk with `--items` media
items, each with a SHA-256 and a PDQ hash (derived from generated pictures' hashes, 64-112 bits
flipped), one investigator account and token. The server runs in its own processes (uvicorn
with `--workers` processes, as `mediamatch serve --workers N` runs it; benchmarks/server_app.py);
clients are asyncio tasks in this process, each sending `POST /api/v1/query/hashes` with 10
hashes (5 SHA-256, half of them known; 5 PDQ) in a loop for `--seconds`.

Measured at `--clients` concurrent clients (50 and 200), with the audit trail on (every query
writes a hash-chained event) and off (the same server with the audit call replaced, in this
benchmark only: the product has no switch to turn auditing off). The clients share the
machine's cores with the server, so run it where the server would have cores of its own.

    python -m benchmarks.bench_server [--items 1000000] [--seconds 20] [--workers 1 4] [--clients 50 200] [--audit on]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import numpy as np
import sqlalchemy as sa

from benchmarks.report import write_section

REPO = Path(__file__).resolve().parents[1]
DATABASE = os.environ.get("BENCH_DATABASE", "mm_bench_server")  # one per concurrent run on a shared PostgreSQL


def fresh_database() -> str:
    admin_url = subprocess.run(["bash", str(REPO / "scripts" / "postgres.sh")], check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {DATABASE}"))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + DATABASE


def base_pdq_hashes() -> np.ndarray:
    from mediamatch.media.hashing import hash_bytes
    from mediamatch.services.samples import generated_pictures

    hashes = []
    for picture in generated_pictures(64, size=(320, 240)):
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=90)
        record = hash_bytes(buffer.getvalue(), "x.jpg")
        hashes.append(np.frombuffer(bytes.fromhex(record.value("pdq")), np.uint8))
    return np.array(hashes)


def fill(url: str, items: int) -> tuple[list[str], list[str], str]:
    """Bulk-load the catalogue; returns (known sha256 sample, pdq sample, investigator token)."""
    from mediamatch.auth.permissions import Role
    from mediamatch.auth.tokens import issue_token
    from mediamatch.auth.users import create_user
    from mediamatch.store import repo
    from mediamatch.store.db import migrate, open_engine, session_scope
    from mediamatch.store.models.catalogue import MediaItem, MediaSignal

    engine = open_engine(url)
    migrate(engine)
    rng = np.random.default_rng(5)
    base = base_pdq_hashes()
    known, pdqs = [], []
    with engine.begin() as conn:
        for start in range(0, items, 50_000):
            n = min(50_000, items - start)
            # Distinct pictures (64-112 bits from their base, as unrelated photos are ~128 apart),
            # so a query near one item matches a handful, as in a real catalogue.
            flips = rng.random((n, 256)) < rng.integers(64, 112, (n, 1)) / 256
            derived = base[rng.integers(0, len(base), n)] ^ np.packbits(flips, axis=1)
            shas = [hashlib.sha256(f"item-{start + i}".encode()).hexdigest() for i in range(n)]
            conn.execute(
                sa.insert(MediaItem),
                [
                    {
                        "id": start + i + 1,
                        "sha256": shas[i],
                        "md5": "0" * 32,
                        "sha1": "0" * 40,
                        "media_type": "image/jpeg",
                        "size": 1,
                        "category": 1,
                        "baseline": False,
                    }
                    for i in range(n)
                ],
            )
            conn.execute(sa.insert(MediaSignal), [{"media_id": start + i + 1, "signal": "sha256", "value": shas[i], "quality": None} for i in range(n)])
            conn.execute(
                sa.insert(MediaSignal), [{"media_id": start + i + 1, "signal": "pdq", "value": derived[i].tobytes().hex(), "quality": 100} for i in range(n)]
            )
            known += shas[:20]
            pdqs += [derived[i].tobytes().hex() for i in range(20)]
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('media_items', 'id'), :n)"), {"n": items})
    with session_scope(engine) as session:
        agency = repo.get_or_create_agency(session, "Bench unit", "NL")
        user = create_user(session, agency, "bench-investigator", "benchmark password 1", Role.INVESTIGATOR)
        token = issue_token(session, user, "bench", timedelta(days=1), datetime.now(timezone.utc)).plaintext
    engine.dispose()
    return known, pdqs, token


def start_server(url: str, workdir: Path, port: int, audit: bool, workers: int = 1) -> subprocess.Popen[bytes]:
    """uvicorn with `workers` processes on benchmarks/server_app.py, answering /healthz."""
    from mediamatch.store.keys import Keyring, generate_key, write_key_file

    key_file = workdir / "keys"
    if not key_file.exists():
        write_key_file(key_file, Keyring({"k1": generate_key()}, current_id="k1"))
    env = {
        **os.environ,
        "BENCH_NO_AUDIT": "0" if audit else "1",
        "MEDIAMATCH_HOME": str(workdir),
        "BENCH_DB_URL": url,
        "BENCH_BLOB_ROOT": str(workdir / "blobs"),
        "BENCH_KEY_FILE": str(key_file),
        "PYTHONPATH": os.pathsep.join([str(REPO), *sys.path]),
    }
    command = [sys.executable, "-m", "uvicorn", "benchmarks.server_app:app", "--factory", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers), "--log-level", "warning", "--backlog", "4096", "--timeout-keep-alive", "120"]
    process = subprocess.Popen(command, env=env, cwd=REPO)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("server did not start")


def warm_up(port: int, token: str, body: dict, workers: int) -> float:
    """Seconds until every worker has answered a query (each opens its own matcher: the first
    builds the PDQ index and saves it, the others load the saved file). Fresh connections are
    spread over the workers by the kernel, so enough of them reach each one."""
    started = time.perf_counter()
    for _ in range(max(1, 4 * workers)):
        httpx.post(
            f"http://127.0.0.1:{port}/api/v1/query/hashes", json=body, headers={"Authorization": f"Bearer {token}", "Connection": "close"}, timeout=900
        ).raise_for_status()
    return time.perf_counter() - started


async def load(port: int, token: str, bodies: list[dict], clients: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=60, limits=limits) as client:

        async def one_client(offset: int) -> None:
            number = offset
            while time.monotonic() < stop:
                body = bodies[number % len(bodies)]
                number += clients
                started = time.perf_counter()
                try:
                    response = await client.post("/api/v1/query/hashes", json=body)
                    if response.status_code != 200:
                        errors[f"HTTP {response.status_code}"] += 1
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1
                latencies.append(time.perf_counter() - started)

        started = time.monotonic()
        await asyncio.gather(*(one_client(i) for i in range(clients)))
        elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "requests_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "errors": sum(errors.values()),
        "error_kinds": ", ".join(f"{kind} x{count}" for kind, count in errors.items()),
        "requests": len(latencies),
    }


def request_bodies(known: list[str], pdqs: list[str], count: int = 200) -> list[dict]:
    rng = np.random.default_rng(9)
    bodies = []
    for _ in range(count):
        queries = []
        for i in range(5):
            value = known[rng.integers(len(known))] if i % 2 == 0 else hashlib.sha256(rng.bytes(8)).hexdigest()
            queries.append({"signal": "sha256", "value": value})
        for _ in range(5):
            near = bytearray(bytes.fromhex(pdqs[rng.integers(len(pdqs))]))
            for bit in rng.integers(0, 256, 8):
                near[bit // 8] ^= 1 << (bit % 8)
            queries.append({"signal": "pdq", "value": near.hex()})
        bodies.append({"queries": queries})
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, nargs="+", default=[1], help="server processes; several values are run one after another")
    parser.add_argument("--clients", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--audit", choices=["both", "on"], default="both", help="on: skip the run without auditing")
    parser.add_argument("--section", default="server", help="BENCHMARKS.md section to write (another name keeps a reduced run apart)")
    args = parser.parse_args()
    url = fresh_database()
    started = time.perf_counter()
    known, pdqs, token = fill(url, args.items)
    filled = time.perf_counter() - started
    bodies = request_bodies(known, pdqs)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for workers in args.workers:
            for audit in (True, False) if args.audit == "both" else (True,):
                port = 18700 + int(audit)
                server = start_server(url, workdir, port, audit, workers)
                try:
                    warm = warm_up(port, token, bodies[0], workers)
                    for clients in args.clients:
                        result = asyncio.run(load(port, token, bodies, clients, args.seconds))
                        rows.append((workers, audit, clients, warm, result))
                        print(workers, audit, clients, result, file=sys.stderr, flush=True)
                finally:
                    server.terminate()
                    server.wait(timeout=30)
    table = "\n".join(
        f"| {workers} | {'on' if audit else 'off'} | {clients} | {r['requests_s']:,.0f} | {r['requests_s'] * 10:,.0f} | {r['p50_ms']:,.0f} | {r['p99_ms']:,.0f} | {r['errors']} of {r['requests']:,}{' (' + r['error_kinds'] + ')' if r['errors'] else ''} | {warm:.1f} s |"
        for workers, audit, clients, warm, r in rows
    )
    on = {(workers, clients): r["requests_s"] for workers, audit, clients, _, r in rows if audit}
    off = {(workers, clients): r["requests_s"] for workers, audit, clients, _, r in rows if not audit}
    cost = ", ".join(f"{workers} worker(s), {clients} clients: {1 - on[(workers, clients)] / off[(workers, clients)]:.0%}" for workers, clients in sorted(off))
    body = (
        f"Catalogue: {args.items:,} items on PostgreSQL (bulk load {filled:.0f} s), each with SHA-256 and PDQ. "
        f"Each request: 10 hashes (5 SHA-256, about half known; 5 PDQ, radius 31). Server: uvicorn with the worker processes shown; clients "
        f"on the same machine ({os.cpu_count()} cores), {args.seconds:.0f} s per row.\n\n"
        "| workers | audit | concurrent clients | requests/s | hashes/s | p50 ms | p99 ms | errors | warm-up (first query of every worker) |\n"
        "|---:|---|---:|---:|---:|---:|---:|---|---:|\n"
        + table
        + "\n\n"
        + (f"Cost of auditing every query (throughput lost): {cost}. " if cost else "")
        + "The asyncio clients share the server's cores; at 200 clients they take much of the CPU."
    )
    print(body)
    command = f"python -m benchmarks.bench_server --items {args.items} --seconds {args.seconds:.0f} --workers {' '.join(map(str, args.workers))} --clients {' '.join(map(str, args.clients))}"
    write_section(args.section, command + (" --audit on" if args.audit == "on" else ""), body)


if __name__ == "__main__":
    main()
