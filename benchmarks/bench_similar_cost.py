"""Similarity search cost, side by side in one run: per-picture extract + search + verify on one
core against a catalogue the size of a million pictures, index bytes per picture, build speed,
and triage with and without the second pass on a drive of which 90% is unknown; brute-force
matching of the same descriptors and PDQ beside it.

The million-picture catalogue is synthetic, derived from real descriptors: every catalogued
photo's CATALOGUE_POINTS strongest SIFT descriptors form a pool; a synthetic picture takes
CATALOGUE_POINTS descriptors from the pool at random, turns each by a random whole number of
SIFT orientation bins (a cyclic shift of the 8 bins in each of its 16 cells, what rotating the
patch does) and adds Gaussian noise (sigma 6, clipped to 0-255); its keypoints lie at random.
The real photos are catalogued too, so searches have true hits among the synthetic ones.

Search cost grows with the descriptors scanned per query: NPROBE lists of the inverted file.
At 1,000,000 pictures (256M descriptors) the index has MAX_LISTS lists of about 15,600
descriptors; the benchmark builds `--pictures` synthetic pictures with as many lists as keep
that list length, so each search scans what it would at a million pictures (what does not
scale the same way, the coarse quantiser's 16,384 centroids in an HNSW graph, is measured
separately and added). Brute force (an exact index) is timed on a slice and scaled linearly.

    python -m benchmarks.bench_similar_cost [--pictures 20000] [--queries 30] [--triage-files 100]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import similar_data
from benchmarks.report import write_section
from mediamatch.index.descriptors import MAX_LISTS, QUANTISER_EF, DescriptorIndex, point_ids
from mediamatch.index.faiss_files import faiss as faiss_module
from mediamatch.index.hamming import PDQIndex, hashes_from_hex
from mediamatch.index.similarity import KnownRow, search
from mediamatch.media.hashing import hash_bytes
from mediamatch.media.limits import CATALOGUE_LIMITS, Limits
from mediamatch.signals.local_features import CATALOGUE_POINTS, CATALOGUE_SIDE, QUERY_POINTS, QUERY_SIDE, FeatureSet

MILLION = 1_000_000
NOISE = 6.0


def jpeg(picture: object) -> bytes:
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90)  # type: ignore[attr-defined]
    return out.getvalue()


def synthetic(pool: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` descriptors derived from real ones (see the module docstring)."""
    chosen = pool[rng.integers(0, len(pool), count)].reshape(count, 16, 8).astype(np.float32)
    shifts = rng.integers(0, 8, count)
    turned = np.stack([np.roll(chosen[i], shifts[i], axis=1) for i in range(count)]).reshape(count, 128)
    return np.clip(turned + rng.normal(0, NOISE, turned.shape), 0, 255).astype(np.uint8)


def ms(seconds: list[float]) -> str:
    return f"{1000 * statistics.median(seconds):.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pictures", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--triage-files", type=int, default=100)
    args = parser.parse_args()
    import cv2

    cv2.setNumThreads(1)  # one core, as a triage worker runs
    faiss = faiss_module()
    rng = np.random.default_rng(7)
    data = similar_data.build(per_edit=args.queries, scenes=10, negatives=args.triage_files, low_detail=5)
    photos = {name: jpeg(picture) for name, picture in data.catalogue.items() if name.startswith("photo-")}

    # Build: extract (decode + hashes + SIFT) as `db add` does, per picture, one core.
    extract_catalogue, plain_hash, features = [], [], {}
    for name, data_bytes in photos.items():
        tick = time.perf_counter()
        hash_bytes(data_bytes, name, Limits())
        plain_hash.append(time.perf_counter() - tick)
        tick = time.perf_counter()
        record = hash_bytes(data_bytes, name, CATALOGUE_LIMITS)
        extract_catalogue.append(time.perf_counter() - tick)
        features[name] = FeatureSet.from_bytes(record.features[0].data).strongest(CATALOGUE_POINTS)
    real = list(features.values())
    pool = np.concatenate([f.descriptors for f in real])

    # The synthetic catalogue, with lists as long as a million pictures' index has.
    total = (args.pictures + len(real)) * CATALOGUE_POINTS
    lists = max(16, round(total / (MILLION * CATALOGUE_POINTS / MAX_LISTS)))
    factory = f"IVF{lists}_HNSW32,PQ32x4fs"  # as index/descriptors.py factory_for builds it
    index = faiss.index_factory(128, factory)
    index.by_residual = False
    tick = time.perf_counter()
    index.train(np.concatenate([pool, synthetic(pool, 150_000, rng)]).astype(np.float32))
    train_seconds = time.perf_counter() - tick
    rows = {row: KnownRow(row, None, f) for row, f in enumerate(real)}
    index.add_with_ids(pool.astype(np.float32), point_ids(np.arange(len(real)), np.array([len(f) for f in real])))
    add_seconds, added = 0.0, 0
    for start in range(0, args.pictures, 2000):
        count = min(2000, args.pictures - start)
        vectors = synthetic(pool, count * CATALOGUE_POINTS, rng).astype(np.float32)
        ids = point_ids(np.arange(len(real) + start, len(real) + start + count), np.full(count, CATALOGUE_POINTS))
        tick = time.perf_counter()
        index.add_with_ids(vectors, ids)
        add_seconds += time.perf_counter() - tick
        added += count
        for row in range(len(real) + start, len(real) + start + count):
            rows[row] = KnownRow(row, None, FeatureSet(640, 480, rng.uniform(0, 480, (CATALOGUE_POINTS, 2)).astype(np.float32), np.zeros((0, 128), np.uint8)))
    catalogue = DescriptorIndex(index, len(pool))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "index"
        catalogue.save(path)
        bytes_per_picture = path.stat().st_size / (args.pictures + len(real))

    # The coarse quantiser of a million-picture index: an HNSW graph of MAX_LISTS centroids.
    quantiser = faiss.IndexHNSWFlat(128, 32)
    quantiser.add(synthetic(pool, MAX_LISTS, rng).astype(np.float32))
    quantiser.hnsw.efSearch = QUANTISER_EF

    # Per query: extract, search + verify, against the synthetic catalogue.
    copies = [(name, jpeg(picture)) for edit in ("crop25", "rotate10", "pasted40") for name, picture in data.queries[edit]]
    # Never-catalogued photos beside the copies: most searched pictures are unknown, and an
    # unknown picture costs most (every candidate is verified, none ends the search).
    queries = copies + [("", jpeg(picture)) for picture in data.negatives[: len(copies)]]
    names = list(features)
    extract, search_verify, quantise, found = [], [], [], 0
    for expected, data_bytes in queries:
        tick = time.perf_counter()
        record = hash_bytes(data_bytes, expected, Limits(dihedral=True, local_features=True))
        extract.append(time.perf_counter() - tick)
        query = FeatureSet.from_bytes(record.features[0].data)
        tick = time.perf_counter()
        hits = search(catalogue, query, lambda wanted: {row: rows[row] for row in wanted})
        search_verify.append(time.perf_counter() - tick)
        tick = time.perf_counter()
        quantiser.search(query.descriptors.astype(np.float32), 16)
        quantise.append(time.perf_counter() - tick)
        found += any(hit.row < len(names) and names[hit.row] == expected for hit in hits)

    # Brute force of the same descriptors: an exact scan of a slice, scaled to a million pictures.
    exact = faiss.IndexFlatL2(128)
    exact.add(synthetic(pool, 200_000, rng).astype(np.float32))
    probe = FeatureSet.from_bytes(hash_bytes(queries[0][1], "q", Limits(local_features=True)).features[0].data)
    tick = time.perf_counter()
    exact.search(probe.descriptors.astype(np.float32), 2)
    brute_per_million = (time.perf_counter() - tick) * MILLION * CATALOGUE_POINTS / 200_000

    # PDQ: the 8 dihedral hashes of a picture against a million catalogued hashes.
    pdq = PDQIndex.from_arrays(np.arange(MILLION, dtype=np.int64), rng.integers(0, 256, (MILLION, 32), dtype=np.uint8))
    variants = hashes_from_hex(list(hash_bytes(queries[0][1], "q", Limits(dihedral=True)).variants["pdq"]))
    pdq_seconds = []
    for _ in range(20):
        tick = time.perf_counter()
        pdq.search_many(variants, radius=31)
        pdq_seconds.append(time.perf_counter() - tick)

    drive = dict(list(photos.items())[: args.triage_files])
    triage_lines = [triage_speed(data, drive, args.triage_files), triage_speed(data, drive, args.triage_files, camera=True)]
    per_picture = [e + s + q for e, s, q in zip(extract, search_verify, quantise)]
    build_per_second = 1 / (statistics.median(extract_catalogue) + add_seconds / added)
    body = "\n".join(
        [
            f"Synthetic catalogue: {args.pictures:,} pictures + {len(real)} real photos, {index.ntotal:,} descriptors, {factory} "
            f"(lists as long as {MAX_LISTS:,} lists over 1,000,000 pictures: {index.ntotal / lists:,.0f} descriptors each); "
            f"{len(queries)} queries: {len(copies)} copies (25% crops, 10° rotations, pasted at 40%), {found} of them found among the synthetic pictures, "
            f"and {len(queries) - len(copies)} never-catalogued photos.",
            "",
            "| per picture, one core | median ms | target |",
            "|---|---|---|",
            f"| hashes only (decode, digests, PDQ + 8 variants): today's triage | {ms(plain_hash)} | |",
            f"| extract: decode + hashes + SIFT ({QUERY_POINTS:,} points at {QUERY_SIDE} px) | {ms(extract)} | |",
            f"| search + verify, lists of a 1M-picture index | {ms(search_verify)} | |",
            f"| coarse quantiser of a 1M-picture index (HNSW over {MAX_LISTS:,} centroids) | {ms(quantise)} | |",
            f"| **extract + search + verify at 1M pictures** | **{ms(per_picture)}** | 150 |",
            f"| brute force: exact scan of the same descriptors, 1M pictures (scaled from 200k descriptors) | {1000 * brute_per_million:,.0f} | |",
            f"| PDQ: 8 dihedral hashes against 1M hashes (radius 31) | {ms(pdq_seconds)} | |",
            "",
            f"Index size: {bytes_per_picture:,.0f} bytes per catalogued picture ({CATALOGUE_POINTS} descriptors x (16-byte code + 8-byte id) + lists) (target 8,192).",
            f"Build: {build_per_second:.1f} pictures/s/core (extract: decode + hashes + SIFT ({CATALOGUE_POINTS} points at {CATALOGUE_SIDE} px) {ms(extract_catalogue)} ms + index add {1000 * add_seconds / added:.2f} ms per picture; "
            f"training the codebooks once: {train_seconds:.0f} s) (target 30).",
            "",
            "Triage of a drive, 90% of its files unknown, one worker, against a catalogue of the same number of photos (best of two runs each):",
            "",
            "| drive | files/s without the second pass | with it | ratio | target |",
            "|---|---|---|---|---|",
            *triage_lines,
        ]
    )
    print(body)
    write_section("similar-cost", "python -m benchmarks.bench_similar_cost " + " ".join(sys.argv[1:]), "### Similarity search: cost\n\n" + body)


CAMERA = (4032, 3024)  # a phone camera's 12 MP


def camera_jpeg(picture: object, seed: int) -> bytes:
    """`picture` as a phone camera would store it: 12 MP with sensor noise, JPEG quality 92 (its
    decoding costs what a real one's does; an upscaled picture without noise decodes faster)."""
    from PIL import Image

    big = np.asarray(picture.convert("RGB").resize(CAMERA, Image.Resampling.BILINEAR), np.float32)  # type: ignore[attr-defined]
    noisy = np.clip(big + np.random.default_rng(seed).normal(0, 3, (*big.shape[:2], 1)), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(noisy).save(out, "JPEG", quality=92)
    return out.getvalue()


def triage_speed(data: similar_data.Dataset, photos: dict[str, bytes], files: int, *, camera: bool = False) -> str:
    """Triage (one worker) of a drive where 90% of the files are unknown, with and without the
    second pass, against a catalogue of the photos; `camera`: every file a 12 MP camera JPEG."""
    from mediamatch.services.contribute import ContributionRequest, contribute
    from mediamatch.services.triage import triage
    from mediamatch.store.db import migrate, open_engine

    if camera:
        from PIL import Image

        photos = {name: camera_jpeg(Image.open(io.BytesIO(data_bytes)), number) for number, (name, data_bytes) in enumerate(photos.items())}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "known").mkdir()
        (root / "drive").mkdir()
        for name, data_bytes in photos.items():
            (root / "known" / f"{name}.jpg").write_bytes(data_bytes)
        engine = open_engine(f"sqlite:///{root / 'catalogue.sqlite'}")
        migrate(engine)
        contribute(engine, sorted((root / "known").iterdir()), ContributionRequest(series="Bench"), workers=1)
        known = list(photos.items())[: files // 10]
        for name, data_bytes in known:
            (root / "drive" / f"known-{name}.jpg").write_bytes(data_bytes)
        for number, picture in enumerate(data.negatives[: files - len(known)]):
            (root / "drive" / f"unknown-{number}.jpg").write_bytes(camera_jpeg(picture, 1000 + number) if camera else jpeg(picture))
        seconds: dict[bool, float] = {False: float("inf"), True: float("inf")}
        for attempt in range(2):  # alternate, best of two: a busy moment of the machine hits both
            for similar in (False, True):
                tick = time.perf_counter()
                triage(root / "drive", root / f"out-{similar}-{attempt}", engine, workers=1, similar=similar)
                seconds[similar] = min(seconds[similar], time.perf_counter() - tick)
        engine.dispose()
    count = len(list(data.negatives[: files - len(known)])) + len(known)
    kind = "12 MP camera JPEGs" if camera else "pictures of at most 1024 px"
    return f"| {count} {kind} | {count / seconds[False]:.1f} | {count / seconds[True]:.1f} | **{seconds[False] / seconds[True]:.2f}** | 0.33 |"


if __name__ == "__main__":
    main()
