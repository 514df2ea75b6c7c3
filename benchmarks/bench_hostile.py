"""Peak memory of triaging small files that state huge pictures, with two workers.

A few hundred kilobytes of lossless WebP, PNG or TIFF can state 16383x12000 or 14100x14100
pixels. Before decoding was budgeted (media/image.py, MAX_DECODE_BYTES) such files took 3.9 to
5.9 GB each in a worker (the review measured a one-worker triage at 6.2 GB), and every worker
could hold one at once. This benchmark generates such files (flat colour, so they compress to
almost nothing), puts them in a folder beside a 24 MP PNG and a 50 MP JPEG that must still
hash, a zip holding one of the hostile files and a 7z holding another (an archive in a folder
is opened, media/collection.py), then runs `mediamatch triage --workers 2` in a child process and samples
the resident memory of its whole process tree (the triage process, the forkserver and the
workers) every 20 ms from /proc.

Reported: each file's status and error, the peak RSS of the process tree, and the wall time.
The bound by design: two decodes of at most MAX_DECODE_BYTES each, plus the processes' own
footprint (about 170 MB each with the decoders loaded).

A second run triages a folder holding one zip of six 400 MB members (random bytes, stored).
Members past 16 MiB are spooled, encrypted, to a temporary file and read back by the worker
(media/spool.py), so each large member is held once, by the worker hashing it; before that they
travelled in memory and one member was held three times (2.58 GB peak).

    python -m benchmarks.bench_hostile [--workers 2] [--keep DIR] [--only folder|large]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.report import write_section

PEAK_LIMIT_BYTES = 1.5e9
SAMPLE_SECONDS = 0.02


def png_of_size(width: int, height: int) -> bytes:
    """A flat RGB PNG of the given size, written row by row (never the whole raster in memory)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\x60\x80\xa0" * width  # filter byte 0, then the pixels
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def tiff_of_size(width: int, height: int) -> bytes:
    """A flat RGB TIFF of the given size: one deflate-compressed strip, little-endian."""
    compressor = zlib.compressobj(9)
    row = b"\x60\x80\xa0" * width
    strip = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    bits_offset = 8
    strip_offset = bits_offset + 6
    ifd_offset = strip_offset + len(strip)
    ifd_offset += ifd_offset % 2
    tags = [  # (tag, type, count, value): type 3 SHORT, 4 LONG
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 3, bits_offset),
        (259, 3, 1, 8),  # deflate
        (262, 3, 1, 2),  # RGB
        (273, 4, 1, strip_offset),
        (277, 3, 1, 3),
        (278, 4, 1, height),
        (279, 4, 1, len(strip)),
        (284, 3, 1, 1),
    ]
    ifd = struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", *tag) for tag in tags) + struct.pack("<I", 0)
    body = b"II*\x00" + struct.pack("<I", ifd_offset) + struct.pack("<HHH", 8, 8, 8) + strip
    return body + b"\x00" * (ifd_offset - len(body)) + ifd


def lossless_webp_of_size(width: int, height: int) -> bytes:
    """A flat lossless WebP (the encoder needs the raster: about 1.6 GB while generating)."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (96, 128, 160)).save(buffer, "WEBP", lossless=True, quality=0, method=0)
    return buffer.getvalue()


def camera_like(width: int, height: int) -> Image.Image:
    """A picture with structure at every scale (so it neither compresses to nothing nor hashes flat)."""
    y, x = np.ogrid[0:height, 0:width]
    rgb = np.empty((height, width, 3), np.uint8)
    rgb[..., 0] = (x * 255 // width).astype(np.uint8)
    rgb[..., 1] = (y * 255 // height).astype(np.uint8)
    rgb[..., 2] = (((x // 97) + (y // 89)) % 2 * 200).astype(np.uint8)
    return Image.fromarray(rgb, "RGB")


def make_folder(folder: Path) -> dict[str, int]:
    """The hostile folder; returns each file's size in bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "webp-16383x12000.webp": lossless_webp_of_size(16383, 12000),
        "png-14100x14100.png": png_of_size(14100, 14100),
        "tiff-14100x14100.tif": tiff_of_size(14100, 14100),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    with zipfile.ZipFile(folder / "drive.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("photos/png-14100x14100.png", files["png-14100x14100.png"])
    try:
        import libarchive  # the `archives` extra: 7z and RAR are read through it

        with libarchive.file_writer(str(folder / "phone.7z"), "7zip") as writer:
            writer.add_file_from_memory("DCIM/tiff-14100x14100.tif", len(files["tiff-14100x14100.tif"]), files["tiff-14100x14100.tif"])
    except ImportError:
        print("libarchive-c is not installed: no 7z in the folder", file=sys.stderr)
    camera_like(6000, 4000).save(folder / "camera-24mp.png", optimize=False, compress_level=1)
    camera_like(8660, 5774).save(folder / "camera-50mp.jpg", quality=90)
    return {path.name: path.stat().st_size for path in sorted(folder.iterdir())}


def make_large_member_zip(folder: Path, members: int = 6, member_bytes: int = 400 * 1024**2) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / "videos.zip", "w", zipfile.ZIP_STORED) as archive:
        for number in range(members):
            archive.writestr(f"v{number}.bin", os.urandom(member_bytes))


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def tree_rss(root: int) -> int:
    """Resident bytes of `root` and all its descendants, now."""
    tree, total, todo = _children(), 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(tree.get(pid, []))
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            continue
    return total


def make_catalogue(path: Path) -> None:
    """An empty catalogue (triage refuses a missing one; the files here are all new anyway)."""
    from mediamatch.store.db import migrate, open_engine

    engine = open_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()


def run_triage(folder: Path, out: Path, db: Path, workers: int) -> tuple[int, float, int]:
    """Peak tree RSS, wall seconds and exit code of `mediamatch triage` over `folder`."""
    command = [
        sys.executable,
        "-c",
        "from mediamatch.cli.main import app; app()",
        "triage",
        str(folder),
        "--out",
        str(out),
        "--workers",
        str(workers),
        "--db",
        f"sqlite:///{db}",
        "--allow-empty-catalogue",
    ]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while child.poll() is None:
        peak = max(peak, tree_rss(child.pid))
        time.sleep(SAMPLE_SECONDS)
    seconds = time.perf_counter() - started
    if child.returncode:
        print(child.stderr.read().decode(errors="replace") if child.stderr else "", file=sys.stderr)
    return peak, seconds, child.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="generate the files here and keep them")
    parser.add_argument("--only", choices=["folder", "large"], help="run one of the two triages (prints, writes no section)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    peak = seconds = code = large_peak = large_seconds = large_code = 0
    sizes: dict[str, int] = {}
    report: dict = {"files": []}
    try:
        make_catalogue(work / "catalogue.sqlite")
        if args.only != "large":
            folder = work / "hostile"
            sizes = make_folder(folder)
            shutil.rmtree(work / "out", ignore_errors=True)
            peak, seconds, code = run_triage(folder, work / "out", work / "catalogue.sqlite", args.workers)
            report = json.loads((work / "out" / "report.json").read_text()) if code in (0, 1) else {"files": []}
            shutil.rmtree(folder)
        if args.only != "folder":
            make_large_member_zip(work / "large")
            shutil.rmtree(work / "out-large", ignore_errors=True)
            large_peak, large_seconds, large_code = run_triage(work / "large", work / "out-large", work / "catalogue.sqlite", args.workers)
            shutil.rmtree(work / "large")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.only:
        print(
            f"folder: peak {peak / 1e9:.2f} GB, {seconds:.1f} s, exit {code}; large members: peak {large_peak / 1e9:.2f} GB, {large_seconds:.1f} s, exit {large_code}"
        )
        return
    lines = ["| file | bytes | status | error |", "|---|---:|---|---|"]
    for entry in report["files"]:
        size = sizes.get(entry["path"], entry.get("size") or 0)
        lines.append(f"| {entry['path']} | {size:,} | {entry['status']} | {entry['error'] or ''} |")
    verdict = "within" if peak < PEAK_LIMIT_BYTES else "OVER"
    body = "\n".join(
        [
            f"`mediamatch triage --workers {args.workers}` over the folder below: exit code {code}, {seconds:.1f} s, "
            f"peak RSS of the process tree **{peak / 1e9:.2f} GB** ({verdict} the {PEAK_LIMIT_BYTES / 1e9:.1f} GB budget; "
            "sampled every 20 ms from /proc).",
            "",
            *lines,
            "",
            f"A zip of six 400 MB members (stored, random bytes), same command: exit code {large_code}, {large_seconds:.1f} s, "
            f"peak RSS **{large_peak / 1e9:.2f} GB** ({'within' if large_peak < PEAK_LIMIT_BYTES else 'OVER'} the budget; before: 5.06 GB "
            "with members in memory and no cap, 2.58 GB with in-flight bytes capped; now members past 16 MiB are spooled encrypted "
            "and each is held once, by the worker hashing it).",
        ]
    )
    print(body)
    write_section("hostile", "python -m benchmarks.bench_hostile", body)


if __name__ == "__main__":
    main()
