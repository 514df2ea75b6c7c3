"""The one thumbnailer: bombs refused before decoding, pictures upright, reduced by default.

Why these: a thumbnail is the one decode a person's request triggers on stored content, so a
hostile file must not exhaust memory; a sideways phone photo must not be shown (or compared)
sideways; and an unrevealed view must really be greyscale and blurred.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from mediamatch.media import thumbnail as thumbnails
from mediamatch.media.thumbnail import PANEL_GAP, SIZE, ThumbnailError, jpeg_bytes, placeholder, side_by_side, thumbnail


def encoded(picture: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    out = io.BytesIO()
    picture.save(out, fmt, **options)
    return out.getvalue()


def left_half_white(width: int, height: int) -> Image.Image:
    """White on the left, black on the right: where the white ends up shows the orientation."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, : width // 2] = 255
    return Image.fromarray(pixels)


def test_a_picture_larger_than_the_pixel_limit_is_refused_before_decoding() -> None:
    data = encoded(Image.new("L", (300, 300)))
    with pytest.raises(ThumbnailError, match="over the 50,000-pixel limit"):
        thumbnail(data, max_pixels=50_000)
    assert thumbnail(data, max_pixels=90_000).size == (SIZE, SIZE)


def test_pillows_own_bomb_warning_is_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)  # Pillow warns past this, errors past twice it
    with pytest.raises(ThumbnailError, match="no picture to show"):
        thumbnail(encoded(Image.new("L", (150, 100))))


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: a viewer turns it 90 degrees clockwise
    data = encoded(left_half_white(400, 200), "JPEG", exif=exif.tobytes(), quality=95)
    shown = np.asarray(thumbnail(data, reveal=True).convert("L"), np.float32)
    assert shown.shape == (SIZE, SIZE // 2)  # 200 x 400 upright, fitted into 256
    assert shown[: SIZE // 2 - 20].mean() > 200 and shown[SIZE // 2 + 20 :].mean() < 50  # the white side is on top


def test_unrevealed_thumbnails_are_greyscale_and_blurred() -> None:
    data = encoded(left_half_white(512, 512))
    revealed = thumbnail(data, reveal=True)
    reduced = thumbnail(data)
    assert revealed.mode == "RGB" and reduced.mode == "L" and reduced.size == revealed.size == (SIZE, SIZE)
    edge = np.asarray(reduced, np.float32)[SIZE // 2, SIZE // 2 - 4 : SIZE // 2 + 4]
    sharp = np.asarray(revealed.convert("L"), np.float32)[SIZE // 2, SIZE // 2 - 4 : SIZE // 2 + 4]
    assert np.abs(np.diff(sharp)).max() > 200  # a hard edge ...
    assert np.abs(np.diff(edge)).max() < 40  # ... smeared by the blur
    assert thumbnails.BLUR_RADIUS >= 4


def test_what_is_no_picture_is_refused_clearly() -> None:
    with pytest.raises(ThumbnailError, match="no picture to show"):
        thumbnail(b"not an image at all")
    with pytest.raises(ThumbnailError):
        thumbnail(encoded(left_half_white(64, 64), "JPEG")[:200])  # truncated


def test_side_by_side_centres_each_panel_and_encodes_as_jpeg() -> None:
    wide = thumbnail(encoded(left_half_white(512, 256)), reveal=True)
    canvas = side_by_side([wide, placeholder("no upload")], reveal=True)
    assert canvas.size == (2 * SIZE + PANEL_GAP, SIZE) and canvas.mode == "RGB"
    pixels = np.asarray(canvas.convert("L"), np.float32)
    assert pixels[: SIZE // 4 - 2, :SIZE].max() == 0  # the wide panel sits centred: black above it
    assert abs(pixels[:, SIZE + PANEL_GAP :].mean() - 128) < 40  # the grey placeholder on the right
    assert side_by_side([placeholder("a"), placeholder("b")]).mode == "L"  # greyscale unless revealed
    jpeg = jpeg_bytes(canvas)
    assert jpeg[:3] == b"\xff\xd8\xff" and Image.open(io.BytesIO(jpeg)).size == canvas.size
