"""Every registered signal passes the conformance kit (mediamatch.testing), and the image
signals pass the photo checks that need real pictures (edited copies match, others do not)."""

from __future__ import annotations

import hashlib
import io
import tomllib
from pathlib import Path
from typing import ClassVar

import pytest
from PIL import Image

from mediamatch.media.hashing import hash_bytes
from mediamatch.services.samples import generated_pictures
from mediamatch.signals import registry
from mediamatch.signals.base import SignalType
from mediamatch.signals.crypto import SHA1Signal
from mediamatch.signals.registry import all_signals, computed_from, get_signal
from mediamatch.testing import CHECKS, check_signal

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def jpeg_bytes(image: Image.Image, quality: int = 92) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def signal_value(signal: type[SignalType], data: bytes) -> str | None:
    return hash_bytes(data, "x.jpg").value(signal.name)


@pytest.fixture(scope="module")
def photos(request: pytest.FixtureRequest) -> list[Image.Image]:
    """Photographs (not small tiled textures) whose PDQ quality is usable (>= 50): the shared
    benign photos, or generated scenes on a fresh clone, so the kit runs everywhere."""
    try:
        testdata: Path = request.getfixturevalue("testdata")
        candidates = (Image.open(path) for path in sorted((testdata / "photos").glob("*.jpg")))
    except pytest.skip.Exception:
        candidates = generated_pictures(40, size=(800, 600))
    chosen = []
    for image in candidates:
        image = image.convert("RGB")
        if min(image.size) >= 512 and (hash_bytes(jpeg_bytes(image), "photo.jpg").quality("pdq") or 0) >= 50:
            chosen.append(image)
        if len(chosen) == 12:
            return chosen
    raise AssertionError("not enough usable photos in the test data")


SIGNALS = all_signals()
PICTURE_SIGNALS = computed_from("bytes") + computed_from("luma")  # what a photo file yields


def test_registry_has_the_built_in_signals() -> None:
    assert {"md5", "sha1", "sha256", "pdq", "vpdq"} <= {signal.name for signal in SIGNALS}
    assert get_signal("pdq").index_kind == "hamming" and get_signal("vpdq").media_kinds == {"video_frame"}
    with pytest.raises(KeyError, match="unknown signal"):
        get_signal("nope")


def test_built_ins_are_the_entry_points_pyproject_declares() -> None:
    """The built-ins go through the plugins' door: the list a source tree without installed
    metadata reads is exactly the entry points an install registers."""
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"][registry.ENTRY_POINT_GROUP]
    assert {entry.name: entry.value for entry in registry.BUILT_IN} == declared


def test_an_entry_point_must_name_a_signal_of_its_own_name() -> None:
    misnamed = registry.EntryPoint("sha1_copy", "mediamatch.signals.crypto:SHA1Signal", registry.ENTRY_POINT_GROUP)
    with pytest.raises(TypeError, match="must agree"):
        registry._register([misnamed])
    not_a_signal = registry.EntryPoint("path", "pathlib:Path", registry.ENTRY_POINT_GROUP)
    with pytest.raises(TypeError, match="SignalType"):
        registry._register([not_a_signal])


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize("signal", SIGNALS, ids=lambda s: s.name)
def test_conformance_kit(signal: type[SignalType], check) -> None:
    check(signal)


class LooseSHA1(SHA1Signal):
    """A signal that redefines matching: the kit must catch it."""

    threshold_source: ClassVar[str] = "test"

    @classmethod
    def matches(cls, a: str, b: str, threshold: int | None = None) -> bool:
        return True


def test_the_kit_catches_a_signal_whose_matches_disagrees_with_distance() -> None:
    with pytest.raises(AssertionError, match="check_matches_is_distance_within_threshold"):
        check_signal(LooseSHA1)


@pytest.mark.parametrize("signal", PICTURE_SIGNALS, ids=lambda s: s.name)
class TestPictureSignals:
    def test_self_match(self, signal: type[SignalType], photos: list[Image.Image]) -> None:
        data = jpeg_bytes(photos[0])
        value = signal_value(signal, data)
        assert value is not None and signal.matches(value, signal_value(signal, data))

    def test_edited_copies(self, signal: type[SignalType], photos: list[Image.Image]) -> None:
        """Perceptual signals match a re-encoded and a half-size copy; exact ones must not."""
        for photo in photos:
            original = signal_value(signal, jpeg_bytes(photo))
            reencoded = signal_value(signal, jpeg_bytes(photo, quality=70))
            half = signal_value(signal, jpeg_bytes(photo.resize((photo.width // 2, photo.height // 2))))
            expect_match = signal.index_kind == "hamming"
            assert signal.matches(original, reencoded) is expect_match, photo
            assert signal.matches(original, half) is expect_match, photo

    def test_different_photos_do_not_match(self, signal: type[SignalType], photos: list[Image.Image]) -> None:
        values = [signal_value(signal, jpeg_bytes(photo)) for photo in photos]
        for i, first in enumerate(values):
            for second in values[i + 1 :]:
                assert not signal.matches(first, second)


def test_cryptographic_digests_equal_hashlib(testdata: Path) -> None:
    files = sorted((testdata / "threatexchange/pdq/data").rglob("*.*"))[:40]
    for path in files:
        data = path.read_bytes()
        record = hash_bytes(data, path.name)
        assert (record.value("md5"), record.value("sha1"), record.value("sha256")) == (
            hashlib.md5(data).hexdigest(),
            hashlib.sha1(data).hexdigest(),
            hashlib.sha256(data).hexdigest(),
        )
