"""Live stream watching: frame-to-alert latency, and how many 720p30 streams one core keeps up with.

Setup: a generated benign 720p30 H.264 video (pans over generated pictures), and a SQLite
catalogue holding the PDQ hashes of all its frames (so every sampled frame of a stream is
"known" and alerts: with dedupe off, each alert is one latency sample) plus
`--catalogue` random PDQ hashes so the index has realistic work. Everything runs pinned to ONE
core (`os.sched_setaffinity`; threads started afterwards, FFmpeg's decoder threads included,
inherit it).

1. Latency: one stream played at real speed (pts against the wall clock, as `ffmpeg -re`),
   sampled at `--latency-rate` (5/s: more samples for a p99); latency = frame decoded -> alert.
2. Concurrency: 1, 2, 3, … streams of the same video at once (each at real speed), until one
   falls behind: a stream keeps up while no sampled frame is dropped and its reader stays less
   than 1 s behind the stream's own clock.
Reference, side by side: Debian's `ffmpeg -threads 1 -i video -f null -` decoding the same file
on the same core, as fast as it can, i.e. the decode-only ceiling of streams per core.

    python -m benchmarks.bench_watch [--seconds 30] [--step-seconds 20] [--catalogue 100000] [--rate 1] [--latency-rate 5] [--max-streams 32]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import sqlalchemy as sa

from benchmarks.report import write_section
from mediamatch.media.stream import StreamOptions, StreamSource
from mediamatch.media.video import frame_luma
from mediamatch.services.samples import generated_video
from mediamatch.services.watch.alerts import Alert
from mediamatch.services.watch.frame_matchers import CatalogueFrameMatcher
from mediamatch.services.watch.watcher import Watcher, WatchOptions
from mediamatch.signals.pdq import pdq_from_luma, pdq_to_hex
from mediamatch.store.db import migrate, open_engine
from mediamatch.store.models.catalogue import MediaItem, MediaSignal

FPS = 30
SIZE = (1280, 720)
TARGET_P99 = 1.0
MAX_LAG = 1.0


@dataclass
class Run:
    streams: int
    seconds: float
    frames_read: int
    sampled: int
    dropped: int
    max_lag: float
    latencies: list[float]

    @property
    def keeps_up(self) -> bool:
        return self.dropped == 0 and self.max_lag < MAX_LAG and (not self.latencies or percentile(self.latencies, 99) < TARGET_P99)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def fill_catalogue(engine: sa.Engine, video: Path, filler: int) -> int:
    """Every frame of the video as a known item (so any sample rate alerts on every sample),
    plus `filler` random hashes. Returns how many known frames are usable (quality >= 50)."""
    known = []
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            pdq, quality = pdq_from_luma(frame_luma(frame))
            known.append((pdq_to_hex(pdq), quality))
    rng = np.random.default_rng(5)
    values = known + [(bytes(row).hex(), 100) for row in rng.integers(0, 256, (filler, 32), dtype=np.uint8)]
    with engine.begin() as conn:
        for start in range(0, len(values), 50_000):
            chunk = values[start : start + 50_000]
            conn.execute(sa.insert(MediaItem), [
                {"id": start + i + 1, "sha256": hashlib.sha256(f"bench{start + i}".encode()).hexdigest(), "md5": "0" * 32, "sha1": "0" * 40,
                 "media_type": "image/png", "size": 1, "category": 1, "baseline": False}
                for i in range(len(chunk))
            ])  # fmt: skip
            conn.execute(
                sa.insert(MediaSignal),
                [{"media_id": start + i + 1, "signal": "pdq", "value": value, "quality": quality} for i, (value, quality) in enumerate(chunk)],
            )
    return sum(quality >= 50 for _, quality in known)


def run_streams(video: Path, matcher: CatalogueFrameMatcher, streams: int, seconds: float, rate: float) -> Run:
    latencies: list[float] = []
    lock = threading.Lock()

    def on_alert(alert: Alert) -> None:
        with lock:
            latencies.append(alert.latency)

    options = WatchOptions(stream=StreamOptions(sample_rate=rate, realtime=True, max_reconnects=0), workers=2, dedupe_seconds=0)
    sources = [StreamSource(f"s{n}", str(video)) for n in range(streams)]
    watcher = Watcher(sources, matcher, on_alert=on_alert, options=options)
    max_lag = 0.0
    started = time.monotonic()
    watcher.start()
    while time.monotonic() - started < seconds and not watcher.wait(timeout=0.25):
        max_lag = max([max_lag, *(status.lag for status in watcher.status())])
    elapsed = time.monotonic() - started
    watcher.stop()
    final = watcher.status()
    return Run(streams, elapsed, sum(s.frames_read for s in final), sum(s.sampled for s in final), sum(s.dropped for s in final), max_lag, latencies)


def ffmpeg_decode_fps(video: Path) -> float | None:
    """Frames/s Debian's ffmpeg decodes the video at, single-threaded, on this (pinned) core."""
    found = shutil.which("ffmpeg")
    if not found:
        return None
    with av.open(str(video)) as container:
        frames = container.streams.video[0].frames
    started = time.perf_counter()
    subprocess.run([found, "-hide_banner", "-loglevel", "error", "-threads", "1", "-i", str(video), "-f", "null", "-"], check=True)
    return frames / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30, help="length of the test video")
    parser.add_argument("--step-seconds", type=float, default=20, help="stream time per concurrency step")
    parser.add_argument("--catalogue", type=int, default=100_000, help="random PDQ hashes besides the known frames")
    parser.add_argument("--rate", type=float, default=1.0, help="sampled frames per second of stream, concurrency runs")
    parser.add_argument("--latency-rate", type=float, default=5.0, help="sampled frames per second in the latency run (more samples for p99)")
    parser.add_argument("--max-streams", type=int, default=32)
    parser.add_argument("--core", type=int, default=None, help="the core to pin to (default: the last allowed)")
    args = parser.parse_args()
    core = args.core if args.core is not None else max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        video = generated_video(root / "stream.mp4", seconds=args.seconds, fps=FPS, size=SIZE, seed=7)
        made = time.perf_counter() - started
        engine = open_engine(f"sqlite:///{root / 'catalogue.sqlite'}")
        migrate(engine)
        known = fill_catalogue(engine, video, args.catalogue)
        matcher = CatalogueFrameMatcher.open(engine)
        reference_fps = ffmpeg_decode_fps(video)

        single = run_streams(video, matcher, 1, args.seconds, args.latency_rate)
        runs: list[Run] = []
        streams = 1
        while streams <= args.max_streams:
            run = run_streams(video, matcher, streams, min(args.step_seconds, args.seconds), args.rate)
            runs.append(run)
            print(f"{streams} stream(s): dropped {run.dropped}, max lag {run.max_lag:.2f} s, p99 {percentile(run.latencies, 99) * 1000:.0f} ms")
            if not run.keeps_up:
                break
            streams = streams + 1 if streams < 4 else streams + 2
        engine.dispose()
    kept = max((run.streams for run in runs if run.keeps_up), default=0)
    kept_text = f"{kept} or more (stopped at --max-streams)" if runs and runs[-1].keeps_up else str(kept)
    ceiling = reference_fps / FPS if reference_fps else None
    rows = "\n".join(
        f"| {run.streams} | {run.frames_read / run.seconds:,.0f} | {run.sampled:,} | {run.dropped:,} | {run.max_lag:.2f} s | "
        f"{percentile(run.latencies, 50) * 1000:.0f} / {percentile(run.latencies, 99) * 1000:.0f} ms | {'yes' if run.keeps_up else '**no**'} |"
        for run in runs
    )
    p50, p99 = percentile(single.latencies, 50), percentile(single.latencies, 99)
    body = (
        f"One core (pinned with `os.sched_setaffinity`). Video: generated benign 720p30 H.264 (x264 veryfast), {args.seconds:g} s "
        f"(made in {made:.0f} s); streams play it at real speed. Catalogue: SQLite, all {known} usable frame hashes of the video "
        f"+ {args.catalogue:,} random PDQ hashes; every sampled frame with quality >= 50 alerts (dedupe off), "
        f"so each alert is one latency sample (frame decoded -> alert).\n\n"
        f"**Latency, one stream sampled at {args.latency_rate:g} frames/s:** p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {max(single.latencies, default=float('nan')) * 1000:.1f} ms "
        f"over {len(single.latencies)} alerts (target p99 < {TARGET_P99:g} s: {'met' if p99 < TARGET_P99 else 'NOT met'}).\n\n"
        f"**Streams one core keeps up with, sampled at {args.rate:g} frame/s: {kept_text}** (no frame dropped, reader < {MAX_LAG:g} s behind, p99 < {TARGET_P99:g} s). "
        + (f"Reference: Debian's `ffmpeg -threads 1 -f null` decodes this video at {reference_fps:,.0f} frames/s on the same core, "
           f"a decode-only ceiling of {ceiling:.1f} streams; watching reaches {'at least ' if runs and runs[-1].keeps_up else ''}{kept / ceiling:.0%} of it.\n\n" if ceiling else "ffmpeg not installed: no decode-only reference.\n\n")
        + f"| streams | frames decoded/s | sampled | dropped | max lag | latency p50 / p99 | keeps up |\n|---:|---:|---:|---:|---:|---:|---|\n{rows}"
    )  # fmt: skip
    print(body)
    command = f"python -m benchmarks.bench_watch --seconds {args.seconds:g} --step-seconds {args.step_seconds:g} --catalogue {args.catalogue} --rate {args.rate:g} --latency-rate {args.latency_rate:g}"
    write_section("watch", command, body)


if __name__ == "__main__":
    main()
