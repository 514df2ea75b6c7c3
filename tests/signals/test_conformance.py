"""The conformance kit: every registered signal passes the same checks."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image

from mediamatch.media.hashing import hash_bytes
from mediamatch.services.samples import generated_pictures
from mediamatch.signals.base import SignalType
from mediamatch.signals.registry import all_signals, get_signal


def jpeg_bytes(image: Image.Image, quality: int = 92) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def signal_value(signal: type[SignalType], data: bytes) -> str | None:
    return getattr(hash_bytes(data, "x.jpg"), signal.name)


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
        if min(image.size) >= 512 and (hash_bytes(jpeg_bytes(image), "photo.jpg").pdq_quality or 0) >= 50:
            chosen.append(image)
        if len(chosen) == 12:
            return chosen
    raise AssertionError("not enough usable photos in the test data")


SIGNALS = all_signals()


def skip_unless_image_signal(signal: type[SignalType]) -> None:
    """Photo checks do not apply to a video signal (vpdq): tests/signals/test_vpdq_reference.py
    runs the same checks (self-match, edited copies, unrelated videos) on videos."""
    if getattr(signal, "media", "image") != "image":
        pytest.skip(f"{signal.name} hashes videos, not photos")


def test_registry_has_the_built_in_signals() -> None:
    assert {"md5", "sha1", "sha256", "pdq"} <= {signal.name for signal in SIGNALS}
    assert get_signal("pdq").index_kind == "hamming"
    with pytest.raises(KeyError, match="unknown signal"):
        get_signal("nope")


@pytest.mark.parametrize("signal", SIGNALS, ids=lambda s: s.name)
class TestEverySignal:
    def test_string_form_round_trips(self, signal: type[SignalType]) -> None:
        for example in signal.examples():
            assert signal.validate(example.upper()) == example
            assert signal.distance(example, example) == 0

    def test_invalid_values_are_refused(self, signal: type[SignalType]) -> None:
        # A video signal's text ends with a free-form number: cut into its last hash instead.
        cut = signal.examples()[0][:-1] if getattr(signal, "media", "image") == "image" else signal.examples()[0][:-40]
        for bad in ["", "zz" * (signal.bits // 8), cut]:
            with pytest.raises(ValueError, match=signal.name):
                signal.validate(bad)

    def test_threshold_is_named_with_its_source(self, signal: type[SignalType]) -> None:
        assert signal.default_threshold >= 0 and signal.threshold_source

    def test_self_match(self, signal: type[SignalType], photos: list[Image.Image]) -> None:
        skip_unless_image_signal(signal)
        data = jpeg_bytes(photos[0])
        value = signal_value(signal, data)
        assert value is not None and signal.matches(value, signal_value(signal, data))

    def test_edited_copies(self, signal: type[SignalType], photos: list[Image.Image]) -> None:
        """Perceptual signals match a re-encoded and a half-size copy; exact ones must not."""
        skip_unless_image_signal(signal)
        for photo in photos:
            original = signal_value(signal, jpeg_bytes(photo))
            reencoded = signal_value(signal, jpeg_bytes(photo, quality=70))
            half = signal_value(signal, jpeg_bytes(photo.resize((photo.width // 2, photo.height // 2))))
            expect_match = signal.index_kind == "hamming"
            assert signal.matches(original, reencoded) is expect_match, photo
            assert signal.matches(original, half) is expect_match, photo

    def test_different_photos_do_not_match(self, signal: type[SignalType], photos: list[Image.Image]) -> None:
        skip_unless_image_signal(signal)
        values = [signal_value(signal, jpeg_bytes(photo)) for photo in photos]
        for i, first in enumerate(values):
            for second in values[i + 1 :]:
                assert not signal.matches(first, second)


def test_cryptographic_digests_equal_hashlib(testdata: Path) -> None:
    files = sorted((testdata / "threatexchange/pdq/data").rglob("*.*"))[:40]
    for path in files:
        data = path.read_bytes()
        record = hash_bytes(data, path.name)
        assert (record.md5, record.sha1, record.sha256) == (
            hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(), hashlib.sha256(data).hexdigest()
        )
