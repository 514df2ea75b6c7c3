"""The demo: a small catalogue and a "seized" folder, both generated, then a triage of it.

Everything is drawn by `samples.py`: nothing is downloaded and no real material is involved.
The seized folder holds what a real one would: exact and edited copies of known pictures
(re-encoded, resized, a thin crop, a mirror image), pictures the catalogue has never seen, a
document, and broken files. The crop is thin (1% of the height) on purpose: PDQ tolerates
little cropping (measured on the demo pictures: 8-24 bits at 1%, 30-62 at 3%; the match
radius is 31). Where PyAV is installed (the `video` extra), the Harbour series also holds a
video clip, and the seized folder a longer video that contains it and one that is new.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from mediamatch.services.contribute import ContributionRequest, contribute
from mediamatch.services.samples import generated_picture, generated_video
from mediamatch.services.triage import ERROR, KNOWN_IDENTIFIED, KNOWN_UNIDENTIFIED, NEW, NOT_MEDIA, TriageState, TriageSummary, triage
from mediamatch.services.triage_report import write_reports
from mediamatch.store.db import migrate, open_engine

MARKER = ".mediamatch-demo"
SERIES = (
    # (series, agency, country, case, victim identified, seeds of its pictures)
    ("Harbour", "Demo unit NL", "NL", "NL-2026-017", True, range(6)),
    ("Meadow", "Demo unit BR", "BR", "BR-2026-231", False, range(6, 12)),
)
UNRELATED_SEEDS = range(1000, 1006)
VIDEO_SERIES = "Harbour"
VIDEO_CLIP: dict[str, Any] = {"seconds": 6, "fps": 15, "seed": 50}  # the known clip, drawn the same way twice


def _has_video() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class DemoResult:
    folder: Path
    db_url: str
    report: Path
    summary: TriageSummary
    expected: dict[str, str]  # file name in the seized folder -> the status triage should give


def _jpeg(picture: Image.Image, quality: int = 92) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def build_catalogue(folder: Path, db_url: str, workers: int | None) -> None:
    """Contribute the demo series, each from its own agency and case."""
    engine = open_engine(db_url)
    migrate(engine)
    for series, agency, country, case, identified, seeds in SERIES:
        known = folder / "known" / series
        known.mkdir(parents=True, exist_ok=True)
        for seed in seeds:
            (known / f"{series.lower()}-{seed:02d}.jpg").write_bytes(_jpeg(generated_picture(seed)))
        if series == VIDEO_SERIES and _has_video():
            generated_video(known / f"{series.lower()}-clip.mp4", **VIDEO_CLIP)
        request = ContributionRequest(series=series, category=1, baseline=False, victim_identified=identified, agency=agency, country=country, case=case)
        contribute(engine, sorted(known.iterdir()), request, workers=workers)
    engine.dispose()


def build_seized_folder(seized: Path) -> dict[str, str]:
    """Write the seized folder; returns what triage should say of each file."""
    seized.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}

    def put(name: str, data: bytes, status: str) -> None:
        path = seized / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        expected[name] = status

    for series, _, _, _, identified, seeds in SERIES:
        status = KNOWN_IDENTIFIED if identified else KNOWN_UNIDENTIFIED
        first, second, third = list(seeds)[:3]
        picture = generated_picture(first)
        width, height = picture.size
        put(f"DCIM/{series.lower()}-exact-copy.jpg", _jpeg(picture), status)
        put(f"DCIM/{series.lower()}-reencoded-q50.jpg", _jpeg(picture, quality=50), status)
        put(f"Downloads/{series.lower()}-half-size.png", _png(generated_picture(second).resize((width // 2, height // 2))), status)
        put(f"Downloads/{series.lower()}-thin-crop.jpg", _jpeg(generated_picture(third).crop((0, 0, width, int(height * 0.99)))), status)
        put(f"Pictures/{series.lower()}-mirrored.webp", _webp(ImageOps.mirror(generated_picture(first))), status)
    for seed in UNRELATED_SEEDS:
        put(f"Pictures/holiday-{seed}.jpg", _jpeg(generated_picture(seed)), NEW)
    if _has_video():
        with tempfile.TemporaryDirectory() as scratch:
            clip = generated_video(Path(scratch) / "clip.mp4", **VIDEO_CLIP)
            compilation = generated_video(Path(scratch) / "compilation.mp4", seconds=8, fps=15, seed=60, insert=(clip, 3.0))
            put("Videos/harbour-compilation.mp4", compilation.read_bytes(), KNOWN_IDENTIFIED)
        with tempfile.TemporaryDirectory() as scratch:
            put("Videos/holiday-video.mp4", generated_video(Path(scratch) / "new.mp4", seconds=5, fps=15, seed=70, motion="zoom").read_bytes(), NEW)
    put("Documents/notes.txt", b"shopping list\nmilk\nbread\n", NOT_MEDIA)
    truncated = _jpeg(generated_picture(2000))
    put("Pictures/damaged-transfer.jpg", truncated[: len(truncated) // 3], ERROR)
    put("Pictures/empty.jpg", b"", ERROR)
    put("Pictures/not-really-a-picture.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, ERROR)
    return expected


def _png(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


def _webp(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "WEBP", quality=90)
    return buffer.getvalue()


def run_demo(folder: Path, workers: int | None = None, db_url: str | None = None) -> DemoResult:
    """Build the demo in `folder` (replacing an earlier demo there), triage it, write reports."""
    if folder.exists():
        if not (folder / MARKER).exists() and any(folder.iterdir()):
            raise FileExistsError(f"{folder} exists and is not a mediamatch demo folder; choose another --dir")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("created by `mediamatch demo`; safe to delete\n")
    db_url = db_url or f"sqlite:///{folder / 'catalogue.sqlite'}"
    build_catalogue(folder, db_url, workers)
    expected = build_seized_folder(folder / "seized")
    engine = open_engine(db_url)
    out = folder / "report"
    summary = triage(folder / "seized", out, engine, workers=workers)
    state = TriageState(out / "triage-state.sqlite")
    try:
        reports = write_reports(state, out)
    finally:
        state.close()
    engine.dispose()
    return DemoResult(folder=folder, db_url=db_url, report=reports["html"], summary=summary, expected=expected)
