"""Start-up benchmark: how long `mediamatch --help` and `mediamatch hash one.jpg` take from a cold
process on a warm disk, against the same commands of an earlier commit.

Run: `python -m benchmarks.bench_startup [--before REF] [--runs 7]`

Each command runs `--runs` times in a fresh interpreter (after one untimed run that warms the disk
cache and numba's on-disk cache of compiled kernels); the table gives the median and the fastest
wall time. Two floors show what no change to mediamatch can remove: an interpreter that does
nothing, and a one-command Typer app printing its help. With `--before REF`, the same commands
run from `git archive REF src` in a temporary folder, interleaved with ours, so the shared
machine's drift hits both alike. Targets (issue 9, item 11): --help <= 0.5 s, hash <= 1.5 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import write_section

REPO = Path(__file__).resolve().parents[1]
PHOTO = REPO.parent / "shared" / "testdata" / "photos" / "tuxpaint-stamps-default__spade.jpg"
BARE_TYPER = """
import typer
app = typer.Typer(add_completion=False)
@app.command()
def only(x: int = 1) -> None:
    '''Help.'''
app()
"""
KERNELS = """
import numba
from mediamatch.index import hamming
from mediamatch.signals import pdq_kernel
for module in (pdq_kernel, hamming):
    for value in vars(module).values():
        if isinstance(value, numba.core.registry.CPUDispatcher):
            print(value._cache._cache_path)
"""


def timed(argv: list[str], src: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(src)}
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def commands(photo: Path) -> dict[str, list[str]]:
    cli = [sys.executable, "-m", "mediamatch.cli.main"]
    return {
        "`mediamatch --help`": [*cli, "--help"],
        "`mediamatch exchange --help`": [*cli, "exchange", "--help"],
        f"`mediamatch hash {photo.name}`": [*cli, "hash", str(photo)],
    }


def measure(runs: int, trees: dict[str, Path], photo: Path) -> dict[tuple[str, str], list[float]]:
    """Wall times per (command, tree), runs interleaved across trees."""
    floors = {"floor: `python -c pass`": [sys.executable, "-c", "pass"], "floor: one-command Typer app `--help`": [sys.executable, "-c", BARE_TYPER, "--help"]}
    jobs = [(name, argv, label, src) for label, src in trees.items() for name, argv in commands(photo).items()]
    jobs += [(name, argv, "-", next(iter(trees.values()))) for name, argv in floors.items()]
    for _, argv, _, src in jobs:
        timed(argv, src)  # warm the disk cache and numba's kernel cache
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(runs):
        for name, argv, label, src in jobs:
            times.setdefault((name, label), []).append(timed(argv, src))
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="a git revision to compare with (e.g. the commit before the start-up work)")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    if not PHOTO.exists():
        sys.exit(f"{PHOTO} is absent: this benchmark hashes a photo from ../shared/testdata")
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as scratch:
        trees = {"this tree": REPO / "src"}
        if args.before:
            archive = subprocess.run(["git", "-C", str(REPO), "archive", args.before, "src"], check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", scratch], input=archive, check=True)
            trees = {f"before ({args.before})": Path(scratch) / "src", **trees}
        times = measure(args.runs, trees, PHOTO)
        caches = subprocess.run(
            [sys.executable, "-c", KERNELS], env={**os.environ, "PYTHONPATH": str(REPO / "src")}, check=True, capture_output=True, text=True
        ).stdout
    rows = ["| command | tree | median | fastest |", "|---|---|---:|---:|"]
    for (name, label), values in times.items():
        rows.append(f"| {name} | {label} | {statistics.median(values):.2f} s | {min(values):.2f} s |")
    folders = sorted({line.replace(str(REPO), ".") for line in caches.splitlines()})
    load = os.getloadavg()[0]
    body = (
        f"Fresh interpreter per run, {args.runs} runs each after one untimed warm-up, interleaved; load average "
        f"{load:.1f} at the end (this machine is shared: compare rows of one run, not absolute figures). "
        "numba writes the compiled kernels beside their module (`__pycache__`), or to the user's cache folder "
        f"(`~/.cache/numba`) where the package folder is read-only; here: {', '.join(f'`{folder}`' for folder in folders)}.\n\n" + "\n".join(rows)
    )
    print(body)
    write_section("startup", "python -m benchmarks.bench_startup " + " ".join(argv if argv is not None else sys.argv[1:]), body)


if __name__ == "__main__":
    main()
