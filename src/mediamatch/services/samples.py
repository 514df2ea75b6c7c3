"""Benign pictures the code generates, for the demo and for benchmarks on a fresh clone.

A fresh clone has no test photo collection, and nothing may be downloaded, so the demo draws
its own: seeded scenes of gradients, shapes and texture, and videos that pan and zoom over them. They are detailed enough for PDQ to
give high-quality hashes (quality well above 50) and different enough from one another that two
scenes never match, which is what a realistic demo of near-duplicate search needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain, islice
from pathlib import Path
from typing import cast

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SCENE_SECONDS = 4.0  # generated videos cut to a new picture this often


def generated_picture(seed: int, size: tuple[int, int] = (800, 600)) -> Image.Image:
    """One benign synthetic scene, the same for the same seed."""
    rng = np.random.default_rng(seed)
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    ramp = (np.cos(angle) * xs / width + np.sin(angle) * ys / height + 1) / 2
    low, high = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    background = low + ramp[..., None] * (high - low)
    picture = Image.fromarray(background.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    for _ in range(int(rng.integers(12, 24))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x0, y0 = rng.uniform(-0.1, 1.0) * width, rng.uniform(-0.1, 1.0) * height
        w, h = rng.uniform(0.05, 0.45) * width, rng.uniform(0.05, 0.45) * height
        shape = rng.integers(0, 3)
        if shape == 0:
            draw.ellipse((x0, y0, x0 + w, y0 + h), fill=colour)
        elif shape == 1:
            draw.rectangle((x0, y0, x0 + w, y0 + h), fill=colour)
        else:
            points = [(x0 + rng.uniform(0, w), y0 + rng.uniform(0, h)) for _ in range(int(rng.integers(3, 7)))]
            draw.polygon(points, fill=colour)
    picture = picture.filter(ImageFilter.GaussianBlur(radius=1.2))
    grain = rng.normal(0, 4, (height, width, 1))
    return Image.fromarray((np.asarray(picture, dtype=np.float32) + grain).clip(0, 255).astype(np.uint8))


def generated_pictures(count: int, size: tuple[int, int] = (800, 600), first_seed: int = 0) -> Iterator[Image.Image]:
    for seed in range(first_seed, first_seed + count):
        yield generated_picture(seed, size)


def _video_codec() -> str:
    """libx264 where PyAV's FFmpeg has it (the usual wheels do), else FFmpeg's own MPEG-4 Part 2."""
    import av  # the [video] extra: imported here so pictures and the demo work without it

    try:
        av.codec.Codec("libx264", "w")
    except (av.codec.codec.UnknownCodecError, av.FFmpegError):
        return "mpeg4"
    return "libx264"


def _scene_frames(seconds: float, fps: int, size: tuple[int, int], seed: int, motion: str) -> Iterator[np.ndarray]:
    """Camera moves over generated pictures, a new picture (scene) every SCENE_SECONDS."""
    width, height = size
    frames_per_scene = max(1, int(SCENE_SECONDS * fps))
    total = round(seconds * fps)
    for first in range(0, total, frames_per_scene):
        count = min(frames_per_scene, total - first)
        scene_seed = seed * 1000 + first // frames_per_scene
        if motion == "pan":
            # A picture 1.5x the frame; the window slides diagonally across it at integer steps.
            picture = np.asarray(generated_picture(scene_seed, (width * 3 // 2, height * 3 // 2)))
            for k in range(count):
                x = (width // 2) * k // max(1, count - 1)
                y = (height // 2) * k // max(1, count - 1)
                yield picture[y : y + height, x : x + width]
        elif motion == "zoom":
            scene = generated_picture(scene_seed, (width * 2, height * 2))
            for k in range(count):
                scale = 1.0 - 0.5 * k / max(1, count - 1)  # from the whole picture to its middle half
                w, h = width * 2 * scale, height * 2 * scale
                box = (width - w / 2, height - h / 2, width + w / 2, height + h / 2)
                yield np.asarray(scene.resize((width, height), Image.Resampling.BILINEAR, box=box))
        else:
            raise ValueError(f"motion must be 'pan' or 'zoom', not {motion!r}")


def _clip_frames(clip: str | Path, fps: int, size: tuple[int, int]) -> list[np.ndarray]:
    """Every frame of `clip` resampled to `fps` by presentation time and scaled to `size`."""
    import av

    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        decoded = [(float(frame.time or 0.0), frame.to_ndarray(format="rgb24", width=size[0], height=size[1])) for frame in container.decode(stream)]
    if not decoded:
        raise ValueError(f"{clip}: no video frames")
    end = decoded[-1][0] + 1 / float(stream.average_rate or fps)
    frames, index = [], 0
    for k in range(round(end * fps)):
        while index + 1 < len(decoded) and decoded[index + 1][0] <= k / fps:
            index += 1
        frames.append(decoded[index][1])
    return frames


def generated_video(
    path: str | Path,
    *,
    seconds: float,
    fps: int = 30,
    size: tuple[int, int] = (640, 360),
    seed: int = 0,
    motion: str = "pan",
    insert: tuple[str | Path, float] | None = None,
    rotation: int = 0,
) -> Path:
    """Write a benign video: pans or zooms over generated pictures, a new scene every few seconds.

    H.264 (libx264) in the container the suffix names (.mp4, .mkv, .mov …), MPEG-4 Part 2 where
    libx264 is missing. `insert=(clip, at)` splices every frame of another video in at `at`
    seconds (the result is longer by the clip's length): a known clip inside a longer video.
    `rotation` writes a display matrix (degrees counter-clockwise, as players apply it). Odd
    sizes are encoded as 4:4:4, since 4:2:0 needs even ones. Same arguments, same pictures."""
    frames: Iterator[np.ndarray] = _scene_frames(seconds, fps, size, seed, motion)
    if insert is not None:
        clip, at = insert
        cut = round(at * fps)
        frames = chain(islice(frames, cut), _clip_frames(clip, fps, size), frames)
    return _write_video(Path(path), frames, fps, size, rotation)


def restyled_video(
    source: str | Path,
    path: str | Path,
    *,
    fps: int = 30,
    size: tuple[int, int] = (640, 360),
    picture: tuple[int, int] | None = None,
    grey: bool = False,
    logo: float = 0.0,
) -> Path:
    """The footage of `source` as another copy of it shows it: resampled to `fps` and scaled to
    `size`, or to `picture` centred in black bars of `size` (letterbox or pillarbox), in grey,
    with a logo over the top right corner `logo` of the width wide (a white disc, black ring)."""
    inner = picture or size
    left, top = (size[0] - inner[0]) // 2, (size[1] - inner[1]) // 2

    def restyled(frame: np.ndarray) -> np.ndarray:
        canvas = np.zeros((size[1], size[0], 3), np.uint8)
        if grey:
            frame = np.repeat(np.asarray(Image.fromarray(frame).convert("L"))[..., None], 3, axis=2)
        canvas[top : top + inner[1], left : left + inner[0]] = frame
        if logo:
            drawn = Image.fromarray(canvas)
            diameter = logo * size[0]
            x0, y0 = left + inner[0] - diameter * 1.1, top + diameter * 0.1
            ImageDraw.Draw(drawn).ellipse((x0, y0, x0 + diameter, y0 + diameter), fill=(255, 255, 255), outline=(0, 0, 0), width=max(2, int(diameter / 10)))
            canvas = np.asarray(drawn)
        return canvas

    return _write_video(Path(path), (restyled(frame) for frame in _clip_frames(source, fps, inner)), fps, size, 0)


def video_of_pictures(path: str | Path, pictures: Iterable[Image.Image], fps: int) -> Path:
    """A video showing `pictures` one frame each (all of the first one's size), e.g. a known
    picture appearing in footage."""
    frames = [np.asarray(picture.convert("RGB")) for picture in pictures]
    height, width = frames[0].shape[:2]
    return _write_video(Path(path), frames, fps, (width, height), 0)


def _write_video(path: Path, frames: Iterable[np.ndarray], fps: int, size: tuple[int, int], rotation: int) -> Path:
    """H.264 (else MPEG-4 Part 2) of RGB frames, in the container the suffix names."""
    import av

    codec = _video_codec()
    with av.open(str(path), mode="w") as container:
        stream = cast("av.VideoStream", container.add_stream(codec, rate=fps))  # a video codec's stream
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p" if size[0] % 2 == 0 and size[1] % 2 == 0 else "yuv444p"
        stream.codec_context.thread_count = 1
        if codec == "libx264":
            stream.options = {"preset": "veryfast", "crf": "20", "threads": "1"}
        else:
            stream.bit_rate = 4_000_000
        if rotation:
            stream.set_display_rotation(rotation)
        for pixels in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path
