"""The local-features signal: plugged in through the registry as a descriptor signal, kept out
of everything that carries hash values, and robust to bad pictures."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from mediamatch.media.hashing import hash_bytes
from mediamatch.media.limits import CATALOGUE_LIMITS, Limits
from mediamatch.signals.local_features import (
    CATALOGUE_POINTS,
    CATALOGUE_SIDE,
    MINIATURE_SIDE,
    QUERY_POINTS,
    QUERY_SIDE,
    FeatureError,
    FeatureSet,
    LocalFeaturesSignal,
    empty_features,
    kept,
)
from mediamatch.signals.registry import all_signals, descriptor_signals, find_signal, get_signal, signal_names
from tests.similar_pictures import jpeg_bytes, smooth_picture, textured_picture


def test_registered_as_a_descriptor_signal_and_never_a_hash_signal() -> None:
    assert descriptor_signals() == (LocalFeaturesSignal,)
    assert LocalFeaturesSignal not in all_signals() and "local_features" not in signal_names() and find_signal("local_features") is None
    with pytest.raises(KeyError):
        get_signal("local_features")  # named in a hash list, an imported record or a query: unknown
    with pytest.raises(ValueError, match="no string form"):
        LocalFeaturesSignal.validate("00")


def test_features_travel_packed_and_stay_out_of_the_record_json() -> None:
    record = hash_bytes(jpeg_bytes(textured_picture(1)), "x.jpg", Limits(local_features=True))
    [packed] = record.features
    features = FeatureSet.from_bytes(packed.data)
    assert 300 < len(features) <= QUERY_POINTS and features.descriptors.dtype == np.uint8 and max(features.width, features.height) == QUERY_SIDE
    assert "local_features" not in record.to_json() and "local_features" not in record.signals
    assert FeatureSet.from_bytes(features.to_bytes()).points.tolist() == features.points.tolist()
    assert not hash_bytes(jpeg_bytes(textured_picture(1)), "x.jpg").features  # only when asked
    for damaged in (b"", b"MMLF", packed.data[:-1], b"XXXX" + packed.data[4:]):
        with pytest.raises(FeatureError):
            FeatureSet.from_bytes(damaged)


def test_the_catalogue_keeps_fewer_coarser_keypoints_than_a_search() -> None:
    [packed] = hash_bytes(jpeg_bytes(textured_picture(1)), "x.jpg", CATALOGUE_LIMITS).features
    catalogued = FeatureSet.from_bytes(packed.data)
    assert 100 < len(catalogued) <= CATALOGUE_POINTS and max(catalogued.width, catalogued.height) == CATALOGUE_SIDE


@pytest.mark.parametrize("shape", [(1, 1), (8, 300), (300, 300)])
def test_tiny_and_blank_pictures_have_no_keypoints(shape: tuple[int, int]) -> None:
    assert len(LocalFeaturesSignal.features(np.full(shape, 128, np.float32))) == 0


def test_huge_picture_is_reduced_before_detection() -> None:
    luma = np.tile(np.asarray(textured_picture(2).convert("L"), np.float32), (8, 8))  # 5120x3840
    features = LocalFeaturesSignal.features(luma)
    assert (features.width, features.height) == (QUERY_SIDE, QUERY_SIDE * 3 // 4) and len(features) > 100


def test_low_detail_pictures_carry_a_miniature_and_detailed_or_plain_ones_do_not() -> None:
    smooth = hash_bytes(jpeg_bytes(smooth_picture(1)), "sky.jpg", CATALOGUE_LIMITS)
    features = FeatureSet.from_bytes(smooth.features[0].data)
    assert (smooth.quality("pdq") or 0) < 50 and features.miniature is not None and features.miniature.shape == (MINIATURE_SIDE, MINIATURE_SIDE)
    assert features.searchable and features.strongest(0).miniature is not None and features.within((0, 0, 0.5, 0.5)).miniature is None
    assert LocalFeaturesSignal.features(np.asarray(textured_picture(1).convert("L"), np.float32)).miniature is None  # detailed: keypoints suffice
    y, x = np.mgrid[0:300, 0:400].astype(np.float32)
    for plain in (np.full((300, 400), 90, np.float32), np.full((300, 400), 3, np.float32), 40 + 0.3 * y + 0.1 * x):  # grey, black, a cloudless sky
        blank = LocalFeaturesSignal.features(plain)
        assert blank.miniature is None and not blank.searchable


def test_packed_form_version_2_carries_the_miniature_and_version_1_still_reads() -> None:
    features = LocalFeaturesSignal.features(np.asarray(smooth_picture(2).convert("L"), np.float32))
    assert features.miniature is not None
    again = FeatureSet.from_bytes(features.to_bytes())
    assert again.miniature is not None and np.array_equal(again.miniature, features.miniature) and again.points.tolist() == features.points.tolist()
    assert FeatureSet.from_bytes(empty_features(4, 3).to_bytes()).miniature is None
    for damaged in (features.to_bytes()[:-2], features.to_bytes() + b"\0\0"):
        with pytest.raises(FeatureError):
            FeatureSet.from_bytes(damaged)
    detailed = LocalFeaturesSignal.features(np.asarray(textured_picture(3).convert("L"), np.float32))
    version_1 = struct.pack("<4sHHHI", b"MMLF", 1, detailed.width, detailed.height, len(detailed)) + detailed.points.tobytes() + detailed.descriptors.tobytes()
    stored = FeatureSet.from_bytes(version_1)  # as catalogues stored them before miniatures
    assert stored.miniature is None and stored.descriptors.tolist() == detailed.descriptors.tolist()


def test_a_catalogued_picture_keeps_few_keypoints_from_the_finest_octave() -> None:
    import cv2

    def keypoint(response: float, octave: int) -> cv2.KeyPoint:
        return cv2.KeyPoint(x=1.0, y=1.0, size=2.0, response=response, octave=octave & 0xFF)  # packed as OpenCV packs it

    fine, coarse = [keypoint(10.0 - i, -1) for i in range(6)], [keypoint(3.0 - i / 10, 0) for i in range(6)]
    chosen = kept([*coarse, *fine], 4, 0.25)
    assert chosen.tolist() == [6, 0, 1, 2]  # the strongest fine one, then the coarse ones, strongest first
    assert kept([*coarse[:1], *fine], 4, 0.25).tolist() == [1, 2, 3, 0]  # too few coarse ones: filled from the finest octave
    assert kept([*coarse, *fine], 4, 1.0).tolist() == [6, 7, 8, 9]  # a searched picture keeps the strongest, whatever their octave
