"""Video hashing on generated benign videos: sampling, collapsing, odd files, bad files, batches."""

from __future__ import annotations

import hashlib
import io
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from mediamatch.catalog.hashes import BytesSource, FrameHash
from mediamatch.media.hashing import hash_many, hash_source
from mediamatch.media.limits import Limits
from mediamatch.media.video import BORDER_LUMA, VARIANT_SIDE, Video, VideoError, content_box, frame_luma, frame_variants, iter_frames, shrunk
from mediamatch.services.samples import generated_picture, generated_video
from mediamatch.signals.pdq import pdq_from_luma, pdq_to_hex
from mediamatch.signals.vpdq import COLLAPSE_DISTANCE, collapse, match_videos

SIZE = (320, 180)
EVERY = Limits(video_every_frame=True, video_collapse=False)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Generated videos shared by the tests of this module (written once)."""
    folder = tmp_path_factory.mktemp("videos")
    videos = {
        "pan": generated_video(folder / "pan.mp4", seconds=5, size=SIZE, seed=1),
        "zoom": generated_video(folder / "zoom.mkv", seconds=3, size=SIZE, seed=2, motion="zoom"),
        "odd": generated_video(folder / "odd.mp4", seconds=2, size=(321, 179), seed=3, motion="zoom"),
        "upright": generated_video(folder / "upright.mp4", seconds=1, size=SIZE, seed=4, motion="zoom"),
    }
    videos["rotated"] = with_rotation(videos["upright"], 90, folder / "rotated.mp4")
    videos["long"] = generated_video(folder / "long.mp4", seconds=8, size=SIZE, seed=5, insert=(videos["zoom"], 4.0))
    return videos


def with_rotation(source: Path, degrees: int, target: Path) -> Path:
    """The same coded frames (packets copied, not re-encoded) with a display matrix added."""
    with av.open(str(source)) as reader, av.open(str(target), "w") as writer:
        original = reader.streams.video[0]
        copy = writer.add_stream_from_template(original)
        copy.set_display_rotation(degrees)
        for packet in reader.demux(original):
            if packet.dts is not None:
                packet.stream = copy
                writer.mux(packet)
    return target


def frame_hashes(path: Path | bytes, **options: object) -> list[FrameHash]:
    out = []
    for number, seconds, frame in iter_frames(path, **options):  # type: ignore[arg-type]
        pdq, quality = pdq_from_luma(frame_luma(frame))
        out.append(FrameHash(number, seconds, pdq_to_hex(pdq), quality))
    return out


def test_one_frame_a_second_and_every_frame(made: dict[str, Path]) -> None:
    per_second = [(n, t) for n, t, _ in iter_frames(made["pan"])]
    assert per_second == [(n, n / 30) for n in (0, 30, 60, 90, 120)]
    every = [(n, t) for n, t, _ in iter_frames(made["pan"], every_frame=True)]
    assert [n for n, _ in every] == list(range(150))
    assert [t for _, t in every] == pytest.approx([n / 30 for n in range(150)])
    half = [n for n, _, _ in iter_frames(made["pan"], seconds_per_hash=0.5)]
    assert half == list(range(0, 150, 15))


def test_record_has_digests_frames_and_duration(made: dict[str, Path]) -> None:
    data = made["pan"].read_bytes()
    record = hash_source(made["pan"])
    assert record.error is None
    assert (record.value("md5"), record.value("sha1"), record.value("sha256")) == (
        hashlib.md5(data).hexdigest(),
        hashlib.sha1(data).hexdigest(),
        hashlib.sha256(data).hexdigest(),
    )
    assert record.media_type == "video/mp4" and (record.width, record.height) == SIZE
    assert record.duration == pytest.approx(5.0)
    assert [f.number for f in record.frames] == [0, 30, 60, 90, 120]  # 1 s apart on a pan: all kept
    assert record.value("pdq") is None and "5 of 150 frames hashed" in (record.note or "")
    as_json = record.to_json()
    assert as_json["duration"] == pytest.approx(5.0) and as_json["frames"][1]["number"] == 30
    # The same bytes from an archive member hash the same.
    assert hash_source(BytesSource("in.zip/pan.mp4", data)).frames == record.frames


def test_a_video_over_the_memory_limit_is_streamed(made: dict[str, Path]) -> None:
    """Past max_file_bytes a video is not read into memory: digests in one streaming pass,
    frames decoded from the file; the record is the same. A picture that large is refused."""
    path = made["pan"]
    in_memory = hash_source(path)
    streamed = hash_source(path, Limits(max_file_bytes=10_000))
    assert streamed == in_memory and streamed.error is None
    refused = hash_source(path, Limits(max_file_bytes=10_000, max_video_bytes=20_000))
    assert refused.error and "file size limit" in refused.error


def test_collapse_keeps_the_first_frame_of_each_run() -> None:
    """Each frame is compared with the last frame KEPT: a drift of 5 bits a frame keeps every
    second frame (10 > COLLAPSE_DISTANCE from the kept one), where comparing neighbours (5 apart)
    would keep only the first frame of the whole drift."""
    assert 5 <= COLLAPSE_DISTANCE < 10
    values = [0, 0b11111, 0b1111111111, 0b1111111111, 0]
    frames = [FrameHash(n, n / 30, f"{v:064x}", 100) for n, v in enumerate(values)]
    assert [f.number for f in collapse(frames)] == [0, 2, 4]
    assert [f.number for f in collapse(frames, within=0)] == [0, 1, 2, 4]  # only exact repeats


def test_collapse_thins_each_frame_variant_on_its_own() -> None:
    """A frame whose own hash stands still is kept while one of its variants (a half under a
    moving logo) still moves, carrying only the variants that moved."""
    still, moved = f"{0:064x}", f"{(1 << 64) - 1:064x}"
    frames = [
        FrameHash(0, 0.0, still, 100, (("top", still, 90), ("bottom", still, 90))),
        FrameHash(1, 0.1, still, 100, (("top", moved, 90), ("bottom", still, 90))),
        FrameHash(2, 0.2, still, 100, (("top", moved, 90), ("bottom", still, 90))),
    ]
    assert [(f.number, [name for name, _, _ in f.variants]) for f in collapse(frames)] == [(0, ["top", "bottom"]), (1, ["top"])]


def barred(picture: np.ndarray, top: int, left: int, shade: float = 3.0) -> np.ndarray:
    """`picture` inside dark bars `top` rows and `left` columns wide on each side."""
    frame = np.full((picture.shape[0] + 2 * top, picture.shape[1] + 2 * left), shade, np.float32)
    frame[top : top + picture.shape[0], left : left + picture.shape[1]] = picture
    return frame


def test_letterbox_and_pillarbox_bars_are_found_and_the_picture_inside_hashes_as_without() -> None:
    picture = np.asarray(generated_picture(8, (400, 300)).convert("L"), np.float32)
    assert content_box(picture) is None
    assert content_box(barred(picture, 40, 0)) == (40, 340, 0, 400)  # letterbox
    assert content_box(barred(picture, 0, 60)) == (0, 300, 60, 460)  # pillarbox
    assert content_box(barred(picture, 2, 1)) is None  # an edge line, no bars
    assert content_box(barred(picture[:60, :80], 200, 200)) is None  # a fade: what is left is a sliver
    # A smooth bright region is picture, never bar (ThreatExchange's doorknob video has one).
    assert content_box(barred(picture, 40, 0, shade=BORDER_LUMA + 100)) is None
    [(name, inside), *halves] = frame_variants(barred(picture, 40, 0))
    assert name == "borderless" and [name for name, _ in halves] == ["top", "bottom", "left", "right"]
    plain = int(pdq_to_hex(pdq_from_luma(picture)[0]), 16)
    assert (int(pdq_to_hex(pdq_from_luma(inside)[0]), 16) ^ plain).bit_count() <= 8


def test_variants_of_a_large_frame_are_hashed_from_it_shrunk() -> None:
    luma = np.random.default_rng(3).uniform(0, 255, (1080, 1920)).astype(np.float32)
    small = shrunk(luma)
    assert small.shape == (1080 // 4, 1920 // 4) and min(small.shape) >= VARIANT_SIDE
    assert small[0, 0] == pytest.approx(luma[:4, :4].mean(), rel=1e-5)
    assert shrunk(luma[:400, :400]) is not None and shrunk(luma[:400, :400]).shape == (400, 400)
    assert [half.shape for _, half in frame_variants(luma)] == [(135, 480), (135, 480), (270, 240), (270, 240)]


def test_a_still_video_collapses_to_one_frame_each_scene(tmp_path: Path) -> None:
    path = tmp_path / "still.mp4"
    picture = np.asarray(generated_picture(7, SIZE))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        for _ in range(40):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode())
    every = hash_source(path, Limits(video_every_frame=True))
    assert [f.number for f in every.frames] == [0] and "39 near-repeats collapsed" in (every.note or "")
    assert len(hash_source(path, EVERY).frames) == 40


def test_odd_dimensions(made: dict[str, Path]) -> None:
    record = hash_source(made["odd"])
    assert record.error is None and (record.width, record.height) == (321, 179)
    assert len(record.frames) == 2 and all(f.quality >= 50 for f in record.frames)


def test_rotation_metadata_is_applied_as_players_do(made: dict[str, Path]) -> None:
    """Same pixels stored, one file with a 90° display matrix: its frames are the upright
    file's turned 90° counter-clockwise (the matrix's direction), exactly."""
    upright = next(iter_frames(made["upright"]))[2]
    rotated = next(iter_frames(made["rotated"]))[2]
    assert rotated.rotation == 90 and upright.rotation == 0
    assert np.array_equal(frame_luma(rotated), np.rot90(frame_luma(upright)))
    record = hash_source(made["rotated"])
    assert (record.width, record.height) == (SIZE[1], SIZE[0])
    turned = generated_video(made["rotated"].with_name("turned.mkv"), seconds=1, size=SIZE, seed=8, rotation=-90)
    assert next(iter_frames(turned))[2].rotation == -90 and frame_luma(next(iter_frames(turned))[2]).shape == (320, 180)


def test_variable_frame_rate_timestamps_come_from_pts(tmp_path: Path) -> None:
    path = tmp_path / "vfr.mkv"
    shown_at_ms = [0, 40, 80, 400, 440, 1500, 1540, 3000]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for k, ms in enumerate(shown_at_ms):
            frame = av.VideoFrame.from_ndarray(np.asarray(generated_picture(k, SIZE)), format="rgb24")
            frame.pts, frame.time_base = ms, Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    frames = [(n, t) for n, t, _ in iter_frames(path, every_frame=True)]
    assert [n for n, _ in frames] == list(range(len(shown_at_ms)))
    assert [t for _, t in frames] == pytest.approx([ms / 1000 for ms in shown_at_ms], abs=1e-3)


def test_threads_do_not_change_the_hashes(made: dict[str, Path]) -> None:
    one = hash_source(made["zoom"], EVERY)
    four = hash_source(made["zoom"], Limits(video_every_frame=True, video_collapse=False, video_threads=4))
    assert one.frames == four.frames and len(one.frames) == 90


def test_a_known_clip_inside_a_longer_video_is_found_at_its_time(made: dict[str, Path]) -> None:
    clip = frame_hashes(made["zoom"], every_frame=True)
    long = frame_hashes(made["long"], every_frame=True)
    assert len(long) == 8 * 30 + 3 * 30
    result = match_videos(clip, long)
    assert result.query_matched >= 0.9 and result.target_matched < 0.5  # the clip is a third of it
    found = [f.timestamp for f in long if match_videos([f], clip).query_matched == 1.0 and f.quality >= 50]
    assert found and min(found) >= 4.0 - 1e-6 and max(found) < 7.0
    unrelated = frame_hashes(made["pan"], every_frame=True)
    assert match_videos(clip, unrelated).query_matched == 0.0


def audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=48000)
        samples = (np.sin(np.arange(48000) / 20) * 8000).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 48000
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def test_bad_files_become_error_records(made: dict[str, Path], tmp_path: Path) -> None:
    good = made["zoom"].read_bytes()
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 40)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(made["pan"].read_bytes()[:20_000])  # the index (moov) is at the end: gone
    half = tmp_path / "half.mkv"
    half.write_bytes(good[: len(good) // 2])  # Matroska streams: the first half still decodes
    cases = {
        empty: "empty file",
        garbage: "not a readable video",
        cut: "not a readable video",
        audio_only(tmp_path / "voice.m4a"): "audio only",
    }
    for path, message in cases.items():
        record = hash_source(path)
        assert record.error and message in record.error, (path.name, record.error)
        assert record.frames == ()
    truncated = hash_source(half, EVERY)
    assert truncated.error and truncated.error.startswith("truncated"), truncated.error
    assert 10 < len(truncated.frames) < 90  # what could be read is kept
    assert truncated.value("sha256") == hashlib.sha256(half.read_bytes()).hexdigest()


def test_a_damaged_packet_is_skipped_and_the_rest_hashed(made: dict[str, Path]) -> None:
    data = bytearray(made["pan"].read_bytes())
    middle = len(data) // 3
    data[middle : middle + 3000] = np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    record = hash_source(BytesSource("damaged.mp4", bytes(data)), EVERY)
    assert record.error and record.error.startswith("damaged: "), record.error
    assert 140 <= len(record.frames) < 150  # frames after the damage are read too
    assert record.frames[-1].number == len(record.frames) - 1


def test_limits_refuse_huge_videos(made: dict[str, Path]) -> None:
    path = made["pan"]
    too_big = hash_source(path, Limits(max_file_bytes=1000, max_video_bytes=1000))
    assert too_big.error and "file size limit" in too_big.error
    too_long = hash_source(path, Limits(max_video_seconds=2))
    assert too_long.error and "2-second limit" in too_long.error and too_long.frames == ()
    too_wide = hash_source(path, Limits(max_video_pixels=100 * 100))
    assert too_wide.error and "pixel limit" in too_wide.error
    too_many = hash_source(path, Limits(max_video_frames=45))
    assert too_many.error and too_many.error.startswith("cut off at frame 45")
    assert [f.number for f in too_many.frames] == [0, 30]  # read before the limit: kept
    with pytest.raises(VideoError, match="2-second limit"):
        Video(path, Limits(max_video_seconds=2))


def test_without_pyav_a_record_names_the_extra(made: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mediamatch.media.video", None)  # as if `av` were missing
    record = hash_source(made["zoom"])
    assert record.error and "pip install 'mediamatch[video]'" in record.error
    assert record.value("sha256") is not None


def test_mixed_batch_through_hash_many(made: dict[str, Path], tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    generated_picture(9, (640, 480)).save(photo, quality=90)
    broken = tmp_path / "broken.webm"
    broken.write_bytes(b"\x1a\x45\xdf\xa3" + b"\x00" * 600)
    sources = [made["pan"], photo, broken, BytesSource("member.mkv", made["zoom"].read_bytes()), made["odd"], photo]
    records = list(hash_many(sources, workers=2))
    assert [r.path for r in records] == [str(s) if isinstance(s, Path) else s.name for s in sources]
    pan, image, bad, member, odd, image_again = records
    assert len(pan.frames) == 5 and pan.error is None
    assert image.value("pdq") and image.frames == () and image == image_again
    assert bad.error and bad.frames == ()
    assert member.error is None and len(member.frames) == 3
    assert odd.error is None and odd.width == 321


def test_frames_are_read_from_bytes_and_file_objects(made: dict[str, Path]) -> None:
    data = made["zoom"].read_bytes()
    from_path = frame_hashes(made["zoom"])
    assert frame_hashes(data) == from_path
    assert frame_hashes(io.BytesIO(data)) == from_path  # type: ignore[arg-type]


def test_a_video_closes_its_batch_so_videos_spread_over_workers() -> None:
    from mediamatch.media.hashing import _next_batch

    names = iter(["a.jpg", "b.jpg", "clip.MP4", "c.jpg", *(f"{n}.png" for n in range(10))])
    assert _next_batch(names) == ["a.jpg", "b.jpg", "clip.MP4"]
    assert len(_next_batch(names)) == 8  # FILES_PER_TASK pictures
    big = iter([BytesSource("raw.bin", bytes(33 * 1024 * 1024)), BytesSource("small.bin", b"x")])
    assert [s.name for s in _next_batch(big)] == ["raw.bin"]  # over BYTES_PER_TASK: alone


def test_generator_falls_back_to_mpeg4_without_libx264(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mediamatch.services import samples

    monkeypatch.setattr(samples, "_video_codec", lambda: "mpeg4")
    path = generated_video(tmp_path / "fallback.avi", seconds=1, size=SIZE, seed=6)
    record = hash_source(path)
    assert record.error is None and record.media_type == "video/x-msvideo"
    assert (record.note or "").startswith("video (mpeg4, 30 fps)") and len(record.frames) == 1


@pytest.mark.parametrize("breaks", ["stated_duration", "_seconds"])
def test_an_unforeseen_exception_is_the_files_error(made: dict[str, Path], breaks: str, monkeypatch) -> None:
    """Whatever a damaged file makes the binding or our arithmetic raise (here an overflow while
    reading the header, or while timing a frame) is the record's error, never the run's end."""
    import mediamatch.media.video as video_module

    def overflow(*_args: object) -> float:
        raise OverflowError("int too large to convert to float")

    monkeypatch.setattr(video_module, breaks, overflow)
    record = hash_source(made["upright"])
    assert record.value("sha256") and "int too large" in (record.error or "")
    assert record.error.startswith("not a readable video" if breaks == "stated_duration" else "damaged: reading stopped")
