"""Triage throughput: 10,000 generated benign JPEGs against a catalogue of 1M PDQ hashes.

The catalogue is filled in bulk (SQLAlchemy Core, not one contribution at a time): 1M media
items whose PDQ hashes are derived from the generated pictures' own hashes by flipping 20-60
bits (crowded buckets, as a catalogue of edited copies has), plus exact entries for 5% of the
seized files so the known path is exercised. The seized folder is 10,000 JPEGs (640x480, q 85)
drawn from 250 generated scenes, each file shifted, tinted and re-encoded so no two share bytes.

Reported: end-to-end files/s of `triage()` (hash + match + save rows) with 1 and 2 workers,
report writing time, and the share of one file's time spent in decode, hash (digests + PDQ),
match and write, measured stage by stage on the same files in one process.

    python -m benchmarks.bench_triage [--files 10000] [--catalogue 1000000]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from PIL import Image

from benchmarks.report import write_section
from mediamatch.media.hashing import hash_bytes
from mediamatch.media.image import decode_luma
from mediamatch.media.limits import DEFAULT_LIMITS
from mediamatch.services.matching import CatalogueMatcher
from mediamatch.services.samples import generated_picture
from mediamatch.services.triage import STATE_FILE, TriageState, row_from, triage
from mediamatch.services.triage_report import write_reports
from mediamatch.signals.pdq import pdq_dihedral_from_luma
from mediamatch.store.db import migrate, open_engine
from mediamatch.store.models.catalogue import MediaItem, MediaSignal

SCENES = 250


def make_seized(folder: Path, count: int) -> list[Path]:
    rng = np.random.default_rng(3)
    scenes = [np.asarray(generated_picture(seed, (700, 530)), dtype=np.int16) for seed in range(SCENES)]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(count):
        scene = scenes[number % SCENES]
        dx, dy = rng.integers(0, 60), rng.integers(0, 50)
        tint = rng.integers(-12, 12, 3)
        pixels = np.clip(scene[dy : dy + 480, dx : dx + 640] + tint, 0, 255).astype(np.uint8)
        path = folder / f"{number // 1000:02d}" / f"IMG_{number:05d}.jpg"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(pixels).save(path, "JPEG", quality=85)
        paths.append(path)
    return paths


def fill_catalogue(engine: sa.Engine, paths: list[Path], size: int) -> None:
    """`size` items with derived PDQ hashes, plus exact copies of 5% of the seized files."""
    rng = np.random.default_rng(11)
    seeds = [hash_bytes(path.read_bytes(), path.name) for path in paths[:SCENES]]
    base = np.array([np.frombuffer(bytes.fromhex(record.value("pdq")), np.uint8) for record in seeds if record.value("pdq")])
    known = [hash_bytes(path.read_bytes(), path.name) for path in paths[::20]]
    with engine.begin() as conn:
        start = 0
        batch = 50_000
        while start < size:
            n = min(batch, size - start)
            flips = rng.random((n, 256)) < rng.integers(20, 60, (n, 1)) / 256
            derived = base[rng.integers(0, len(base), n)] ^ np.packbits(flips, axis=1)
            items = [
                {"id": start + i + 1, "sha256": hashlib.sha256(f"item{start + i}".encode()).hexdigest(), "md5": "0" * 32, "sha1": "0" * 40,
                 "media_type": "image/jpeg", "size": 100_000, "category": 1, "baseline": False}
                for i in range(n)
            ]  # fmt: skip
            conn.execute(sa.insert(MediaItem), items)
            conn.execute(
                sa.insert(MediaSignal), [{"media_id": start + i + 1, "signal": "pdq", "value": derived[i].tobytes().hex(), "quality": 100} for i in range(n)]
            )
            start += n
        for offset, record in enumerate(known):
            media_id = size + offset + 1
            conn.execute(
                sa.insert(MediaItem),
                [
                    {
                        "id": media_id,
                        "sha256": record.value("sha256"),
                        "md5": record.value("md5"),
                        "sha1": record.value("sha1"),
                        "media_type": "image/jpeg",
                        "size": record.size,
                        "category": 1,
                        "baseline": False,
                    }
                ],
            )
            conn.execute(sa.insert(MediaSignal), [
                {"media_id": media_id, "signal": "sha256", "value": record.value("sha256"), "quality": None},
                {"media_id": media_id, "signal": "md5", "value": record.value("md5"), "quality": None},
                {"media_id": media_id, "signal": "pdq", "value": record.value("pdq"), "quality": record.quality("pdq")},
            ])  # fmt: skip


def stage_shares(paths: list[Path], matcher: CatalogueMatcher, out: Path) -> dict[str, float]:
    """Seconds per file in each stage, measured separately on the same files."""
    sample = paths[:1000]
    blobs = [path.read_bytes() for path in sample]
    started = time.perf_counter()
    lumas = [decode_luma(data).luma for data in blobs]
    decode = time.perf_counter() - started
    started = time.perf_counter()
    for data, luma in zip(blobs, lumas):
        hashlib.md5(data).digest(), hashlib.sha1(data).digest(), hashlib.sha256(data).digest()
        pdq_dihedral_from_luma(luma)
    hashing = time.perf_counter() - started
    limits = replace(DEFAULT_LIMITS, dihedral=True)
    records = [hash_bytes(data, path.name, limits) for data, path in zip(blobs, sample)]
    started = time.perf_counter()
    matches = []
    for start in range(0, len(records), 64):
        matches += matcher.match(records[start : start + 64])
    match = time.perf_counter() - started
    state = TriageState(out / "stage-state.sqlite")
    rows = [row_from(number, path.name, record, found) for number, (path, record, found) in enumerate(zip(sample, records, matches))]
    started = time.perf_counter()
    for start in range(0, len(rows), 256):
        state.save(rows[start : start + 256])
    write = time.perf_counter() - started
    state.close()
    return {name: seconds / len(sample) for name, seconds in (("decode", decode), ("hash", hashing), ("match", match), ("write", write))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--catalogue", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        paths = make_seized(root / "seized", args.files)
        made = time.perf_counter() - started
        url = f"sqlite:///{root / 'catalogue.sqlite'}"
        engine = open_engine(url)
        migrate(engine)
        started = time.perf_counter()
        fill_catalogue(engine, paths, args.catalogue)
        filled = time.perf_counter() - started
        started = time.perf_counter()
        CatalogueMatcher.open(engine)  # builds and saves the index
        index_build = time.perf_counter() - started
        started = time.perf_counter()
        matcher = CatalogueMatcher.open(engine)  # as every later triage starts: load the saved index
        index_load = time.perf_counter() - started

        runs = []
        for workers in (1, 2):
            out = root / f"out-{workers}"
            started = time.perf_counter()
            summary = triage(root / "seized", out, engine, workers=workers, matcher=matcher)
            elapsed = time.perf_counter() - started
            state = TriageState(out / STATE_FILE)
            started = time.perf_counter()
            write_reports(state, out)
            report_time = time.perf_counter() - started
            state.close()
            runs.append((workers, summary.total / elapsed, summary.counts, report_time))
            shutil.rmtree(out)
        shares = stage_shares(paths, matcher, root)
    total = sum(shares.values())
    rows = "\n".join(
        f"| {workers} | {rate:,.0f} | {counts['known_identified'] + counts['known_unidentified']:,} known, {counts['new']:,} new, {counts['error']:,} errors | {report:.1f} s |"
        for workers, rate, counts, report in runs
    )
    body = (
        f"{args.files:,} generated JPEGs (640x480) against a SQLite catalogue of {args.catalogue:,} PDQ hashes "
        f"(+{len(paths[::20]):,} exact entries). Setup: pictures {made:.0f} s, catalogue fill {filled:.0f} s, "
        f"PDQ index build + save {index_build:.1f} s, load of the saved index {index_load:.2f} s.\n\n"
        "| workers | files/s (hash + match + save) | result | reports (json, csv, html) |\n|---|---:|---|---:|\n" + rows + "\n\n"
        "Share of one file's time by stage (measured stage by stage on 1,000 files, one process):\n\n"
        "| decode | hash (MD5+SHA-1+SHA-256+PDQ x 8 dihedral) | match (exact + PDQ radius 31 x 8) | write (state rows) |\n|---:|---:|---:|---:|\n"
        + "| "
        + " | ".join(f"{shares[name] / total:.0%} ({shares[name] * 1000:.2f} ms)" for name in ("decode", "hash", "match", "write"))
        + " |"
    )
    print(body)
    write_section("triage", f"python -m benchmarks.bench_triage --files {args.files} --catalogue {args.catalogue}", body)


if __name__ == "__main__":
    main()
