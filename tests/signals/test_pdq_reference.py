"""PDQ against Meta's reference: bit-exact on the same luma, within 10 bits decoding files."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mediamatch.media.hashing import hash_source
from mediamatch.signals.pdq import (
    DIHEDRAL_NAMES,
    PDQSignal,
    luma_from_rgb,
    pdq_dihedral_from_luma,
    pdq_from_luma,
    pdq_to_hex,
)

pdqhash = pytest.importorskip("pdqhash", reason="the pdqhash reference binding is a test dependency")

PDQ_DATA = Path("threatexchange/pdq/data")
OUT_BAK = Path("threatexchange/hashing/pdq/java/reg_test/expected/out.bak")
WASM_CSV = Path("threatexchange/pdq/wasm/test/TestData/PDQMD5TestData.csv")
PTE_RESOURCES = Path("threatexchange/python-threatexchange/threatexchange/tests/hashing/resources")


def reference_hex(bits: np.ndarray) -> str:
    """The binding returns bit 255 first; fold it back into the reference's word order."""
    grid = np.asarray(bits).astype(bool)[::-1].reshape(16, 16)
    words = (grid.astype(np.uint32) << np.arange(16, dtype=np.uint32)).sum(axis=1)
    return "".join(f"{word:04x}" for word in words[::-1])


def all_test_images(testdata: Path) -> list[Path]:
    images = sorted((testdata / PDQ_DATA).rglob("*.jpg")) + sorted((testdata / PDQ_DATA).rglob("*.png"))
    return images + sorted((testdata / "photos").glob("*.jpg"))[:60]


def test_same_luma_gives_the_reference_hash_bit_for_bit(testdata: Path) -> None:
    images = all_test_images(testdata)
    assert len(images) > 80
    for path in images:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        ref_bits, ref_quality = pdqhash.compute(rgb)
        ours, quality = pdq_from_luma(luma_from_rgb(rgb))
        assert (pdq_to_hex(ours), quality) == (reference_hex(ref_bits), ref_quality), path.name


def test_same_luma_gives_the_reference_dihedral_hashes(testdata: Path) -> None:
    rgb = np.asarray(Image.open(testdata / PDQ_DATA / "reg-test-input/dih/bridge-1-original.jpg").convert("RGB"))
    ref_hashes, ref_quality = pdqhash.compute_dihedral(rgb)
    ours, quality = pdq_dihedral_from_luma(luma_from_rgb(rgb))
    assert quality == ref_quality
    assert [pdq_to_hex(h) for h in ours] == [reference_hex(h) for h in ref_hashes]


def test_generated_lumas_of_odd_sizes_match_the_reference() -> None:
    rng = np.random.default_rng(7)
    for height, width in [(5, 5), (7, 300), (64, 64), (65, 63), (333, 127), (1000, 17)]:
        rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        rgb = np.cumsum(rgb, axis=1, dtype=np.uint32).astype(np.uint8)  # structure, not pure noise
        ref_bits, ref_quality = pdqhash.compute(rgb)
        ours, quality = pdq_from_luma(luma_from_rgb(rgb))
        assert (pdq_to_hex(ours), quality) == (reference_hex(ref_bits), ref_quality), (height, width)


def reference_file_hashes(testdata: Path) -> dict[Path, str]:
    expected: dict[Path, str] = {}
    for line in (testdata / OUT_BAK).read_text().splitlines():
        match = re.fullmatch(r"([0-9a-f]{64}),(\d+),\./reg_test/input/(.+)", line)
        if match:
            expected[testdata / PDQ_DATA / "reg-test-input" / match[3]] = match[1]
    for line in (testdata / WASM_CSV).read_text().splitlines()[1:]:
        relative, value = line.split(",")
        if len(value) == 64 and "/data/" in relative:
            path = testdata / PDQ_DATA / relative.split("/data/", 1)[1]
            if path.exists():  # the csv also names files this copy does not carry
                expected[path] = value
    return expected


def test_decoded_files_land_within_10_bits_of_the_reference(testdata: Path) -> None:
    expected = reference_file_hashes(testdata)
    assert len(expected) >= 20
    checked = 0
    for path, reference in expected.items():
        record = hash_source(path)
        assert record.error is None, (path, record.error)
        if record.quality("pdq") >= 80:
            checked += 1
            assert PDQSignal.distance(record.value("pdq"), reference) <= 10, path.name
    assert checked >= 18


def test_bridge_dihedral_hashes_match_the_reference_xform_lines(testdata: Path) -> None:
    text = (testdata / OUT_BAK).read_text()
    xforms = dict(re.findall(r"hash=([0-9a-f]{64}),xform=(\w+),filename=reg_test/input/dih/bridge-1", text))
    by_name = {name: value for value, name in xforms.items()}
    reference_order = ["orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipp", "flipm"]
    image = Image.open(testdata / PDQ_DATA / "reg-test-input/dih/bridge-1-original.jpg").convert("RGB")
    ours, _ = pdq_dihedral_from_luma(luma_from_rgb(np.asarray(image)))
    assert len(DIHEDRAL_NAMES) == len(reference_order)
    for name, value in zip(reference_order, ours):
        assert PDQSignal.distance(pdq_to_hex(value), by_name[name]) <= 10, name


@pytest.mark.parametrize(
    ("name", "expected", "quality"),
    [
        ("LA.png", "accb6d39648035f8125c8ce6ba65007de7b54c67a2d93ef7b8f33b0611306715", 100),
        ("I16.png", "de2ef0e99ecdfc1d248a0eb055f023d1d61e79c3920cbb55d561c02accab1763", 36),
        ("rgb.jpeg", "fb4eed46cb8a6c78819ca06b756c541f7b07ef6d02c82fccd00f862166272cda", 100),
    ],
)
def test_python_threatexchange_resources(testdata: Path, name: str, expected: str, quality: int) -> None:
    record = hash_source(testdata / PTE_RESOURCES / name)
    assert record.quality("pdq") == quality
    if record.media_type == "image/png":  # the same decode path as python-threatexchange: exact
        assert record.value("pdq") == expected
    else:  # JPEGs are decoded straight to greyscale (the JPEG's Y channel) here
        assert PDQSignal.distance(record.value("pdq"), expected) <= 10


def test_generated_pictures_give_the_reference_hashes_bit_for_bit() -> None:
    """The same check as above on pictures the code draws, so it runs on a fresh clone too."""
    from mediamatch.services.samples import generated_pictures

    for picture in generated_pictures(12, size=(640, 480), first_seed=300):
        rgb = np.asarray(picture)
        ref_hashes, ref_quality = pdqhash.compute_dihedral(rgb)
        ours, quality = pdq_dihedral_from_luma(luma_from_rgb(rgb))
        assert quality == ref_quality
        assert [pdq_to_hex(h) for h in ours] == [reference_hex(h) for h in ref_hashes]
