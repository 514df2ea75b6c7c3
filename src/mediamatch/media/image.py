"""Decoding an image into the luma plane PDQ needs, safely and no more than needed.

Why not a full decode: PDQ blurs and shrinks every picture to 64x64, so a 12 MP JPEG decoded
at full size spends most of its time producing pixels that are averaged away. JPEGs are
decoded in the DCT domain at 1/2, 1/4 or 1/8 scale (Pillow `draft`, libjpeg-turbo), straight
to greyscale (the JPEG's own Y channel, which skips chroma decoding and colour conversion),
keeping at least DRAFT_MIN_SIDE pixels on the short side so PDQ's own filter still does the
final smoothing (distance to the full-decode reference is measured in
benchmarks/bench_hashing.py). Other formats are decoded fully and converted as the reference
Python path does (Pillow RGB, then 0.299/0.587/0.114 luma), a strip of rows at a time so the
RGB and float64 intermediates never exist for the whole picture.

Memory is bounded before any pixel is decoded: a few hundred bytes of PNG, WebP or TIFF can
state 16383x12000 pixels, and decoding that takes gigabytes (one process per core, each at
once). The header's size and mode are read by Pillow's lazy open, the memory the decode would
take is estimated (`decode_bytes`) and the file is refused over MAX_DECODE_BYTES. JPEGs are
estimated at the scale they will be decoded at, so a 50 MP camera JPEG still hashes.

EXIF orientation: the luma is the picture as stored, which is what the PDQ reference,
python-threatexchange and HMA hash (ThreatExchange documents that it does not turn pictures), so
a PDQ that leaves mediamatch is the hash other tools compute for the same file. `orientation`
says how a viewer turns it, and `displayed_luma()` gives that picture: the catalogue also
stores and searches its hash (media/hashing.py), so a copy re-saved upright still matches.

Hostile input never raises anything but ImageDecodeError with a clear message: more pixels
than MAX_PIXELS (decompression bombs), more memory than MAX_DECODE_BYTES, truncated data,
unknown formats, and any other exception a decoder throws on mutated bytes (Pillow raises
TypeError, IndexError, KeyError ... on fuzzed headers; tests/media/test_fuzz_decoding.py).
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Callable
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
# What one decode may take: the raster Pillow decodes into plus the float32 luma, its oriented
# copy and PDQ's two working planes (DECODE_BYTES_PER_PIXEL). 512 MiB lets a 24 MP photo of any
# 8- or 16-bit format decode (6000x4000 RGBA: 366 MiB; 16-bit RGBA: 458 MiB) and keeps two
# workers plus the triage process under 1.5 GB (benchmarks/bench_hostile.py).
MAX_DECODE_BYTES = 512 * 1024**2
DECODE_BYTES_PER_PIXEL = 12
LUMA_STRIP_PIXELS = 1 << 20  # pixels converted to RGB and luma at a time
# Picture modes python-threatexchange 1.2.17 (and so HMA) hashes differently: it hands Pillow's
# raw bands to the PDQ binding instead of converting to RGB. Ours is the picture's hash (the
# reference's, fed RGB); a file's note says where the other tools' will differ (docs/interop.md).
PEERS_DIFFER = {
    "CMYK": "CMYK picture: python-threatexchange and HMA read its C, M, Y bands as R, G, B and get the complement of this PDQ",
    "P": "palette picture: python-threatexchange and HMA hash its palette indices, not its colours, and get a different PDQ",
    "1": "1-bit picture: python-threatexchange and HMA read its pixels as 0 and 1 and give this PDQ quality 0",
}
# Decoders that fill a buffer of their own and then copy it into the Pillow image.
_DOUBLE_BUFFERED = frozenset({"WEBP", "HEIF", "AVIF"})


class ImageDecodeError(Exception):
    """The bytes are not a decodable, safe image; the message says why."""


@dataclass(frozen=True, slots=True)
class DecodedImage:
    luma: np.ndarray  # float32 (h, w), the pixels as stored (no EXIF turn): what the reference hashes
    width: int  # full-size width and height as displayed (after EXIF orientation)
    height: int
    note: str | None = None
    orientation: int = 1  # EXIF tag 0x0112: how a viewer turns `luma` (1: not at all)

    def displayed_luma(self) -> np.ndarray:
        """The luma as a viewer shows the picture: `luma` turned as its EXIF orientation says."""
        return np.ascontiguousarray(_apply_orientation(self.luma, self.orientation))


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageDecodeError(f"refused: {width}x{height} is over the {max_pixels:,}-pixel limit (decompression bomb?)")


def _pixel_bytes(mode: str) -> int:
    """Bytes per pixel of Pillow's raster for `mode`: one band of 8 bits takes 1, 16 bits 2,
    32 bits 4; two to four 8-bit bands are stored in 4."""
    if mode.startswith("I;16"):
        return 2
    if mode in ("I", "F"):
        return 4
    return 1 if Image.getmodebands(mode) == 1 else 4


def decode_bytes(image: Image.Image, full_size: tuple[int, int]) -> int:
    """The memory decoding `image` (lazily opened, after `draft`) to a hashable luma takes.

    A progressive JPEG is the exception to "draft decodes small": libjpeg keeps every DCT
    coefficient of the full-size picture (2 bytes per sample and component; measured 185 MB more
    than a baseline JPEG for 8000x8000 4:2:0), so those are counted at full size."""
    width, height = image.size
    raster = width * height * _pixel_bytes(image.mode)
    if image.format in _DOUBLE_BUFFERED:
        raster *= 2
    if image.format == "JPEG" and image.info.get("progressive"):
        raster += full_size[0] * full_size[1] * 2 * getattr(image, "layers", 3)  # components in the file
    return raster + width * height * DECODE_BYTES_PER_PIXEL


def _check_memory(image: Image.Image, full_size: tuple[int, int], max_bytes: int) -> None:
    need = decode_bytes(image, full_size)
    if need > max_bytes:
        width, height = full_size
        raise ImageDecodeError(f"refused: {width}x{height} pixels ({image.mode}) would need {_size(need)} to decode; the limit is {_size(max_bytes)}")


def _size(count: int) -> str:
    return f"{count / 1024**3:.1f} GiB" if count >= 1024**3 else f"{count / 1024**2:.0f} MiB"


def decode_luma(data: bytes, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_DECODE_BYTES) -> DecodedImage:
    """The float32 luma plane of the first frame as stored, and the EXIF orientation a viewer
    would display it in.

    Raises ImageDecodeError, and nothing else, for bytes that cannot or may not be decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # _check_pixels decides
            image = Image.open(io.BytesIO(data))
            _check_pixels(*image.size, max_pixels)
            return _decode(image, max_bytes)
    except ImageDecodeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageDecodeError(f"refused: decompression bomb ({exc})") from None
    except UnidentifiedImageError:
        raise ImageDecodeError("not a decodable image (unknown or corrupt format)") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise ImageDecodeError(f"corrupt or truncated image: {exc}") from None
    except MemoryError:
        raise ImageDecodeError("refused: not enough memory to decode this image") from None
    except Exception as exc:  # noqa: BLE001 - a decoder's own bug on mutated bytes is this file's error, not the run's
        raise ImageDecodeError(f"corrupt image (the decoder failed: {type(exc).__name__}: {exc})") from None


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - a broken EXIF block must not lose the picture
        return 1


def _decode(image: Image.Image, max_bytes: int) -> DecodedImage:
    source = image
    full_w, full_h = image.size
    notes = [PEERS_DIFFER[image.mode]] if image.mode in PEERS_DIFFER else []
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        image.seek(0)
        notes.insert(0, f"animated: first of {frames} frames hashed")
    note = "; ".join(notes) or None
    drafted = image.format == "JPEG" and image.mode in ("RGB", "L", "YCbCr")
    if drafted:
        scale = _draft_scale(full_w, full_h)
        image.draft("L", (full_w // scale, full_h // scale))
    _check_memory(image, (full_w, full_h), max_bytes)
    # Only after the check: a PNG's getexif() decodes the whole picture to look for an eXIf
    # chunk behind the pixels.
    orientation = _orientation(image)
    if drafted:
        image = image.convert("L") if image.mode != "L" else image
        image.load()
        luma = np.asarray(image, dtype=np.float32)
    else:
        image.load()
        luma = _luma(image)
    if orientation != 1 and _orientation(source) == 1:
        # Pillow's TIFF loader turns the picture itself while loading and drops the tag;
        # turning it again would hash it upside down or sideways.
        orientation = 1
        full_w, full_h = source.size
    if orientation not in _TURNS:
        orientation = 1  # 1, or a value no viewer applies
    if orientation in (5, 6, 7, 8):
        full_w, full_h = full_h, full_w
    return DecodedImage(luma=np.ascontiguousarray(luma), width=full_w, height=full_h, note=note, orientation=orientation)


def _draft_scale(width: int, height: int) -> int:
    """The largest JPEG DCT scale (1, 2, 4, 8) that keeps DRAFT_MIN_SIDE pixels on the short side.

    512 is measured: at 1/2 scale a 1600x1004 reference photo drifted 12 bits from the
    reference hash, at full size (greyscale) 8, the same as a full RGB decode."""
    scale = 1
    while scale < 8 and min(width, height) // (scale * 2) >= DRAFT_MIN_SIDE:
        scale *= 2
    return scale


def _luma(image: Image.Image) -> np.ndarray:
    """The float32 luma of a loaded image, converted LUMA_STRIP_PIXELS at a time: the same
    numbers as converting the whole picture (every step is per pixel), without whole-picture
    RGB and float64 copies (30 bytes a pixel, measured 5.9 GB for a 16383x12000 WebP)."""
    width, height = image.size
    luma = np.empty((height, width), np.float32)
    rows = max(1, LUMA_STRIP_PIXELS // max(width, 1))
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        luma[top:bottom] = luma_from_rgb(np.asarray(_to_rgb(image.crop((0, top, width, bottom)))))
    return luma


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB exactly as the peers' Pillow path (`Image.convert("RGB")`) produces it, so a file
    decoded here hashes like it does in python-threatexchange and HMA; modes Pillow cannot
    convert directly go through 32-bit integer first."""
    try:
        return image.convert("RGB")
    except ValueError:
        return image.convert("I").convert("RGB")


_TURNS: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1, :],
    5: lambda a: a.T,
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].T,
    8: lambda a: np.rot90(a, 1),
}


def _apply_orientation(luma: np.ndarray, orientation: int) -> np.ndarray:
    """Turn the stored pixels the way EXIF tag 0x0112 says a viewer shows them."""
    turn = _TURNS.get(orientation)
    return luma if turn is None else turn(luma)
