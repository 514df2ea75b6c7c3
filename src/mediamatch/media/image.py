"""Decoding an image into the luma plane PDQ needs, safely and no more than needed.

Why not a full decode: PDQ blurs and shrinks every picture to 64x64, so a 12 MP JPEG decoded
at full size spends most of its time producing pixels that are averaged away. JPEGs are
decoded in the DCT domain at 1/2, 1/4 or 1/8 scale (Pillow `draft`, libjpeg-turbo), straight
to greyscale (the JPEG's own Y channel, which skips chroma decoding and colour conversion),
keeping at least DRAFT_MIN_SIDE pixels on the short side so PDQ's own filter still does the
final smoothing (distance to the full-decode reference is measured in
benchmarks/bench_hashing.py). Other formats are decoded fully and converted as the reference
Python path does (Pillow RGB, then 0.299/0.587/0.114 luma).

Hostile input is refused with a clear message: more pixels than MAX_PIXELS (decompression
bombs), truncated data, unknown formats.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from mediamatch.signals.pdq import luma_from_rgb

try:  # HEIC/AVIF through the maintained libheif binding, when installed
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - optional codec
    pass

MAX_PIXELS = 200_000_000
# Pillow's own bomb check (warning at 89M pixels, error at twice that) would override a caller's
# larger `max_pixels`; ours is the one that decides, so Pillow's is moved just above ours.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
DRAFT_MIN_SIDE = 512


class ImageDecodeError(Exception):
    """The bytes are not a decodable, safe image; the message says why."""


@dataclass(frozen=True, slots=True)
class DecodedImage:
    luma: np.ndarray  # float32 (h, w), after EXIF orientation
    width: int  # full-size width and height as displayed (after EXIF orientation)
    height: int
    note: str | None = None


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageDecodeError(f"refused: {width}x{height} is over the {max_pixels:,}-pixel limit (decompression bomb?)")


def decode_luma(data: bytes, max_pixels: int = MAX_PIXELS) -> DecodedImage:
    """The float32 luma plane of the first frame, oriented as a viewer would display it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # _check_pixels decides
            image = Image.open(io.BytesIO(data))
            _check_pixels(*image.size, max_pixels)
            return _decode(image)
    except ImageDecodeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageDecodeError(f"refused: decompression bomb ({exc})") from None
    except UnidentifiedImageError:
        raise ImageDecodeError("not a decodable image (unknown or corrupt format)") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise ImageDecodeError(f"corrupt or truncated image: {exc}") from None


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - a broken EXIF block must not lose the picture
        return 1


def _decode(image: Image.Image) -> DecodedImage:
    source = image
    orientation = _orientation(image)
    full_w, full_h = image.size
    note = None
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        image.seek(0)
        note = f"animated: first of {frames} frames hashed"
    if image.format == "JPEG" and image.mode in ("RGB", "L", "YCbCr"):
        scale = _draft_scale(full_w, full_h)
        image.draft("L", (full_w // scale, full_h // scale))
        image = image.convert("L") if image.mode != "L" else image
        image.load()
        luma = np.asarray(image, dtype=np.float32)
    else:
        image.load()
        luma = luma_from_rgb(np.asarray(_to_rgb(image)))
    if orientation != 1 and _orientation(source) == 1:
        # Pillow's TIFF loader turns the picture itself while loading and drops the tag;
        # turning it again would hash it upside down or sideways.
        orientation = 1
        full_w, full_h = source.size
    if orientation in (5, 6, 7, 8):
        full_w, full_h = full_h, full_w
    luma = _apply_orientation(luma, orientation)
    return DecodedImage(luma=np.ascontiguousarray(luma), width=full_w, height=full_h, note=note)


def _draft_scale(width: int, height: int) -> int:
    """The largest JPEG DCT scale (1, 2, 4, 8) that keeps DRAFT_MIN_SIDE pixels on the short side.

    512 is measured: at 1/2 scale a 1600x1004 reference photo drifted 12 bits from the
    reference hash, at full size (greyscale) 8, the same as a full RGB decode."""
    scale = 1
    while scale < 8 and min(width, height) // (scale * 2) >= DRAFT_MIN_SIDE:
        scale *= 2
    return scale


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB exactly as the peers' Pillow path (`Image.convert("RGB")`) produces it, so a file
    decoded here hashes like it does in python-threatexchange and HMA; modes Pillow cannot
    convert directly go through 32-bit integer first."""
    try:
        return image.convert("RGB")
    except ValueError:
        return image.convert("I").convert("RGB")


def _apply_orientation(luma: np.ndarray, orientation: int) -> np.ndarray:
    """Turn the stored pixels the way EXIF tag 0x0112 says a viewer shows them."""
    transforms = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1, :],
        5: lambda a: a.T,
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].T,
        8: lambda a: np.rot90(a, 1),
    }
    return transforms.get(orientation, lambda a: a)(luma)
