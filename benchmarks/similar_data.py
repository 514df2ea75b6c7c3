"""Benign evaluation data for the similarity benchmarks, built from ../shared/testdata/photos.

The photos are shuffled with a fixed seed and split three ways: CATALOGUED photos (the
catalogue, and the sources of every copy), SCENES (each gives a catalogued left view and a
searched right view; the photo itself is never catalogued, so the right view cannot be a crop
of a catalogued picture) and NEGATIVES (never catalogued: each is searched against the whole
catalogue, and every verified hit is a false match). Low-detail pictures (PDQ quality under 50)
are generated (smooth gradients with soft blobs, like skies and walls) or made from photos
(`dimmed`: blurred, darkened or flattened until PDQ's quality is under 50); LOW NEGATIVES are
low-detail pictures never catalogued (generated ones, and dimmed negative photos), searched like
the negatives, so the false-match count covers low-detail queries too.

Edits (each from a different catalogued photo, random but seeded):
- crop p%: a window with p% of the area removed (the window keeps sqrt(1 - p) of each side),
  placed at random;
- rotate 10°: turned by 10° with the corners filled black (as an editor does);
- pasted at 40%: the photo shrunk to 40% of a host's width and pasted at a random place into a
  negative photo;
- low-detail: a generated low-detail picture at 60% size, re-encoded as JPEG quality 70;
- low-detail photo: a catalogued dimmed photo at 60% size, re-encoded as JPEG quality 70;
- screenshot: the photo shown at 55-75% of a 1280x800 window's width, under a title bar and
  beside a side panel, with a caption bar and text drawn over it (drawn with its own seeded
  random source, so the other edits' data do not change);
- other view: the right 2/3 of a scene photo (overlapping the catalogued left 2/3 by half), with a
  slight perspective change (corners moved by up to 4% of the sides) and brightness x1.15.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "photos"
MAX_SIDE = 1024
EDITS = ("crop10", "crop25", "crop50", "rotate10", "pasted40", "lowdetail", "lowdetail-photo", "otherview", "screenshot")


@dataclass
class Dataset:
    catalogue: dict[str, Image.Image] = field(default_factory=dict)  # name -> picture
    queries: dict[str, list[tuple[str, Image.Image]]] = field(default_factory=dict)  # edit -> (expected catalogue name, picture)
    negatives: list[Image.Image] = field(default_factory=list)
    low_negatives: list[Image.Image] = field(default_factory=list)  # low-detail, never catalogued


def load_photos() -> list[Image.Image]:
    if not PHOTOS.is_dir():
        raise SystemExit(f"{PHOTOS} is missing: the similarity benchmarks need the shared benign photos")
    photos = []
    for path in sorted(PHOTOS.iterdir()):
        try:
            image = Image.open(path)
            image.load()
        except OSError:
            continue
        image = image.convert("RGB")
        image.thumbnail((MAX_SIDE, MAX_SIDE))
        if min(image.size) >= 200:
            photos.append(image)
    return photos


def jpeg(image: Image.Image, quality: int = 90) -> Image.Image:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    out.seek(0)
    reread = Image.open(out)
    reread.load()
    return reread


def low_detail_picture(rng: random.Random, size: tuple[int, int] = (800, 600)) -> Image.Image:
    """A smooth picture (gradient sky, soft blobs, faint texture) whose PDQ quality is low."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    top, bottom = np.array([rng.uniform(20, 200) for _ in range(3)]), np.array([rng.uniform(20, 200) for _ in range(3)])
    angle = rng.uniform(0, math.pi)
    t = ((x * math.cos(angle) + y * math.sin(angle)) / (width + height) + 0.5).clip(0, 1)[..., None]
    picture = top * (1 - t) + bottom * t
    for _ in range(rng.randint(3, 7)):
        cx, cy, radius = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(40, 200)
        colour = np.array([rng.uniform(-60, 60) for _ in range(3)])
        picture += colour * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * radius**2))[..., None]
    noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, 2.0, (height, width, 1))
    image = Image.fromarray(np.clip(picture + noise, 0, 255).astype(np.uint8))
    return image.filter(ImageFilter.GaussianBlur(1.5))


def pdq_quality(image: Image.Image) -> int:
    from mediamatch.media.image import decode_luma
    from mediamatch.signals.pdq import pdq_from_luma

    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=90)
    return pdq_from_luma(decode_luma(out.getvalue()).luma)[1]


def dimmed(photo: Image.Image, rng: random.Random) -> Image.Image | None:
    """The photo made low-detail as a dark, blurred or soft-light one would be (PDQ quality under
    50), stronger each try; None when no try brings it under 50."""
    kind = rng.choice(("blur", "dark", "soft"))
    for strength in (1.0, 2.0, 4.0, 8.0):
        side = max(photo.size)
        if kind == "blur":
            picture = photo.filter(ImageFilter.GaussianBlur(side * strength / rng.uniform(40, 70)))
        elif kind == "dark":
            picture = ImageEnhance.Brightness(photo.filter(ImageFilter.GaussianBlur(side * strength / 200))).enhance(rng.uniform(0.12, 0.3) / strength)
        else:
            picture = ImageEnhance.Contrast(photo.filter(ImageFilter.GaussianBlur(side * strength / 120))).enhance(rng.uniform(0.35, 0.6))
        if pdq_quality(picture) < 50:
            return picture
    return None


def crop(image: Image.Image, removed: float, rng: random.Random) -> Image.Image:
    keep = math.sqrt(1 - removed)
    width, height = image.size
    w, h = round(width * keep), round(height * keep)
    left, top = rng.randint(0, width - w), rng.randint(0, height - h)
    return image.crop((left, top, left + w, top + h))


def pasted(image: Image.Image, host: Image.Image, share: float, rng: random.Random) -> Image.Image:
    host = host.copy()
    width = round(host.width * share)
    small = image.resize((width, max(1, round(image.height * width / image.width))), Image.Resampling.LANCZOS)
    if small.height >= host.height:
        small = small.resize((max(1, small.width * (host.height - 1) // small.height), host.height - 1))
    host.paste(small, (rng.randint(0, host.width - small.width), rng.randint(0, host.height - small.height)))
    return host


def screenshot(image: Image.Image, rng: random.Random) -> Image.Image:
    """`image` as a screen capture of a viewer shows it: window chrome around it, overlays on it."""
    from PIL import ImageDraw, ImageFont

    window = Image.new("RGB", (1280, 800), (238, 238, 238))
    draw = ImageDraw.Draw(window)
    draw.rectangle((0, 0, 1280, 40), fill=(40, 44, 52))
    draw.rectangle((0, 40, 220, 800), fill=(250, 250, 250))
    font = ImageFont.load_default(size=18)
    for row in range(12):
        draw.text((16, 60 + 52 * row), f"folder {rng.randint(100, 999)}", fill=(60, 60, 60), font=font)
    width = round(1280 * rng.uniform(0.55, 0.75))
    shown = image.resize((width, round(image.height * width / image.width)), Image.Resampling.BILINEAR)
    if shown.height > 740:
        shown = shown.resize((round(shown.width * 740 / shown.height), 740), Image.Resampling.BILINEAR)
    left, top = rng.randint(230, 1280 - shown.width), rng.randint(45, 800 - shown.height)
    window.paste(shown, (left, top))
    overlay = Image.new("RGBA", window.size, (0, 0, 0, 0))
    layer = ImageDraw.Draw(overlay)
    layer.rectangle((left, top + shown.height - 36, left + shown.width, top + shown.height), fill=(0, 0, 0, 150))
    layer.text(
        (left + 12, top + shown.height - 30),
        f"IMG_{rng.randint(1000, 9999)}.jpg  {rng.randint(1, 12)}:{rng.randint(10, 59)}",
        fill=(255, 255, 255, 255),
        font=font,
    )
    layer.text((left + 12, top + 10), "shared with you", fill=(255, 255, 255, 230), font=font)
    return Image.alpha_composite(window.convert("RGBA"), overlay).convert("RGB")


def other_view(image: Image.Image, rng: random.Random) -> tuple[Image.Image, Image.Image]:
    """(catalogued left view, searched right view) of one scene, overlapping by half."""
    width, height = image.size
    third = width // 3
    left = image.crop((0, 0, 2 * third, height))
    right = image.crop((third, 0, width, height))
    w, h = right.size
    jitter = [(rng.uniform(-0.04, 0.04) * w, rng.uniform(-0.04, 0.04) * h) for _ in range(4)]
    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    moved = [(cx + dx, cy + dy) for (cx, cy), (dx, dy) in zip(corners, jitter)]
    coefficients = _perspective(corners, moved)
    right = right.transform((w, h), Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BICUBIC)
    return left, ImageEnhance.Brightness(right).enhance(1.15)


def _perspective(target: list[tuple[float, float]], source: list[tuple[float, float]]) -> list[float]:
    rows = []
    for (x, y), (u, v) in zip(target, source):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    values = np.array([coordinate for point in source for coordinate in point], np.float64)
    return list(np.linalg.solve(np.array(rows, np.float64), values))


def build(per_edit: int = 40, scenes: int = 30, negatives: int = 80, low_detail: int = 40, seed: int = 11) -> Dataset:
    rng = random.Random(seed)
    photos = load_photos()
    rng.shuffle(photos)
    negative_photos, scene_photos, catalogued = photos[:negatives], photos[negatives : negatives + scenes], photos[negatives + scenes :]
    data = Dataset(negatives=[jpeg(photo) for photo in negative_photos])
    for number, photo in enumerate(catalogued):
        data.catalogue[f"photo-{number}"] = jpeg(photo)
    for number in range(low_detail):
        data.catalogue[f"low-{number}"] = jpeg(low_detail_picture(rng))
    views = [other_view(photo, rng) for photo in scene_photos]
    for number, (left, _) in enumerate(views):
        data.catalogue[f"scene-{number}"] = jpeg(left)
    names = [name for name in data.catalogue if name.startswith("photo-")]

    def sources() -> list[str]:
        return rng.sample(names, min(per_edit, len(names)))

    data.queries["crop10"] = [(name, jpeg(crop(data.catalogue[name], 0.10, rng))) for name in sources()]
    data.queries["crop25"] = [(name, jpeg(crop(data.catalogue[name], 0.25, rng))) for name in sources()]
    data.queries["crop50"] = [(name, jpeg(crop(data.catalogue[name], 0.50, rng))) for name in sources()]
    data.queries["rotate10"] = [(name, jpeg(data.catalogue[name].rotate(10, resample=Image.Resampling.BICUBIC, expand=True))) for name in sources()]
    data.queries["pasted40"] = [(name, jpeg(pasted(data.catalogue[name], rng.choice(data.negatives), 0.4, rng))) for name in sources()]
    data.queries["lowdetail"] = [
        (f"low-{number}", jpeg(data.catalogue[f"low-{number}"].resize((480, 360), Image.Resampling.BILINEAR), 70)) for number in range(low_detail)
    ]
    data.queries["otherview"] = [(f"scene-{number}", jpeg(right)) for number, (_, right) in enumerate(views)]
    dim = [picture for name in sources() if (picture := dimmed(data.catalogue[name], rng)) is not None]
    for number, picture in enumerate(dim):
        data.catalogue[f"dim-{number}"] = jpeg(picture)
    data.queries["lowdetail-photo"] = [
        (f"dim-{number}", jpeg(picture.resize((round(picture.width * 0.6), round(picture.height * 0.6)), Image.Resampling.BILINEAR), 70))
        for number, picture in enumerate(dim)
    ]
    data.low_negatives = [jpeg(low_detail_picture(rng)) for _ in range(max(1, negatives // 4))]
    data.low_negatives += [jpeg(picture) for photo in negative_photos[: max(1, negatives // 4)] if (picture := dimmed(photo, rng)) is not None]
    own = random.Random(seed + 1)
    data.queries["screenshot"] = [(name, jpeg(screenshot(data.catalogue[name], own))) for name in own.sample(names, min(per_edit, len(names)))]
    return data
