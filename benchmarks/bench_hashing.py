"""Hashing throughput: mediamatch's path against the peers' path, side by side on the same files.

Peers' path (python-threatexchange, HMA, Thorn's perception): read the file, MD5/SHA-1/SHA-256,
Pillow full RGB decode, the `pdqhash` reference binding. Ours: `mediamatch.media.hashing.hash_source`
(one read, DCT-scaled greyscale JPEG decode, numba PDQ). The decode ceiling is a greyscale,
DCT-scaled decode alone (what our path cannot go below without a faster JPEG decoder).

Test images are generated from benign photos (../shared/testdata/photos when present, else
synthetic pictures): 1024x768 and 4000x3000 JPEGs at quality 90, the large ones with mild
sensor-like noise so they compress like phone photos rather than smooth upscales.

    python -m benchmarks.bench_hashing [--count-small 200] [--count-large 80] [--workers N]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from itertools import cycle, islice
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image

from benchmarks.report import write_section
from mediamatch.media.hashing import hash_many, hash_source
from mediamatch.media.image import _draft_scale

ALL_CORES_SECONDS_OF_WORK = 6  # batches long enough that pool start-up (~0.7 s) is a small part
PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "photos"


def source_pictures(count: int) -> list[Image.Image]:
    """Benign source pictures: the shared photos, or generated scenes when they are absent."""
    paths = sorted(PHOTOS.glob("*.jpg"))[:count] if PHOTOS.is_dir() else []
    if paths:
        return [Image.open(path).convert("RGB") for path in paths]
    from mediamatch.services.samples import generated_pictures

    return list(generated_pictures(count, size=(1024, 768)))


def write_set(pictures: Sequence[Image.Image], size: tuple[int, int], folder: Path, noise: float) -> list[Path]:
    rng = np.random.default_rng(7)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, picture in enumerate(pictures):
        resized = picture.resize(size, Image.Resampling.BICUBIC)
        if noise:
            pixels = np.asarray(resized, dtype=np.float32) + rng.normal(0, noise, (size[1], size[0], 1))
            resized = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        path = folder / f"{number:05d}.jpg"
        resized.save(path, "JPEG", quality=90)
        paths.append(path)
    return paths


def peer_hash(path: Path) -> tuple[str, int]:
    """The peers' path: one read, three digests, full RGB decode, reference PDQ."""
    data = path.read_bytes()
    hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(), hashlib.sha256(data).hexdigest()
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    bits, quality = pdqhash.compute(pixels)
    return np.packbits(bits.astype(np.uint8)).tobytes().hex(), int(quality)


def ours_hash(path: Path) -> tuple[str, int]:
    record = hash_source(path)
    assert record.value("pdq") is not None and record.quality("pdq") is not None, record.error
    return record.value("pdq"), record.quality("pdq")


def ceiling_decode(path: Path) -> None:
    """A greyscale, DCT-scaled JPEG decode alone, at the scale our path uses."""
    image = Image.open(io.BytesIO(path.read_bytes()))
    scale = _draft_scale(*image.size)
    image.draft("L", (image.size[0] // scale, image.size[1] // scale))
    image.load()


def rate_single(function: Callable[[Path], object], paths: Sequence[Path]) -> float:
    function(paths[0])  # warm: numba compile, imports
    start = time.perf_counter()
    for path in paths:
        function(path)
    return len(paths) / (time.perf_counter() - start)


def rate_all_cores_peer(paths: Sequence[Path], workers: int) -> float:
    """Wall time of a whole batch with a fresh pool (its start-up counts, as it does for ours)."""
    start = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=get_context("forkserver")) as pool:
        list(pool.map(peer_hash, paths, chunksize=8))
    return len(paths) / (time.perf_counter() - start)


def rate_all_cores_ours(paths: Sequence[Path], workers: int) -> float:
    """Wall time of one `hash_many` call: pool start-up, hashing and the in-order stream."""
    start = time.perf_counter()
    records = list(hash_many(paths, workers=workers))
    elapsed = time.perf_counter() - start
    assert all(record.error is None for record in records)
    return len(paths) / elapsed


def distance(a: str, b: str) -> int:
    return int(np.bitwise_count(np.frombuffer(bytes.fromhex(a), np.uint8) ^ np.frombuffer(bytes.fromhex(b), np.uint8)).sum())


def measure(label: str, paths: Sequence[Path], workers: int) -> list[str]:
    peer_single = rate_single(peer_hash, paths)
    ours_single = rate_single(ours_hash, paths)
    ceiling = rate_single(ceiling_decode, paths)
    batch = list(islice(cycle(paths), max(len(paths), ALL_CORES_SECONDS_OF_WORK * int(ours_single))))
    # Ours first: the forkserver is one per process, and `hash_many` asks it to preload the
    # hashing modules, which it can only do when it is the one that starts it (as in the CLI).
    ours_all = rate_all_cores_ours(batch, workers)
    peer_all = rate_all_cores_peer(batch, workers)
    pairs = [(peer_hash(path), ours_hash(path)) for path in paths]
    distances = [distance(peer[0], ours[0]) for peer, ours in pairs]
    good = [d for (peer, _), d in zip(pairs, distances) if peer[1] >= 50]
    return [
        f"| {label} | {len(paths)} | {peer_single:.1f} | {ours_single:.1f} | **{ours_single / peer_single:.1f}x** "
        f"| {peer_all:.1f} | {ours_all:.1f} | {ours_all / peer_all:.1f}x | {ceiling:.1f} | {ours_single / ceiling:.0%} "
        f"| {statistics.median(distances):.0f} / {max(distances)} | {len(good)}: {statistics.median(good) if good else 0:.0f} / {max(good, default=0)} |"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count-small", type=int, default=200)
    parser.add_argument("--count-large", type=int, default=80)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    pictures = source_pictures(max(args.count_small, args.count_large))
    with tempfile.TemporaryDirectory() as tmp:
        small = write_set(pictures[: args.count_small], (1024, 768), Path(tmp) / "small", noise=0)
        large = write_set(pictures[: args.count_large], (4000, 3000), Path(tmp) / "large", noise=3.0)
        rows = measure("1024x768", small, args.workers) + measure("4000x3000", large, args.workers)

    header = (
        "| set | files | peer files/s/core | ours files/s/core | ratio/core | peer all cores | ours all cores "
        f"| ratio ({args.workers} workers) | decode ceiling files/s/core | ours vs ceiling | distance to peer hash median / max "
        "| same, peer quality >= 50: n: median / max |\n|" + "---|" * 12
    )
    body = (
        "End to end: file -> MD5 + SHA-1 + SHA-256 + PDQ + quality. Peer = Pillow full RGB decode + `pdqhash` "
        "reference binding (python-threatexchange's path); ours = `hash_source` (greyscale DCT-scaled JPEG decode "
        "keeping >= 512 px on the short side, numba PDQ). Decode ceiling = greyscale DCT-scaled decode alone. "
        "Per core = one process, files in sequence; all cores = wall time of one batch (the same files cycled "
        "to about 6 s of our single-core work) over a fresh process pool, start-up included, for both paths. Distances compare our PDQ with the peer's on the same file.\n\n"
        + header
        + "\n"
        + "\n".join(rows)
    )
    print(body)
    write_section("hashing", "python -m benchmarks.bench_hashing", body)


if __name__ == "__main__":
    main()
