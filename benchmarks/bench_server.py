"""Server hash-query throughput and latency on loopback, against 1M catalogue items on PostgreSQL.

Setup: a fresh PostgreSQL database (scripts/postgres.sh) filled in bulk with `--items` media
items, each with a SHA-256 and a PDQ hash (derived from generated pictures' hashes, 64-112 bits
flipped), one investigator account and token. The server runs in its own process (uvicorn, one
worker); clients are asyncio tasks in this process, each sending `POST /api/v1/query/hashes`
with 10 hashes (5 SHA-256, half of them known; 5 PDQ) in a loop for `--seconds`.

Measured at 50 and 200 concurrent clients, with the audit trail on (every query writes a
hash-chained event) and off (the same server with the audit call replaced, in this benchmark
only: the product has no switch to turn auditing off). Both share the 2 cores with the clients.

    python -m benchmarks.bench_server [--items 1000000] [--seconds 20]
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
LAUNCHER = """
import os, sys, uvicorn
from pathlib import Path
from mediamatch.api.app import create_app
from mediamatch.api.settings import ServerSettings
if os.environ.get("BENCH_NO_AUDIT") == "1":
    from mediamatch.api import deps
    from mediamatch.api.routes import query
    query.audit = lambda session, event: session.commit()  # the same commit, without the event
settings = ServerSettings(db_url=sys.argv[1], blob_root=Path(sys.argv[2]), key_file=Path(sys.argv[3]), requests_per_minute=10**9, secure_cookies=False)
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(sys.argv[4]), log_level="warning", backlog=4096, timeout_keep_alive=120)
"""


def fresh_database() -> str:
    admin_url = subprocess.run(["bash", str(REPO / "scripts" / "postgres.sh")], check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("DROP DATABASE IF EXISTS mm_bench_server WITH (FORCE)"))
        conn.execute(sa.text("CREATE DATABASE mm_bench_server"))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/mm_bench_server"


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


def start_server(url: str, workdir: Path, port: int, audit: bool) -> subprocess.Popen[bytes]:
    from mediamatch.store.keys import Keyring, generate_key, write_key_file

    key_file = workdir / "keys"
    if not key_file.exists():
        write_key_file(key_file, Keyring({"k1": generate_key()}, current_id="k1"))
    env = {**os.environ, "BENCH_NO_AUDIT": "0" if audit else "1", "MEDIAMATCH_HOME": str(workdir)}
    process = subprocess.Popen([sys.executable, "-c", LAUNCHER, url, str(workdir / "blobs"), str(key_file), str(port)], env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("server did not start")


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
    args = parser.parse_args()
    url = fresh_database()
    started = time.perf_counter()
    known, pdqs, token = fill(url, args.items)
    filled = time.perf_counter() - started
    bodies = request_bodies(known, pdqs)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for audit in (True, False):
            port = 18700 + int(audit)
            server = start_server(url, workdir, port, audit)
            try:
                started = time.perf_counter()
                httpx.post(
                    f"http://127.0.0.1:{port}/api/v1/query/hashes", json=bodies[0], headers={"Authorization": f"Bearer {token}"}, timeout=600
                ).raise_for_status()
                warm = time.perf_counter() - started
                for clients in (50, 200):
                    result = asyncio.run(load(port, token, bodies, clients, args.seconds))
                    rows.append((audit, clients, warm, result))
                    print(audit, clients, result, file=sys.stderr, flush=True)
            finally:
                server.terminate()
                server.wait(timeout=30)
    table = "\n".join(
        f"| {'on' if audit else 'off'} | {clients} | {r['requests_s']:,.0f} | {r['requests_s'] * 10:,.0f} | {r['p50_ms']:,.0f} | {r['p99_ms']:,.0f} | {r['errors']} of {r['requests']:,}{' (' + r['error_kinds'] + ')' if r['errors'] else ''} | {warm:.1f} s |"
        for audit, clients, warm, r in rows
    )
    on = {clients: r["requests_s"] for audit, clients, _, r in rows if audit}
    off = {clients: r["requests_s"] for audit, clients, _, r in rows if not audit}
    cost = ", ".join(f"{clients} clients: {1 - on[clients] / off[clients]:.0%}" for clients in sorted(on))
    body = (
        f"Catalogue: {args.items:,} items on PostgreSQL 15 (bulk load {filled:.0f} s), each with SHA-256 and PDQ. "
        f"Each request: 10 hashes (5 SHA-256, about half known; 5 PDQ, radius 31). Server: uvicorn, 1 process; clients "
        f"on the same 2-core machine, {args.seconds:.0f} s per row.\n\n"
        "| audit | concurrent clients | requests/s | hashes/s | p50 ms | p99 ms | errors | first query (builds the PDQ index) |\n"
        "|---|---:|---:|---:|---:|---:|---|---:|\n"
        + table
        + f"\n\nCost of auditing every query (throughput lost): {cost}. The asyncio clients run on the server's "
        "two cores; at 200 clients they take most of the CPU, so differences at that level are noise "
        "(a negative cost means the run without auditing happened to get less CPU)."
    )
    print(body)
    write_section("server", f"python -m benchmarks.bench_server --items {args.items} --seconds {args.seconds:.0f}", body)


if __name__ == "__main__":
    main()
