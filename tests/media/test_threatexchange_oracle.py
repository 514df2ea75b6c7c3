"""python-threatexchange (the library HMA runs on) as an oracle for the PDQ of files.

On the ThreatExchange test pictures both tools hash the same pixels the same way, except where
python-threatexchange 1.2.17 hands Pillow's raw bands to the PDQ binding instead of RGB. Each
difference that remains is asserted here with its reason (docs/interop.md, "Hashes: mediamatch
vs python-threatexchange"):

- EXIF orientation: none left. Both hash the pixels as stored; mediamatch also keeps the hash
  of the picture as displayed (`HashRecord.displayed`), which python-threatexchange never makes.
  The few bits apart are JPEG decoding: mediamatch decodes large JPEGs at reduced scale (the
  reference's own rule for implementations that decode: within 10 bits at quality >= 80).
- CMYK: python-threatexchange reads C, M, Y as R, G, B and gets the exact complement; ours is the
  hash of the picture's RGB (python-threatexchange is wrong).
- Palette (P): python-threatexchange hashes the palette indices as grey levels; ours is the hash
  of the colours.
- 1-bit: the same bits, but python-threatexchange reads the pixels as 0 and 1 (not 0 and 255), so
  its quality is 0 and HMA would treat the hash as unusable; ours has the picture's quality.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from mediamatch.media.hashing import hash_source
from mediamatch.media.image import PEERS_DIFFER
from mediamatch.signals.pdq import PDQSignal, luma_from_rgb, pdq_from_luma, pdq_to_hex

pdq_hasher = pytest.importorskip("threatexchange.signal_type.pdq.pdq_hasher", reason="python-threatexchange is a test dependency (the oracle)")

PDQ_DATA = Path("threatexchange/pdq/data")
NEAR = 10  # the reference's rule for an implementation that decodes files itself (quality >= 80)
ALL_BITS = (1 << 256) - 1


def theirs(path: Path) -> tuple[str, int]:
    value, quality = pdq_hasher.pdq_from_file(path)
    return value, quality


def rgb_hash(image: Image.Image) -> str:
    """The reference's hash of the picture's colours (Pillow's RGB, straight from memory)."""
    return pdq_to_hex(pdq_from_luma(luma_from_rgb(np.asarray(image.convert("RGB"))))[0])


def complement(value: str) -> str:
    return f"{int(value, 16) ^ ALL_BITS:064x}"


@pytest.fixture(scope="module")
def data(testdata: Path) -> Path:
    folder = testdata / PDQ_DATA
    if not folder.is_dir():
        pytest.skip(f"{PDQ_DATA} not in the shared test data")
    return folder


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_exif_rotated_files_hash_as_python_threatexchange_hashes_them(data: Path, orientation: int) -> None:
    path = data / "reg-test-input" / "exif-rotn" / f"exif-rotn-{orientation}.jpg"
    record = hash_source(path)
    value, quality = theirs(path)
    assert PDQSignal.distance(record.value("pdq") or "", value) <= NEAR and quality >= 80
    shown = record.displayed.get("pdq")
    if orientation == 1:
        assert shown is None
        return
    assert shown is not None and PDQSignal.distance(shown[0], value) > 100  # the turned picture is another hash
    assert PDQSignal.distance(shown[0], rgb_hash(ImageOps.exif_transpose(Image.open(path)))) <= NEAR


def test_cmyk_python_threatexchange_gets_the_complement(data: Path) -> None:
    path = data / "misc-images" / "modes" / "CMYK.jpg"
    record, (value, _) = hash_source(path), theirs(path)
    assert record.value("pdq") == complement(value)
    assert PDQSignal.distance(record.value("pdq") or "", rgb_hash(Image.open(path))) <= NEAR  # ours: the picture's colours
    assert record.note == PEERS_DIFFER["CMYK"]


def test_palette_python_threatexchange_hashes_the_indices(data: Path) -> None:
    path = data / "misc-images" / "modes" / "P.png"
    record, (value, _) = hash_source(path), theirs(path)
    indices = np.asarray(Image.open(path)).astype(np.float32)
    assert value == pdq_to_hex(pdq_from_luma(indices)[0])  # what they hash: indices as grey levels
    assert record.value("pdq") == rgb_hash(Image.open(path)) and PDQSignal.distance(record.value("pdq") or "", value) > NEAR
    assert record.note == PEERS_DIFFER["P"]


def test_one_bit_python_threatexchange_gets_quality_zero(data: Path) -> None:
    path = data / "misc-images" / "modes" / "1.png"
    record, (value, quality) = hash_source(path), theirs(path)
    assert record.value("pdq") == value and quality == 0
    assert (record.quality("pdq") or 0) >= 50
    assert record.note == PEERS_DIFFER["1"]


@pytest.mark.parametrize("name", ["L.png", "LA.png", "RGB.jpg", "RGBA.png", "YCbCr.jpg", "original.jpg"])
def test_other_modes_agree(data: Path, name: str) -> None:
    path = data / "misc-images" / "modes" / name
    record, (value, quality) = hash_source(path), theirs(path)
    assert record.value("pdq") == value and record.quality("pdq") == quality and record.note is None
