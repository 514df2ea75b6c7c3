"""Thumbnails of known material: small, safe to decode, and reduced by default.

Every picture a person is shown comes from here (the triage report, the API's thumbnail, the
review's side-by-side comparison), so each is made the same way:

- decompression bombs are refused before decoding, at media/image.py's pixel limit (the
  limit hashing applies), and Pillow's own bomb warning is treated as a refusal;
- JPEGs are decoded at a reduced DCT scale (`draft`), so a 12 MP photo costs a fraction of a
  full decode;
- EXIF orientation is applied, so the picture stands as a viewer shows it;
- greyscale and blurred unless the caller reveals it (investigator wellness: the full
  picture is an explicit, audited choice). The report reveals in colour because its page
  blurs every picture until clicked.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFilter, ImageOps

from mediamatch.media.image import MAX_PIXELS

SIZE = 256  # the API's thumbnail and each panel of the review comparison
BLUR_RADIUS = 8
JPEG_QUALITY = 80
PANEL_GAP = 8


class ThumbnailError(ValueError):
    """No thumbnail can be made safely from these bytes; the message says why."""


def thumbnail(data: bytes, size: int = SIZE, *, reveal: bool = False, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """The picture in `data`, upright, fitted into `size` x `size`: greyscale and blurred
    unless `reveal`, else RGB. Raises ThumbnailError when `data` is no picture or too large."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture: Image.Image = Image.open(io.BytesIO(data))
            width, height = picture.size
            if width * height > max_pixels:
                raise ThumbnailError(f"refused: {width}x{height} is over the {max_pixels:,}-pixel limit (decompression bomb?)")
            picture.draft("RGB", (size * 2, size * 2))
            picture = ImageOps.exif_transpose(picture).convert("RGB")
            picture.thumbnail((size, size))
    except ThumbnailError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure (unknown format, truncated, bomb): no picture
        raise ThumbnailError(f"no picture to show ({type(exc).__name__})") from None
    if not reveal:
        picture = picture.convert("L").filter(ImageFilter.GaussianBlur(BLUR_RADIUS))
    return picture


def placeholder(label: str, size: int = SIZE) -> Image.Image:
    """A grey square saying why there is no picture (e.g. "no upload")."""
    blank = Image.new("L", (size, size), 128)
    ImageDraw.Draw(blank).text((8, size // 2), label, fill=255)
    return blank


def side_by_side(panels: Sequence[Image.Image], size: int = SIZE, *, reveal: bool = False) -> Image.Image:
    """`panels` (each at most `size` square) centred in a row, PANEL_GAP apart: greyscale
    unless `reveal`. The review's comparison of a platform's upload and our known item."""
    canvas = Image.new("RGB" if reveal else "L", (len(panels) * size + (len(panels) - 1) * PANEL_GAP, size), 0)
    for number, panel in enumerate(panels):
        left = number * (size + PANEL_GAP) + (size - panel.width) // 2
        canvas.paste(panel.convert(canvas.mode), (left, (size - panel.height) // 2))
    return canvas


def jpeg_bytes(picture: Image.Image, quality: int = JPEG_QUALITY) -> bytes:
    """`picture` as a JPEG file."""
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality)
    return out.getvalue()
