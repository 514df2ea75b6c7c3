"""Triage of a seized folder holding videos, against a catalogue holding a known video and a
known still, all generated: a resized copy and a compilation of the known video are known with
the matched time ranges, a screenshot of it is found inside it, a video showing the known still
says when, an unrelated video is new, and the report shows contact sheets, blurred.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

av = pytest.importorskip("av", reason="video support is the [video] extra")

from mediamatch.services.contribute import ContributionRequest, contribute  # noqa: E402
from mediamatch.services.matching import CatalogueMatcher  # noqa: E402
from mediamatch.services.samples import generated_picture, generated_video  # noqa: E402
from mediamatch.services.triage import KNOWN_IDENTIFIED, KNOWN_UNIDENTIFIED, NEW, STATE_FILE, TriageState, triage  # noqa: E402
from mediamatch.services.triage_report import write_reports  # noqa: E402


def still_clip(picture: Path, seconds: float, out: Path, fps: int = 10) -> Path:
    """A video that shows one picture for `seconds`."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(picture).convert("RGB").resize((640, 360)))
    with av.open(str(out), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt, stream.bit_rate = 640, 360, "yuv420p", 4_000_000
        for _ in range(round(seconds * fps)):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode())
    return out


def frame_at(video: Path, seconds: float, out: Path) -> Path:
    """A screenshot: the frame shown at `seconds`, saved as PNG."""
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            if frame.time >= seconds:
                frame.to_image().save(out)
                return out
    raise AssertionError(f"{video} has no frame at {seconds}s")


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    known, seized = tmp_path / "known", tmp_path / "seized"
    known.mkdir()
    seized.mkdir()
    clip = generated_video(known / "known-clip.mp4", seconds=8, fps=10, seed=11)
    generated_picture(4242).save(known / "known-still.png")
    generated_video(seized / "resized-copy.mp4", seconds=8, fps=10, seed=11, size=(320, 180))
    generated_video(seized / "compilation.mp4", seconds=12, fps=10, seed=12, insert=(clip, 6.0))
    generated_video(seized / "unrelated.mp4", seconds=6, fps=10, seed=13, motion="zoom")
    frame_at(clip, 5.0, seized / "screenshot.png")
    shown = still_clip(known / "known-still.png", 3, tmp_path / "still-clip.mp4")
    generated_video(seized / "shows-the-still.mp4", seconds=8, fps=10, seed=14, insert=(shown, 2.0))
    return known, seized


def test_videos_are_triaged_with_time_ranges_and_contact_sheets(folders, engine: sa.Engine, tmp_path: Path) -> None:
    known, seized = folders
    outcomes = contribute(engine, sorted(known.iterdir()), ContributionRequest(series="Heron", victim_identified=True), workers=1)
    assert [outcome.status for outcome in outcomes] == ["added", "added"]
    matcher = CatalogueMatcher.open(engine, cache=tmp_path / "index" / "pdq-index")
    out = tmp_path / "out"
    triage(seized, out, engine, workers=1, matcher=matcher)
    state = TriageState(out / STATE_FILE)
    rows = {row.path: row for row in state.rows()}
    paths = write_reports(state, out)
    state.close()

    assert rows["unrelated.mp4"].status == NEW and rows["unrelated.mp4"].frames > 0
    for name in ("resized-copy.mp4", "compilation.mp4", "screenshot.png", "shows-the-still.mp4"):
        assert rows[name].status == KNOWN_IDENTIFIED, (name, rows[name])
        assert rows[name].status != KNOWN_UNIDENTIFIED

    [copy] = rows["resized-copy.mp4"].matches
    assert copy.signal == "vpdq" and copy.known_share >= 0.8 and copy.query_share >= 0.8
    [inside] = [m for m in rows["compilation.mp4"].matches if m.signal == "vpdq"]
    assert inside.known_share >= 0.8 and inside.query_share < 0.8  # the known clip is 8 of 20 seconds
    start, end = inside.query_seconds[0][0], inside.query_seconds[-1][1]
    assert 5.0 <= start <= 7.5 and 12.0 <= end <= 14.5, inside.query_seconds  # spliced in at 6 s for 8 s
    [still] = rows["shows-the-still.mp4"].matches
    assert still.signal == "pdq" and still.query_seconds[0][0] >= 1.5 and still.query_seconds[-1][1] <= 5.5, still.query_seconds
    [screenshot] = rows["screenshot.png"].matches
    assert screenshot.signal == "pdq" and any(a - 1 <= 5.0 <= b + 1 for a, b in screenshot.known_seconds)

    report = json.loads(paths["json"].read_text())
    entry = next(f for f in report["files"] if f["path"] == "compilation.mp4")
    assert entry["matches"][0]["query_seconds"] and entry["duration"] == pytest.approx(20, abs=0.5)
    html = paths["html"].read_text()
    assert html.count('alt="contact sheet of') == 4  # the four videos, blurred like pictures
    assert "here at 0:0" in html and "video match" in html
