"""vPDQ against Meta's reference hashes of the ThreatExchange sample videos (../shared).

Measured on the 14 videos of threatexchange/tmk/sample-videos, every frame hashed (5,872
frames; PyAV 18 with its FFmpeg 8.1, x86-64), compared with vpdq/sample-hashes/<video>.txt:

- frame numbers: identical for every video; qualities: identical for every frame;
- PDQ hashes: bit-identical for every frame of 13 videos. test-padded-dimensions.mp4 differs
  by median 2 bits, max 4 (its reference hashes equal swscale's x86 SIMD conversion exactly,
  the others its C conversion: Meta made them on different machines). Over all frames with
  both qualities >= 50: median 0, mean 0.03, max 4;
- timestamps: within 0.5 ms of the reference's (it prints 3 decimals).

For comparison, the reference's own Python package (vpdq 0.2.5) built here against Debian's
FFmpeg 5.1 differs from these same files by 1.2 bits on average (max 6) on chair-19-sd-bar,
since on x86 its frames take swscale's SIMD path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mediamatch.catalog.hashes import FrameHash
from mediamatch.media.video import frame_luma, iter_frames
from mediamatch.signals.pdq import pdq_from_luma, pdq_to_hex
from mediamatch.signals.vpdq import VPDQSignal, format_vpdq, match_videos, parse_vpdq

FAR_CLOSER = 4  # the issue asks for <= 31 "and far closer": the measured max is 4
MADE_ON_ANOTHER_MACHINE = {"test-padded-dimensions"}  # see the module docstring


def videos(testdata: Path) -> list[Path]:
    found = sorted((testdata / "threatexchange/tmk/sample-videos").glob("*.mp4"))
    assert len(found) >= 14
    return found


def reference(testdata: Path, video: Path) -> tuple[FrameHash, ...]:
    return parse_vpdq((testdata / "threatexchange/vpdq/sample-hashes" / f"{video.stem}.txt").read_text())


def our_frames(video: Path, every_frame: bool = True) -> tuple[FrameHash, ...]:
    frames = []
    for number, seconds, frame in iter_frames(video, every_frame=every_frame):
        pdq, quality = pdq_from_luma(frame_luma(frame))
        frames.append(FrameHash(number, seconds, pdq_to_hex(pdq), quality))
    return tuple(frames)


@pytest.fixture(scope="module")
def hashed(testdata: Path) -> dict[str, tuple[tuple[FrameHash, ...], tuple[FrameHash, ...]]]:
    """(ours, reference) for every sample video, every frame hashed (once for the module)."""
    return {video.stem: (our_frames(video), reference(testdata, video)) for video in videos(testdata)}


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def test_every_frame_has_the_reference_numbers_quality_and_time(hashed: dict) -> None:
    for name, (ours, theirs) in hashed.items():
        assert [f.number for f in ours] == [f.number for f in theirs], name
        assert [f.quality for f in ours] == [f.quality for f in theirs], name
        gaps = np.abs(np.array([f.timestamp for f in ours]) - [f.timestamp for f in theirs])
        assert gaps.max() < 0.001, name


def test_frame_hashes_are_within_31_and_far_closer(hashed: dict) -> None:
    every: list[int] = []
    for name, (ours, theirs) in hashed.items():
        gaps = [distance(a.pdq, b.pdq) for a, b in zip(ours, theirs, strict=True) if min(a.quality, b.quality) >= 50]
        assert gaps, name
        assert max(gaps) <= 31, name
        assert max(gaps) <= FAR_CLOSER, (name, max(gaps))
        if name not in MADE_ON_ANOTHER_MACHINE:
            assert [f.pdq for f in ours] == [f.pdq for f in theirs], name  # bit for bit
        every += gaps
    assert np.median(every) == 0
    assert np.mean(np.array(every) == 0) >= 0.95  # measured 0.99


def test_one_frame_a_second_samples_the_reference_frames(testdata: Path) -> None:
    """The reference keeps frame n when n % int(1 s * fps) == 0: these 30 fps videos, every 30th."""
    video = testdata / "threatexchange/tmk/sample-videos/chair-19-sd-bar.mp4"
    ours = our_frames(video, every_frame=False)
    theirs = [f for f in reference(testdata, video) if f.number % 30 == 0]
    assert [f.number for f in ours] == [f.number for f in theirs]
    assert [f.timestamp for f in ours] == pytest.approx([f.number / 30 for f in ours])
    assert max(distance(a.pdq, b.pdq) for a, b in zip(ours, theirs)) <= FAR_CLOSER


def test_reference_text_form_round_trips(testdata: Path) -> None:
    for video in videos(testdata):
        text = (testdata / "threatexchange/vpdq/sample-hashes" / f"{video.stem}.txt").read_text()
        frames = parse_vpdq(text)
        assert format_vpdq(frames) == text.strip()
        assert all(VPDQSignal.validate(frame.pdq) == frame.pdq for frame in frames)  # each line holds one frame hash


def test_variants_of_the_same_scene_match_and_the_doorknob_does_not(hashed: dict) -> None:
    chairs = [name for name in hashed if name.startswith("chair-") and "logo" not in name]
    assert len(chairs) >= 5
    for query in chairs:
        for target in chairs:
            result = match_videos(hashed[query][0], hashed[target][0])
            assert result.is_match(), (query, target, result)  # measured: >= 85% both ways
    unrelated = [name for name in hashed if not name.startswith("doorknob")]
    for name in unrelated:
        for query, target in ((name, "doorknob-hd-no-bar"), ("doorknob-hd-no-bar", name)):
            result = match_videos(hashed[query][0], hashed[target][0])
            assert result.query_matched == result.target_matched == 0.0, (query, target)
            assert not result.is_match()


def test_our_hashes_match_the_reference_hashes_of_the_same_video(hashed: dict) -> None:
    for name, (ours, theirs) in hashed.items():
        result = match_videos(ours, theirs)
        assert result.query_matched == result.target_matched == 1.0, name


def test_a_large_logo_makes_the_chair_a_partial_match_only(hashed: dict) -> None:
    """chair-22-with-large-logo covers much of the frame: about 10% of frames still match
    (measured 10-11%), far below the 80% the rule needs, so it is reported, not matched."""
    result = match_videos(hashed["chair-22-with-large-logo-bar"][0], hashed["chair-orig-22-sd-bar"][0])
    assert 0.03 < result.query_matched < 0.3 and 0.03 < result.target_matched < 0.3
    assert not result.is_match()


def test_a_frame_hash_is_the_signal_and_frames_match_as_pdq(hashed: dict) -> None:
    """ "vpdq" names one frame hash: the frames of two encodings of one scene are within the
    signal's threshold, the doorknob's first frame is not; the whole-video rule is match_videos."""
    chair, sepia, doorknob = (hashed[name][0] for name in ("chair-19-sd-bar", "chair-22-sd-sepia-bar", "doorknob-hd-no-bar"))
    assert any(VPDQSignal.matches(chair[0].pdq, frame.pdq) for frame in sepia)
    assert not any(VPDQSignal.matches(chair[0].pdq, frame.pdq) for frame in doorknob)
    assert match_videos(chair, sepia).is_match() and not match_videos(chair, doorknob).is_match()
