"""`mediamatch hash` as a user runs it: JSON lines with the documented fields, errors in place,
no progress bar when the output is piped."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mediamatch.services.samples import generated_picture

FIELDS = {"path", "size", "md5", "sha1", "sha256", "pdq", "pdq_quality", "pdq_displayed", "width", "height", "media_type", "error", "note"}


def run_hash(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mediamatch.cli.main", "hash", *args], capture_output=True, text=True, timeout=120)


def make_collection(folder: Path) -> None:
    (folder / "sub").mkdir(parents=True)
    buffer = io.BytesIO()
    generated_picture(1, (640, 480)).save(buffer, "JPEG", quality=90)
    (folder / "photo.jpg").write_bytes(buffer.getvalue())
    (folder / "sub" / "broken.jpg").write_bytes(buffer.getvalue()[:500])
    (folder / "sub" / "notes.txt").write_text("hello\n")


def test_json_lines_for_every_file_with_errors_in_place(tmp_path: Path) -> None:
    make_collection(tmp_path)
    result = run_hash(str(tmp_path), "--recursive", "--json", "--workers", "2")
    assert result.returncode == 1, result.stderr  # every file reported, one of them could not be hashed
    assert "1 of 3 file(s) could not be hashed" in result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [Path(line["path"]).name for line in lines] == ["photo.jpg", "broken.jpg", "notes.txt"]
    assert all(set(line) == FIELDS for line in lines)
    photo, broken, notes = lines
    data = (tmp_path / "photo.jpg").read_bytes()
    assert photo["sha256"] == hashlib.sha256(data).hexdigest() and photo["md5"] == hashlib.md5(data).hexdigest()
    assert photo["error"] is None and len(photo["pdq"]) == 64 and photo["pdq"] == photo["pdq"].lower()
    assert (photo["width"], photo["height"], photo["media_type"]) == (640, 480, "image/jpeg")
    assert broken["error"] and broken["sha256"] and broken["pdq"] is None
    assert notes["error"] is None and notes["pdq"] is None and notes["sha1"] == hashlib.sha1(b"hello\n").hexdigest()
    assert "\x1b[" not in result.stderr  # no progress bar drawn into a pipe


def test_exit_status_says_whether_every_file_was_hashed(tmp_path: Path) -> None:
    make_collection(tmp_path)
    assert run_hash(str(tmp_path / "photo.jpg"), str(tmp_path / "sub" / "notes.txt")).returncode == 0
    assert run_hash(str(tmp_path / "photo.jpg"), str(tmp_path / "sub" / "broken.jpg")).returncode == 1
    missing = run_hash(str(tmp_path / "photo.jpg"), str(tmp_path / "no-such.jpg"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr and missing.stdout == ""


def test_folder_without_recursive_is_reported_not_skipped_silently(tmp_path: Path) -> None:
    make_collection(tmp_path)
    result = run_hash(str(tmp_path), "--json")
    assert result.stdout == "" and "--recursive" in result.stderr


def test_a_video_gives_its_frame_hashes_one_per_second_or_every_frame(tmp_path: Path) -> None:
    pytest.importorskip("av", reason="video support is the [video] extra")
    from mediamatch.services.samples import generated_video

    video = generated_video(tmp_path / "pan.mp4", seconds=3, fps=10, seed=5)
    sampled, every = (json.loads(run_hash(str(video), "--json", *extra).stdout) for extra in ((), ("--every-frame",)))
    assert set(sampled) == FIELDS | {"frames", "duration"} and sampled["media_type"] == "video/mp4"
    assert sampled["duration"] == every["duration"] == 3.0
    assert [frame["number"] for frame in sampled["frames"]] == [0, 10, 20]
    assert [frame["number"] for frame in every["frames"]] == list(range(30)) and every["frames"][0] == sampled["frames"][0]  # near-repeats kept
    assert all(0 <= frame["quality"] <= 100 and len(frame["pdq"]) == 64 for frame in every["frames"])


def test_every_frame_gives_the_vpdq_reference_frame_numbers(testdata: Path) -> None:
    """A list made with `--every-frame` has the frames Meta's reference has, near-repeats
    included, so another tool finds "the same frame numbers"."""
    pytest.importorskip("av", reason="video support is the [video] extra")
    from mediamatch.signals.vpdq import parse_vpdq

    reference = parse_vpdq((testdata / "threatexchange" / "vpdq" / "sample-hashes" / "test-padded-dimensions.txt").read_text())
    video = testdata / "threatexchange" / "tmk" / "sample-videos" / "test-padded-dimensions.mp4"
    frames = json.loads(run_hash(str(video), "--json", "--every-frame").stdout)["frames"]
    assert [frame["number"] for frame in frames] == [frame.number for frame in reference]
    assert [round(frame["timestamp"], 3) for frame in frames] == [round(frame.timestamp, 3) for frame in reference]
