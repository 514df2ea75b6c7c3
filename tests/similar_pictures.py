"""Benign pictures for similarity tests: textured generated scenes (hundreds of SIFT keypoints,
unlike the demo's smooth scenes), smooth low-detail ones (PDQ quality under 50, few keypoints)
and the edits the similarity search must see through."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter


def textured_picture(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A plain background under 400 small random shapes: detailed, different for every seed."""
    rng = np.random.default_rng(seed)
    width, height = size
    picture = Image.new("RGB", size, tuple(int(c) for c in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(picture)
    for _ in range(400):
        x, y, side = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(4, 40)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = rng.integers(0, 3)
        if shape == 0:
            draw.ellipse((x, y, x + side, y + side * rng.uniform(0.5, 1.5)), fill=colour)
        elif shape == 1:
            draw.rectangle((x, y, x + side, y + side * rng.uniform(0.5, 1.5)), fill=colour)
        else:
            draw.polygon([(x + rng.uniform(0, side), y + rng.uniform(0, side)) for _ in range(3)], fill=colour)
    return picture


def smooth_picture(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A sky-like gradient under a few soft blobs, blurred: low detail, different for every seed."""
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (x * rng.uniform(-1, 1) + y * rng.uniform(-1, 1)) / (width + height)
    picture = rng.uniform(60, 180) + 60 * ramp
    for _ in range(5):
        cx, cy, radius = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(50, 150)
        picture = picture + rng.uniform(-50, 50) * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * radius**2))
    grey = Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(2))
    return Image.merge("RGB", (grey, grey, grey))


def resized(picture: Image.Image, share: float) -> Image.Image:
    return picture.resize((round(picture.width * share), round(picture.height * share)), Image.Resampling.BILINEAR)


def crop_area(picture: Image.Image, keep: float) -> Image.Image:
    """The centre window keeping `keep` of the area."""
    side = math.sqrt(keep)
    width, height = picture.size
    w, h = round(width * side), round(height * side)
    left, top = (width - w) // 2, (height - h) // 2
    return picture.crop((left, top, left + w, top + h))


def pasted_into(picture: Image.Image, host: Image.Image, share: float = 0.4) -> Image.Image:
    host = host.copy()
    width = round(host.width * share)
    small = picture.resize((width, round(picture.height * width / picture.width)), Image.Resampling.LANCZOS)
    host.paste(small, (host.width // 3, host.height // 4))
    return host


def views(picture: Image.Image) -> tuple[Image.Image, Image.Image]:
    """(left, right) views of one scene overlapping by half, the right one seen slightly from
    the side (perspective) and brighter."""
    width, height = picture.size
    third = width // 3
    left, right = picture.crop((0, 0, 2 * third, height)), picture.crop((third, 0, width, height))
    w, h = right.size
    # PIL's perspective coefficients map output to input pixels: the far side is squeezed.
    coefficients = (1.0, 0.02, 0.0, 0.03, 1.0, -0.03 * w / 2, 0.00008, 0.0)
    right = right.transform((w, h), Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BICUBIC)
    return left, ImageEnhance.Brightness(right).enhance(1.15)


def jpeg_bytes(picture: Image.Image, quality: int = 92) -> bytes:
    out = io.BytesIO()
    picture.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def save(picture: Image.Image, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg_bytes(picture))
    return path
