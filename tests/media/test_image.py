"""Safe decoding: every Pillow mode and container gives the luma a viewer would see, hostile
bytes give a clear ImageDecodeError, and the file type comes from the bytes, not the name.

Pictures are generated here (shapes and gradients, nothing else); the shared ThreatExchange
images are used in place when present.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from mediamatch.media.hashing import hash_bytes, hash_source
from mediamatch.media.image import DECODE_BYTES_PER_PIXEL, MAX_DECODE_BYTES, PEERS_DIFFER, DecodedImage, ImageDecodeError, decode_bytes, decode_luma
from mediamatch.signals.pdq import luma_from_rgb, pdq_from_luma
from tests.hostile_files import png_chunk, png_header_only

W, H = 256, 192  # not square, so a lost rotation shows in the shape
NEAR = 10  # bits: "the same picture" after lossless re-encoding or a mode change (JPEG measured 2)
MODES_DIR = Path("threatexchange/pdq/data/misc-images/modes")
EXIF_DIR = Path("threatexchange/pdq/data/reg-test-input/exif-rotn")


def picture(width: int = W, height: int = H, seed: int = 0) -> Image.Image:
    """A colourful picture with strong, asymmetric structure (so PDQ quality is high)."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // width, y * 255 // height, ((x + 2 * y) % 64) * 4], axis=-1).astype(np.uint8)
    image = Image.fromarray(rgb, "RGB")
    draw = ImageDraw.Draw(image)
    rng = np.random.default_rng(seed)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, width - 40)), int(rng.integers(0, height - 40))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.rectangle((x0, y0, x0 + int(rng.integers(20, 90)), y0 + int(rng.integers(15, 60))), fill=colour)
    draw.ellipse((width // 8, height // 2, width // 2, height - 10), fill=(250, 240, 20))
    return image


def black_and_white(width: int = W, height: int = H) -> Image.Image:
    """Pure black and white content, so mode "1" keeps the picture exactly."""
    image = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 120, 90), fill=255)
    draw.ellipse((140, 60, 240, 180), fill=255)
    draw.polygon([(10, 180), (60, 110), (110, 180)], fill=255)
    return image


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def pdq(luma: np.ndarray) -> np.ndarray:
    hash_bytes_, _quality = pdq_from_luma(luma)
    return hash_bytes_


def reference_hash(image: Image.Image) -> np.ndarray:
    """PDQ of the picture's RGB pixels, computed straight from memory (no file, no decoder)."""
    return pdq(luma_from_rgb(np.asarray(image.convert("RGB"))))


def distance(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.unpackbits(np.bitwise_xor(a, b)).sum())


def check_luma(decoded: DecodedImage, width: int = W, height: int = H) -> None:
    assert decoded.luma.dtype == np.float32
    assert decoded.luma.shape == (height, width)
    assert (decoded.width, decoded.height) == (width, height)
    assert decoded.luma.flags["C_CONTIGUOUS"]
    assert float(decoded.luma.min()) >= 0.0 and float(decoded.luma.max()) <= 255.0


def sixteen_bit(image: Image.Image) -> Image.Image:
    """The picture's grey levels widened to the full 16-bit range, as a 16-bit scan would be."""
    grey = np.asarray(image.convert("L")).astype(np.uint16) * 257
    return Image.fromarray(grey)  # mode I;16


# (mode, container, how to make that mode from the RGB picture)
MODE_CASES = [
    ("L", "PNG", lambda im: im.convert("L")),
    ("L", "TIFF", lambda im: im.convert("L")),
    ("LA", "PNG", lambda im: im.convert("LA")),
    ("LA", "TIFF", lambda im: im.convert("LA")),
    ("P", "PNG", lambda im: im.quantize(256)),
    ("P", "GIF", lambda im: im.quantize(256)),
    ("P", "BMP", lambda im: im.quantize(256)),
    ("PA", "TIFF", lambda im: im.quantize(256).convert("PA")),
    ("RGB", "PNG", lambda im: im),
    ("RGB", "TIFF", lambda im: im),
    ("RGB", "BMP", lambda im: im),
    ("RGB", "JPEG", lambda im: im),
    ("RGBA", "PNG", lambda im: im.convert("RGBA")),
    ("RGBA", "TIFF", lambda im: im.convert("RGBA")),
    ("CMYK", "JPEG", lambda im: im.convert("CMYK")),
    ("CMYK", "TIFF", lambda im: im.convert("CMYK")),
    ("YCbCr", "JPEG", lambda im: im.convert("YCbCr")),
    ("YCbCr", "TIFF", lambda im: im.convert("YCbCr")),
    ("I", "TIFF", lambda im: im.convert("L").convert("I")),
    ("I;16", "PNG", lambda im: im.convert("L").convert("I;16")),  # 8-bit values in a 16-bit file
    ("I;16", "TIFF", lambda im: im.convert("L").convert("I;16")),
    ("F", "TIFF", lambda im: im.convert("L").convert("F")),
]


@pytest.mark.parametrize(("mode", "fmt", "make"), MODE_CASES, ids=[f"{m}-{f}" for m, f, _ in MODE_CASES])
def test_every_mode_decodes_to_luma_that_hashes_like_rgb(mode, fmt, make) -> None:
    original = picture()
    image = make(original)
    assert image.mode == mode
    data = encode(image, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    decoded = decode_luma(data)
    check_luma(decoded)
    # a palette is the one mode that changes the picture (256 colours); compare with its pixels
    content = image.convert("RGB") if mode in ("P", "PA") else original
    assert distance(pdq(decoded.luma), reference_hash(content)) <= NEAR
    assert pdq_from_luma(decoded.luma)[1] >= 50  # a real picture, not a clipped white field


def test_sixteen_bit_greyscale_decodes_as_the_peers_do() -> None:
    """Peer parity, on purpose: python-threatexchange hashes I;16 through Pillow RGB, which clips
    at 255, and tests/signals pins its I16.png hash. A full-range 16-bit picture therefore
    hashes as its clipped rendering; this test records that choice."""
    image = sixteen_bit(picture())
    decoded = decode_luma(encode(image, "PNG"))
    expected = luma_from_rgb(np.asarray(Image.open(io.BytesIO(encode(image, "PNG"))).convert("RGB")))
    np.testing.assert_array_equal(decoded.luma, expected)


def test_one_bit_mode_keeps_black_and_white_content() -> None:
    original = black_and_white()
    for fmt in ("PNG", "TIFF", "BMP"):
        decoded = decode_luma(encode(original.convert("1", dither=Image.Dither.NONE), fmt))
        check_luma(decoded)
        assert set(np.unique(decoded.luma).tolist()) == {0.0, 255.0}
        assert distance(pdq(decoded.luma), reference_hash(original)) <= 2, fmt


def test_every_mode_in_shared_modes_folder_hashes_like_the_original(testdata: Path) -> None:
    folder = testdata / MODES_DIR
    if not folder.is_dir():
        pytest.skip(f"{MODES_DIR} not in the shared test data")
    original = decode_luma((folder / "original.jpg").read_bytes())
    files = sorted(p for p in folder.iterdir() if p.name != "original.jpg")
    assert len(files) >= 10
    for path in files:
        decoded = decode_luma(path.read_bytes())
        assert decoded.luma.shape == original.luma.shape, path.name
        assert distance(pdq(decoded.luma), pdq(original.luma)) <= NEAR, path.name


# EXIF orientation -> the stored pixels, given the upright picture a viewer should see
STORED_FOR = {
    3: lambda im: im.transpose(Image.Transpose.ROTATE_180),
    6: lambda im: im.transpose(Image.Transpose.ROTATE_90),  # the viewer turns it 90 degrees clockwise
    8: lambda im: im.transpose(Image.Transpose.ROTATE_270),
}


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_kept_beside_the_stored_pixels(orientation: int, fmt: str) -> None:
    """The luma is the picture as stored (what the PDQ reference and python-threatexchange hash);
    `displayed_luma()` is the picture as a viewer shows it, and the size is the displayed one."""
    upright = picture()
    stored = STORED_FOR[orientation](upright)
    exif = Image.Exif()
    exif[0x0112] = orientation
    params: dict[str, object] = {"JPEG": {"quality": 95}, "WEBP": {"lossless": True}}.get(fmt, {})
    if fmt == "TIFF":
        params["tiffinfo"] = {0x0112: orientation}  # a baseline TIFF tag, not an EXIF block
    else:
        params["exif"] = exif
    data = encode(stored, fmt, **params)
    # the fixture itself is right: Pillow's own transpose of the file gives the upright picture
    assert ImageOps.exif_transpose(Image.open(io.BytesIO(data))).size == upright.size

    decoded = decode_luma(data)
    assert (decoded.width, decoded.height) == (W, H)  # swapped back from the stored H x W for 6 and 8
    shown = decoded.displayed_luma()
    assert shown.shape == (H, W) and shown.flags["C_CONTIGUOUS"] and shown.dtype == np.float32
    assert distance(pdq(shown), reference_hash(upright)) <= 4
    if fmt == "TIFF":  # Pillow's TIFF loader turns the picture itself: that is the file's picture to every Pillow user
        assert decoded.orientation == 1 and distance(pdq(decoded.luma), reference_hash(upright)) <= 4
        return
    assert decoded.orientation == orientation
    assert distance(pdq(decoded.luma), reference_hash(stored)) <= 4
    # and not merely close because any picture is: the two are far apart
    assert distance(pdq(decoded.luma), pdq(shown)) > 60


def test_exif_orientation_in_shared_camera_photos(testdata: Path) -> None:
    """Real phone photos tagged 1/3/6/8: portrait ones report portrait size, the luma hashes like
    Pillow's plain decode of the file (what python-threatexchange hashes), and the displayed luma
    like Pillow's own exif_transpose of it."""
    folder = testdata / EXIF_DIR
    if not folder.is_dir():
        pytest.skip(f"{EXIF_DIR} not in the shared test data")
    for orientation in (1, 3, 6, 8):
        path = folder / f"exif-rotn-{orientation}.jpg"
        raw = Image.open(path)
        stored_w, stored_h = raw.size
        decoded = decode_luma(path.read_bytes())
        expected = (stored_h, stored_w) if orientation in (6, 8) else (stored_w, stored_h)
        assert (decoded.width, decoded.height) == expected, path.name
        assert decoded.orientation == orientation
        shown = decoded.displayed_luma()
        # the draft decode is at reduced scale but keeps the displayed aspect
        assert (shown.shape[1] > shown.shape[0]) == (expected[0] > expected[1])
        raw.draft("RGB", (stored_w // 4, stored_h // 4))
        assert distance(pdq(decoded.luma), reference_hash(raw)) <= NEAR, path.name
        assert distance(pdq(shown), reference_hash(ImageOps.exif_transpose(raw))) <= NEAR, path.name


def animation(fmt: str) -> tuple[bytes, Image.Image]:
    frames = [picture(seed=seed) for seed in range(3)]
    params = {"lossless": True} if fmt == "WEBP" else {}
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0, **params), frames[0]


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animation_hashes_first_frame_with_a_note(fmt: str) -> None:
    data, first = animation(fmt)
    opened = Image.open(io.BytesIO(data))
    assert opened.n_frames == 3
    decoded = decode_luma(data)
    check_luma(decoded)
    assert decoded.note is not None and "first" in decoded.note and "3 frames" in decoded.note
    assert distance(pdq(decoded.luma), reference_hash(first)) <= 16  # GIF: a 256-colour palette
    assert distance(pdq(decoded.luma), reference_hash(opened.convert("RGB"))) <= 2  # frame 0 as stored
    second = picture(seed=1)
    assert distance(pdq(decoded.luma), reference_hash(second)) > 60


def test_still_image_has_no_note_unless_other_tools_hash_it_differently() -> None:
    assert decode_luma(encode(picture(), "PNG")).note is None
    assert decode_luma(encode(picture(), "JPEG")).note is None
    # python-threatexchange and HMA hash a palette picture's indices (tests/media/test_threatexchange_oracle.py)
    assert decode_luma(encode(picture(), "GIF")).note == PEERS_DIFFER["P"]
    assert decode_luma(encode(picture().convert("CMYK"), "JPEG")).note == PEERS_DIFFER["CMYK"]


def heic_bytes() -> bytes:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    try:
        return encode(picture(), "HEIF", quality=95)
    except (KeyError, OSError, ValueError, RuntimeError) as exc:  # no HEVC encoder in this build
        pytest.skip(f"pillow_heif cannot save HEIC here: {exc}")


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [
        ("PNG", "image/png"),
        ("WEBP", "image/webp"),
        ("BMP", "image/bmp"),
        ("TIFF", "image/tiff"),
        ("GIF", "image/gif"),
        ("JPEG", "image/jpeg"),
        ("HEIF", "image/heic"),
    ],
)
def test_containers_decode_and_are_sniffed(fmt: str, mime: str) -> None:
    data = heic_bytes() if fmt == "HEIF" else encode(picture(), fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    decoded = decode_luma(data)
    check_luma(decoded)
    stored = Image.open(io.BytesIO(data)).convert("RGB") if fmt == "GIF" else picture()  # GIF: palette
    assert distance(pdq(decoded.luma), reference_hash(stored)) <= NEAR
    record = hash_bytes(data, f"x.{fmt.lower()}")
    assert record.error is None and record.media_type == mime
    assert (record.width, record.height) == (W, H)


def blank_png(width: int, height: int) -> bytes:
    """A real, complete PNG of a huge black picture: a few hundred KB that inflate to width*height."""
    compressor = zlib.compressobj(9)
    row = b"\0" * (width + 1)  # filter byte + pixels
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", body) + png_chunk(b"IEND", b"")


def assert_pixel_limit_refusal(exc: pytest.ExceptionInfo[ImageDecodeError]) -> None:
    message = str(exc.value)
    assert "refused" in message and "limit" in message and "pixel" in message


def test_header_claiming_huge_size_is_refused() -> None:
    with pytest.raises(ImageDecodeError) as exc:
        decode_luma(png_header_only(100_000, 100_000))
    assert_pixel_limit_refusal(exc)


def test_compressed_blank_bomb_is_refused() -> None:
    bomb = blank_png(16_000, 16_000)  # 256 Mpixel
    assert len(bomb) < 1_000_000
    with pytest.raises(ImageDecodeError) as exc:
        decode_luma(bomb)
    assert_pixel_limit_refusal(exc)
    record = hash_bytes(bomb, "bomb.png")  # a batch gets a record, not an exception
    assert record.value("pdq") is None and record.error is not None and "limit" in record.error
    assert record.value("sha256") is not None and record.media_type == "image/png"


def test_caller_pixel_limit_is_honoured() -> None:
    data = encode(picture(), "PNG")
    with pytest.raises(ImageDecodeError) as exc:
        decode_luma(data, max_pixels=W * H - 1)
    assert_pixel_limit_refusal(exc)
    assert f"{W * H - 1:,}" in str(exc.value)
    assert decode_luma(data, max_pixels=W * H).width == W


@pytest.mark.parametrize("keep", [0.5, 0.1])
def test_truncated_jpeg_is_an_error(keep: float) -> None:
    data = encode(picture(640, 480), "JPEG", quality=95)
    with pytest.raises(ImageDecodeError, match=r"truncated|corrupt"):
        decode_luma(data[: int(len(data) * keep)])
    record = hash_bytes(data[: int(len(data) * keep)], "cut.jpg")
    assert record.media_type == "image/jpeg" and record.error is not None and record.value("pdq") is None


def test_truncated_png_is_an_error() -> None:
    data = encode(picture(), "PNG")
    with pytest.raises(ImageDecodeError):
        decode_luma(data[: len(data) // 2])


def test_zero_bytes_is_an_error() -> None:
    with pytest.raises(ImageDecodeError):
        decode_luma(b"")
    record = hash_bytes(b"", "empty.jpg")
    assert record.error is not None and "empty" in record.error
    assert record.size == 0 and record.value("pdq") is None


def test_text_named_jpg_is_not_media(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("not a picture at all, just a note\n" * 20)
    with pytest.raises(ImageDecodeError):
        decode_luma(path.read_bytes())
    record = hash_source(path)
    assert record.media_type == "application/octet-stream"
    assert record.value("pdq") is None and record.width is None
    assert record.value("sha256") is not None


def test_type_is_sniffed_from_bytes_not_name(tmp_path: Path) -> None:
    png_as_jpg = tmp_path / "x.jpg"
    png_as_jpg.write_bytes(encode(picture(), "PNG"))
    jpg_without_ext = tmp_path / "photo"
    jpg_without_ext.write_bytes(encode(picture(), "JPEG"))
    gif_as_txt = tmp_path / "readme.txt"
    gif_as_txt.write_bytes(encode(picture(), "GIF"))
    for path, mime in [(png_as_jpg, "image/png"), (jpg_without_ext, "image/jpeg"), (gif_as_txt, "image/gif")]:
        record = hash_source(path)
        assert record.media_type == mime, path.name
        assert record.error is None and record.value("pdq") is not None and (record.width, record.height) == (W, H)


def test_a_picture_over_the_memory_budget_is_refused_before_decoding() -> None:
    data = encode(picture(), "PNG")
    need = decode_bytes(Image.open(io.BytesIO(data)), (W, H))
    assert need == W * H * (4 + DECODE_BYTES_PER_PIXEL)  # RGB is stored in 4 bytes a pixel
    with pytest.raises(ImageDecodeError, match=rf"refused: {W}x{H} pixels \(RGB\) would need \d+ MiB to decode; the limit is \d+ MiB"):
        decode_luma(data, max_bytes=need - 1)
    check_luma(decode_luma(data, max_bytes=need))
    # A header stating 16383x12000 is refused at once: decoding it would take gigabytes.
    with pytest.raises(ImageDecodeError, match=r"16383x12000 pixels \(RGBA\) would need 2\.9 GiB"):
        decode_luma(png_header_only(16383, 12000, colour_type=6))


def test_camera_photos_of_every_format_fit_the_budget() -> None:
    """A 24 MP photo decodes in any 8- or 16-bit layout; JPEGs are counted at their draft size."""
    for bit_depth, colour_type in ((8, 2), (8, 6), (16, 2), (16, 6)):
        image = Image.open(io.BytesIO(png_header_only(6000, 4000, bit_depth, colour_type)))
        assert decode_bytes(image, image.size) <= MAX_DECODE_BYTES, image.mode


def test_progressive_jpegs_count_their_full_size_coefficients() -> None:
    source = picture(1600, 1200)
    sizes = {}
    for progressive in (False, True):
        image = Image.open(io.BytesIO(encode(source, "JPEG", progressive=progressive)))
        image.draft("L", (400, 300))
        sizes[progressive] = decode_bytes(image, (1600, 1200))
    assert sizes[True] - sizes[False] == 1600 * 1200 * 2 * 3


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "I;16", "CMYK", "LA"])
def test_luma_in_strips_equals_the_whole_picture_conversion(mode: str, monkeypatch) -> None:
    import mediamatch.media.image as image_module

    image = picture(301, 97).convert(mode)
    whole = luma_from_rgb(np.asarray(image_module._to_rgb(image)))
    monkeypatch.setattr(image_module, "LUMA_STRIP_PIXELS", 301 * 7)  # 14 strips, the last short
    assert np.array_equal(image_module._luma(image), whole)
