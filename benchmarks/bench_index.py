"""PDQ index benchmark: our multi-index-hashing PDQIndex beside FAISS's brute-force binary index.

Run: `python -m benchmarks.bench_index [--sizes 1000000,10000000] [--queries 1000]`

Why these data: uniform random hashes flatter multi-index hashing (every 16-bit bucket holds
n / 65536 rows). Real catalogues hold many edited copies of the same pictures, so here the
stored hashes are derived from real PDQ hashes of the benign photos in ../shared/testdata
(generated images when absent) by flipping bits (each derived hash flips each bit with
probability k/256, k drawn from 20..60), which makes crowded buckets. Queries are half fresh
edits of those photos (k 8..40) and half hashes of unrelated pictures; each query gets planted
copies at exactly 1..31 bits (must be found) and 32 bits (must not be).

Why FAISS IndexBinaryFlat: it is the exact brute-force baseline most projects would reach for;
`range_search(x, 32)` returns distances < 32, i.e. <= 31, the PDQ threshold. Its recall is
exact by construction; ours is checked against a separate numpy popcount scan.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.report import write_section
from mediamatch.index.hamming import HASH_BYTES, MAX_RADIUS, PDQIndex, hashes_from_hex
from mediamatch.index.persist import load_index, save_index

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "photos"
RADIUS = MAX_RADIUS
FAISS_QUERY_BUDGET_S = 60.0  # FAISS scans every hash per query: cap its query count to this


def rss_bytes() -> int:
    """Resident set size of this process now (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


# --- data --------------------------------------------------------------------------------


def base_hashes(limit: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Real PDQ hashes (quality >= 50) of benign photos, else of generated images."""
    from mediamatch.media.hashing import hash_many

    paths = sorted(PHOTOS.glob("*.jpg"))[:limit] if PHOTOS.is_dir() else []
    if paths:
        hexes = [r.value("pdq") for r in hash_many(paths) if r.value("pdq") and (r.quality("pdq") or 0) >= 50]
        return hashes_from_hex(hexes), f"{len(hexes)} PDQ hashes of photos in ../shared/testdata/photos"
    import io

    from PIL import Image

    from mediamatch.media.hashing import hash_bytes

    hexes = []
    for _ in range(min(limit, 64)):  # smooth random images: low-frequency noise, upscaled
        small = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).resize((256, 256), Image.BICUBIC)
        out = io.BytesIO()
        small.save(out, "PNG")
        record = hash_bytes(out.getvalue(), "generated.png")
        if record.value("pdq"):
            hexes.append(record.value("pdq"))
    return hashes_from_hex(hexes), f"{len(hexes)} PDQ hashes of generated images (test data absent)"


def flip_with_probability(rng: np.random.Generator, rows: np.ndarray, low: int, high: int) -> np.ndarray:
    """Each row with each bit flipped with probability k/256, k uniform in low..high per row."""
    p = rng.integers(low, high + 1, size=len(rows)).astype(np.float32) / 256
    mask = np.packbits(rng.random((len(rows), 256), dtype=np.float32) < p[:, None], axis=1)
    return rows ^ mask


def flip_exactly(rng: np.random.Generator, rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Each row with exactly counts[i] distinct bits flipped."""
    ranks = np.argsort(rng.random((len(rows), 256)), axis=1)
    mask = np.packbits(ranks < counts[:, None], axis=1)
    return rows ^ mask


def derived_store(size: int, bases: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`size` hashes derived from `bases`, built in 250k-row batches to bound memory."""
    out = np.empty((size, HASH_BYTES), np.uint8)
    for start in range(0, size, 250_000):
        stop = min(size, start + 250_000)
        parents = bases[rng.integers(0, len(bases), stop - start)]
        out[start:stop] = flip_with_probability(rng, parents, 20, 60)
    return out


def catalogue_store(size: int, bases: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A catalogue-shaped store: distinct pictures (real hashes with 64..112 bits flipped, so two
    pictures sit ~100-128 bits apart as unrelated photos do) and, for 60% of the rows, edited
    copies of those pictures (4..24 bits from their picture): 1.5 copies per picture on average."""
    pictures = max(1, size * 2 // 5)
    out = np.empty((size, HASH_BYTES), np.uint8)
    for start in range(0, pictures, 250_000):
        stop = min(pictures, start + 250_000)
        out[start:stop] = flip_with_probability(rng, bases[rng.integers(0, len(bases), stop - start)], 64, 112)
    for start in range(pictures, size, 250_000):
        stop = min(size, start + 250_000)
        out[start:stop] = flip_with_probability(rng, out[rng.integers(0, pictures, stop - start)], 4, 24)
    return out


def make_queries(count: int, bases: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Half edits of the known photos (k 8..40), half unrelated pictures (~128 bits away)."""
    edits = flip_with_probability(rng, bases[rng.integers(0, len(bases), count - count // 2)], 8, 40)
    others = flip_with_probability(rng, bases[rng.integers(0, len(bases), count // 2)], 128, 128)
    return np.concatenate([edits, others])


def plant(queries: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each query, copies at exactly 1..31 and 32 bits: (queries * 32, 32)."""
    repeated = np.repeat(queries, 32, axis=0)
    counts = np.tile(np.arange(1, 33), len(queries))
    return flip_exactly(rng, repeated, counts)


# --- measurements -----------------------------------------------------------------------


def brute_force(hashes: np.ndarray, query: np.ndarray) -> set[tuple[int, int]]:
    """(row, distance) of every hash within RADIUS, by popcount over all of them."""
    xor = np.bitwise_xor(hashes.view(np.uint64), query.view(np.uint64))
    dist = np.bitwise_count(xor).sum(axis=1, dtype=np.int32)
    rows = np.flatnonzero(dist <= RADIUS)
    return {(int(r), int(dist[r])) for r in rows}


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def bench_ours(hashes: np.ndarray, queries: np.ndarray, workdir: Path) -> dict[str, object]:
    ids = np.arange(len(hashes), dtype=np.int64)  # id == row, so results compare with FAISS labels
    gc.collect()
    rss0 = rss_bytes()
    index, build_s = timed(lambda: PDQIndex.from_arrays(ids, hashes))
    rss_delta = rss_bytes() - rss0
    table_bytes = sum(getattr(index, n).nbytes for n in ("ids", "hashes", "order", "offsets"))

    path = workdir / "pdq.idx"
    _, save_s = timed(lambda: save_index(index, path))
    loaded, load_s = timed(lambda: load_index(path))
    warm = min(100, len(queries))
    _, first_s = timed(lambda: loaded.search_many(queries[:warm]))  # noqa: F821 - pages the mapped file in (the `del` below confuses the linter)

    single, single_s = timed(lambda: [index.search(q) for q in queries])
    batched, batched_s = timed(lambda: index.search_many(queries))
    assert batched == single
    assert loaded.search_many(queries[:warm]) == single[:warm]
    del loaded
    return {
        "build_s": build_s,
        "save_s": save_s,
        "load_s": load_s,
        "first_s": first_s,
        "first_n": warm,
        "file_bytes": path.stat().st_size,
        "table_bytes": table_bytes,
        "rss_delta": rss_delta,
        "single_qps": len(queries) / single_s,
        "batched_qps": len(queries) / batched_s,
        "results": single,
        "index": index,
    }


def faiss_queries(index: object, queries: np.ndarray, threads: int, max_queries: int | None) -> dict[str, object]:
    """Single and batched range search at `threads` OpenMP threads, within the time budget."""
    import faiss

    faiss.omp_set_num_threads(threads)
    _, probe_s = timed(lambda: index.range_search(queries[:2], RADIUS + 1))  # sizes the run
    count = len(queries) if max_queries is None else min(len(queries), max_queries)
    count = max(2, min(count, int(FAISS_QUERY_BUDGET_S / 2 / max(probe_s / 2, 1e-6))))
    subset = queries[:count]

    def ranked(labels: np.ndarray, dist: np.ndarray) -> list[tuple[int, int]]:
        return sorted(zip(labels.tolist(), dist.tolist()), key=lambda pair: (pair[1], pair[0]))

    def single() -> list[list[tuple[int, int]]]:
        out = []
        for q in subset:
            _, dist, labels = index.range_search(q[None, :], RADIUS + 1)
            out.append(ranked(labels, dist))
        return out

    def batched() -> list[list[tuple[int, int]]]:
        lims, dist, labels = index.range_search(subset, RADIUS + 1)
        return [ranked(labels[lims[i] : lims[i + 1]], dist[lims[i] : lims[i + 1]]) for i in range(len(subset))]

    single_results, single_s = timed(single)
    batched_results, batched_s = timed(batched)
    assert batched_results == single_results
    return {"threads": threads, "queries": count, "single_qps": count / single_s, "batched_qps": count / batched_s, "results": single_results}


def bench_faiss(hashes: np.ndarray, queries: np.ndarray, workdir: Path, max_queries: int | None) -> dict[str, object]:
    import faiss

    gc.collect()
    rss0 = rss_bytes()
    index = faiss.IndexBinaryFlat(HASH_BYTES * 8)
    _, build_s = timed(lambda: index.add(hashes))
    rss_delta = rss_bytes() - rss0
    path = str(workdir / "faiss.idx")
    _, save_s = timed(lambda: faiss.write_index_binary(index, path))
    _, load_s = timed(lambda: faiss.read_index_binary(path))
    cores = os.cpu_count() or 1
    modes = [faiss_queries(index, queries, threads, max_queries) for threads in sorted({1, cores})]
    return {
        "build_s": build_s,
        "save_s": save_s,
        "load_s": load_s,
        "rss_delta": rss_delta,
        "code_bytes": index.ntotal * index.code_size,
        "modes": modes,
    }


def run_size(data: str, size: int, bases: np.ndarray, n_queries: int, check: int, faiss_max: int | None, rng: np.random.Generator) -> dict[str, object]:
    if data == "derived":
        queries = make_queries(n_queries, bases, rng)
        planted = plant(queries, rng)
        hashes = derived_store(size - len(planted), bases, rng)
    elif data == "catalogue":  # half edits of stored pictures, half pictures it does not hold
        hashes = catalogue_store(size - n_queries * 32, bases, rng)
        edits = flip_with_probability(rng, hashes[rng.integers(0, len(hashes) * 2 // 5, n_queries - n_queries // 2)], 8, 24)
        others = flip_with_probability(rng, bases[rng.integers(0, len(bases), n_queries // 2)], 64, 112)
        queries = np.concatenate([edits, others])
        planted = plant(queries, rng)
    else:  # uniform random hashes and queries: the spread-out case multi-index hashing is built for
        queries = rng.integers(0, 256, (n_queries, HASH_BYTES), dtype=np.uint8)
        planted = plant(queries, rng)
        hashes = rng.integers(0, 256, (size - len(planted), HASH_BYTES), dtype=np.uint8)
    hashes = np.concatenate([hashes, planted])
    perm = rng.permutation(len(hashes))  # planted copies scattered through the rows
    hashes = hashes[perm]
    planted_rows = np.empty(len(planted), np.int64)
    planted_rows[perm[perm >= size - len(planted)] - (size - len(planted))] = np.flatnonzero(perm >= size - len(planted))
    planted_rows = planted_rows.reshape(n_queries, 32)
    print(f"[{data} {size:,}] data ready, {len(hashes):,} hashes", file=sys.stderr, flush=True)

    workdir = Path(tempfile.mkdtemp(prefix="bench_index_"))
    try:
        ours = bench_ours(hashes, queries, workdir)
        print(f"[{size:,}] ours done", file=sys.stderr, flush=True)
        theirs = bench_faiss(hashes, queries, workdir, faiss_max)
        print(f"[{size:,}] faiss done", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    # Recall against an independent brute-force scan, on the first `check` queries.
    expected_total = found_total = 0
    for i in range(min(check, n_queries)):
        expected = brute_force(hashes, queries[i])
        got = set(ours["results"][i])
        assert got <= expected, f"query {i}: results outside the radius or wrong distances"
        expected_total += len(expected)
        found_total += len(got & expected)
    # Planted copies: every one at 1..31 found with its distance, none at 32 (all queries).
    planted_ok = all(
        set(zip(planted_rows[i, :31].tolist(), range(1, 32))) <= set(ours["results"][i])
        and int(planted_rows[i, 31]) not in {row for row, _ in ours["results"][i]}
        for i in range(n_queries)
    )
    faiss_agrees = all(ours["results"][: m["queries"]] == m["results"] for m in theirs["modes"])
    mean_hits = sum(len(r) for r in ours["results"]) / n_queries
    return {
        "data": data,
        "size": size,
        "queries": n_queries,
        "ours": ours,
        "faiss": theirs,
        "checked": min(check, n_queries),
        "recall": found_total / expected_total if expected_total else 1.0,
        "expected_total": expected_total,
        "planted_ok": planted_ok,
        "faiss_agrees": faiss_agrees,
        "mean_hits": mean_hits,
    }


# --- report -----------------------------------------------------------------------------


def table(runs: list[dict[str, object]]) -> str:
    lines = [
        "| data | stored hashes | index | build | save | load (+first 100 queries) | memory | queries/s single | queries/s batched | queries timed |",
        "|---|---:|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for run in runs:
        o, f = run["ours"], run["faiss"]
        lines.append(
            f"| {run['data']} | {run['size']:,} | PDQIndex (MIH): single 1 thread, batched {os.cpu_count()} threads | {o['build_s']:.2f} s | {o['save_s']:.2f} s | "
            f"{o['load_s'] * 1000:.1f} ms (+{o['first_s']:.2f} s) | {mib(o['table_bytes'])} arrays, file {mib(o['file_bytes'])}, "
            f"RSS +{mib(o['rss_delta'])} | {o['single_qps']:,.0f} | {o['batched_qps']:,.0f} | {run['queries']:,} |"
        )
        for m in f["modes"]:
            lines.append(
                f"| {run['data']} | {run['size']:,} | FAISS IndexBinaryFlat, {m['threads']} thread{'s' if m['threads'] > 1 else ''} | "
                f"{f['build_s']:.2f} s | {f['save_s']:.2f} s | {f['load_s'] * 1000:.1f} ms | "
                f"{mib(f['code_bytes'])} codes, RSS +{mib(f['rss_delta'])} | "
                f"{m['single_qps']:,.1f} | {m['batched_qps']:,.1f} | {m['queries']:,} |"
            )
    lines += [
        "",
        "| data | stored hashes | ours / FAISS single (vs FAISS 1 thread, vs its best) | ours / FAISS batched (vs FAISS 1 thread, vs its best; both all cores in the second) | recall vs brute force | planted 1..31 found, 32 not | same results as FAISS | mean hits per query |",
        "|---|---:|---:|---:|---:|---|---|---:|",
    ]
    for run in runs:
        o, modes = run["ours"], run["faiss"]["modes"]
        one = modes[0]
        best_single = max(m["single_qps"] for m in modes)
        best_batched = max(m["batched_qps"] for m in modes)
        lines.append(
            f"| {run['data']} | {run['size']:,} | {o['single_qps'] / one['single_qps']:,.1f}x, {o['single_qps'] / best_single:,.1f}x | "
            f"{o['batched_qps'] / one['batched_qps']:,.1f}x, {o['batched_qps'] / best_batched:,.1f}x | "
            f"{run['recall']:.2%} ({run['expected_total']:,} hits, {run['checked']:,} queries) | "
            f"{'yes' if run['planted_ok'] else 'NO'} | {'yes' if run['faiss_agrees'] else 'NO'} | {run['mean_hits']:,.1f} |"
        )
    return "\n".join(lines)


def capped_note(runs: list[dict[str, object]]) -> str | None:
    capped = [
        f"{m['queries']:,} of {r['queries']:,} at {r['size']:,} hashes, {m['threads']} thread(s)"
        for r in runs
        for m in r["faiss"]["modes"]
        if m["queries"] < r["queries"]
    ]
    if not capped:
        return None
    return (
        f"- FAISS queries capped to about {FAISS_QUERY_BUDGET_S / 2:.0f} s per mode ({'; '.join(capped)}); "
        "queries/s is a per-query rate, so the ratios still hold."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000", help="comma-separated stored-hash counts")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument(
        "--data", default="derived", help="comma-separated: derived (crowded edits of real photos), catalogue (distinct pictures + a few edits each), uniform"
    )
    parser.add_argument("--check", type=int, default=200, help="queries checked against numpy brute force")
    parser.add_argument("--faiss-queries", type=int, default=None, help="cap on FAISS queries (also capped by time)")
    parser.add_argument("--bases", type=int, default=400, help="at most this many photos to hash")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    bases, base_note = base_hashes(args.bases, rng)
    runs = []
    plan = [(data, int(size)) for data in args.data.split(",") for size in args.sizes.split(",")]
    for data, size in plan:
        if data not in ("derived", "catalogue", "uniform"):
            parser.error(f"unknown --data {data!r}")
        runs.append(run_size(data, size, bases, args.queries, args.check, args.faiss_queries, rng))
        del runs[-1]["ours"]["index"]
        gc.collect()
        print(table(runs), file=sys.stderr, flush=True)

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    note = capped_note(runs)
    body = "\n".join(
        [
            f"Radius {RADIUS} (distance <= 31). Stored hashes derived from {base_note} by flipping bits "
            "(each bit with probability k/256, k uniform 20..60), so buckets are crowded as in a real "
            "catalogue of edited copies; queries are half edits of those photos, half unrelated pictures, "
            "each with planted copies at exactly 1..31 and 32 bits. Rows marked catalogue model a catalogue of distinct "
            "pictures instead: 40% of rows are real hashes with 64..112 bits flipped (pictures ~100-128 bits apart, as "
            "unrelated photos are), 60% edited copies of them (4..24 bits); queries are edits of stored pictures and "
            "pictures it does not hold. Rows marked uniform use random hashes and "
            "queries (with the same planted copies): the spread-out case multi-index hashing is built for.",
            "",
            table(runs),
            "",
            "- Ours: a numba kernel walks the 16 x 17 probed buckets and verifies each candidate in place; single queries run on one thread, "
            "`search_many` splits a batch over all cores (the kernel releases the GIL). "
            "FAISS scans every hash per query; it is shown at 1 OpenMP thread (the same CPU as ours) and at all cores. "
            "On small VMs its `range_search` pays a large per-call cost when a query has hits (result buffers, thread "
            "start-up), so 2 threads can be slower than 1.",
            "- Load memory-maps the file; the first queries after load page it in (timed separately).",
            "- Memory: arrays = ids + hashes + order + offsets (what stays resident when fully paged in); "
            "RSS + is the growth of this process while building (the hashes already existed, so it counts tables only).",
            f"- Peak RSS of the whole run: {mib(peak)}.",
            *([note] if note else []),
        ]
    )
    print(body)
    if not args.no_write:
        write_section("index", "python -m benchmarks.bench_index " + " ".join(argv if argv is not None else sys.argv[1:]), body)


if __name__ == "__main__":
    main()
