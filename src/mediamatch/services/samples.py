"""Benign pictures the code generates, for the demo and for benchmarks on a fresh clone.

A fresh clone has no test photo collection, and nothing may be downloaded, so the demo draws
its own: seeded scenes of gradients, shapes and texture. They are detailed enough for PDQ to
give high-quality hashes (quality well above 50) and different enough from one another that two
scenes never match, which is what a realistic demo of near-duplicate search needs.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


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
