"""Exchange benchmark: reading a Project VIC hash set streamed versus whole, and importing it
into and exporting it from the catalogue.

Run: `python -m benchmarks.bench_exchange [--records 200000] [--db URL]`

The reference for reading is what the Python VIC tools in the code index do: `json.load` of the
whole document (one says so outright: "Large files (tens of MB) load fully into memory"). Both
readers run in a fresh process each, over the same generated VICS 2.0 hash set (MD5, SHA-1,
PhotoDNA on every third record, a series, flags as strings, upper-case hex as distributed);
memory is the growth of that process's peak RSS while reading, with every module imported.

Import and export run against a new catalogue (`--db`, default a SQLite file in a temporary
folder): a first import (every record a new hash-only item), the same file again by another
agency (every record merges into its item), and an export in each format.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import write_section
from mediamatch.exchange.records import Format
from mediamatch.services.exchange import ExportRequest, ImportRequest, export_file, import_file
from mediamatch.store.db import migrate, open_engine

CONTEXT = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"

# Peak RSS is read from /proc (VmHWM): getrusage's ru_maxrss survives exec, so a child started
# by a large parent would report the parent's peak.
READ = """
import json, sys, time
from mediamatch.exchange.vics import read_vics

def peak_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

path, how = sys.argv[1], sys.argv[2]
before = peak_kib()
started = time.perf_counter()
if how == "ours":
    with open(path, "rb") as stream:
        count = sum(1 for _ in read_vics(stream))
else:
    with open(path, encoding="utf-8-sig") as stream:
        count = len(json.load(stream)["value"])
elapsed = time.perf_counter() - started
print(json.dumps({"count": count, "seconds": elapsed, "rss_kib": peak_kib() - before}))
"""


def hash_set(path: Path, records: int, seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps({"@odata.context": CONTEXT})[:-1] + ', "value": [')
        for n in range(records):
            media = {
                "MediaID": n + 1, "Category": rng.randrange(5), "MD5": f"{rng.getrandbits(128):032X}", "SHA1": f"{rng.getrandbits(160):040X}",
                "MediaSize": rng.randrange(1, 1 << 24), "DateUpdated": "2025-01-02T03:04:05Z", "IsPrecategorized": "false",
                "VictimIdentified": "true" if n % 7 == 0 else "false", "IsDistributed": "true", "Series": f"Series {n % 500}",
            }  # fmt: skip
            if n % 3 == 0:
                media["PhotoDNA"] = base64.b64encode(rng.randbytes(144)).decode("ascii")
            out.write(("," if n else "") + "\n" + json.dumps(media))
        out.write("\n]}\n")


def read_in_fresh_process(path: Path, how: str) -> dict[str, float]:
    result = subprocess.run([sys.executable, "-c", READ, str(path), how], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def timed(action):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000, help="Media records in the hash set")
    parser.add_argument("--db", help="catalogue URL (default: a new SQLite file)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bench_exchange_"))
    try:
        source = workdir / "hashset.json"
        hash_set(source, args.records, args.seed)
        ours, reference = read_in_fresh_process(source, "ours"), read_in_fresh_process(source, "json.load")
        assert ours["count"] == reference["count"] == args.records
        engine = open_engine(args.db or f"sqlite:///{workdir / 'catalogue.sqlite'}")
        migrate(engine)
        first, first_s = timed(lambda: import_file(engine, source, Format.VICS, ImportRequest(agency="A")))
        again, again_s = timed(lambda: import_file(engine, source, Format.VICS, ImportRequest(agency="B")))
        assert (first.imported, again.merged, first.error_count + again.error_count) == (args.records, args.records, 0)
        exports = {}
        for fmt in Format:
            summary, seconds = timed(lambda fmt=fmt: export_file(engine, workdir / f"out.{fmt}", ExportRequest(format=fmt)))
            exports[fmt] = (summary.written, seconds, (workdir / f"out.{fmt}").stat().st_size)
        backend = engine.dialect.name
        engine.dispose()
        size = source.stat().st_size
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    def mib(n: float) -> str:
        return f"{n / 2**20:.1f} MiB"

    body = "\n".join([
        f"A generated VICS 2.0 hash set of {args.records:,} records ({mib(size)}); catalogue on {backend}.",
        "",
        "| reading the hash set | mediamatch (ijson, streamed; checks and converts every record) | `json.load` of the whole file | mediamatch / json.load |",
        "|---|---:|---:|---:|",
        f"| time | {ours['seconds']:.2f} s | {reference['seconds']:.2f} s | {ours['seconds'] / reference['seconds']:.1f}x |",
        f"| peak memory growth | {mib(ours['rss_kib'] * 1024)} | {mib(reference['rss_kib'] * 1024)} | {ours['rss_kib'] / max(reference['rss_kib'], 1):.3f}x |",
        "",
        "| into and out of the catalogue | time | records/s |",
        "|---|---:|---:|",
        f"| import, every record a new hash-only item | {first_s:.1f} s | {args.records / first_s:,.0f} |",
        f"| import again by another agency, every record merging into its item | {again_s:.1f} s | {args.records / again_s:,.0f} |",
        *(f"| export {fmt} ({mib(nbytes)}) | {seconds:.1f} s | {written / seconds:,.0f} |" for fmt, (written, seconds, nbytes) in exports.items()),
        "",
        (
            "- Reading is streamed so memory stays flat however large the set; json.load's grows with the file (about 4x its size). "
            "Import works in batches of 500 records per transaction: one query finds the items their digests name, one reads those items' signals, "
            "and new items, signals, contributions and series links are each written in one bulk insert."
        ),
    ])  # fmt: skip
    print(body)
    if not args.no_write:
        write_section("exchange", "python -m benchmarks.bench_exchange " + " ".join(argv if argv is not None else sys.argv[1:]), body)


if __name__ == "__main__":
    main()
