"""Low-detail pictures decided by their miniatures: a resized, re-encoded copy is found, another
low-detail picture is not, only the nearest of several passing candidates is a hit unless they
are the same picture twice, and the index survives a save and a load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mediamatch.index.descriptors import DescriptorIndex
from mediamatch.index.faiss_files import IndexFileError
from mediamatch.index.miniatures import WHOLE, MiniatureIndex, resemblance
from mediamatch.index.similarity import KnownRow, search
from mediamatch.media.image import decode_luma
from mediamatch.signals.local_features import FeatureSet, LocalFeaturesSignal
from tests.similar_pictures import jpeg_bytes, resized, smooth_picture


def features_of(picture: Image.Image, quality: int = 92) -> FeatureSet:
    return LocalFeaturesSignal.features(decode_luma(jpeg_bytes(picture, quality)).luma)


@pytest.fixture(scope="module")
def known() -> dict[int, KnownRow]:
    return {row: KnownRow(row, None, features_of(smooth_picture(seed))) for row, seed in ((10, 1), (11, 2), (12, 3))}


def index_of(known: dict[int, KnownRow]) -> MiniatureIndex:
    index = MiniatureIndex.empty()
    assert index.add([(row, item.features) for row, item in known.items()]) == len(known)
    return index


def searched(known: dict[int, KnownRow], query: FeatureSet) -> list[tuple[int, str]]:
    hits = search(DescriptorIndex.empty(), query, lambda rows: {row: known[row] for row in rows}, index_of(known))
    return [(hit.row, hit.alignment.transform) for hit in hits]


def test_a_resized_reencoded_copy_is_found_whole_and_another_low_detail_picture_is_not(known) -> None:
    copy = features_of(resized(smooth_picture(2), 0.6), quality=70)
    assert len(copy) < 8 and copy.miniature is not None  # nothing for keypoints to verify
    found = resemblance(copy, known[11].features)
    assert found is not None and found.rms < 0.6 and found.correlation > 0.99
    [(row, transform)] = searched(known, copy)
    assert row == 11 and transform == f"whole picture, low detail: miniatures differ by {found.rms:.1f} grey levels"
    alignment = search(DescriptorIndex.empty(), copy, lambda rows: {r: known[r] for r in rows}, index_of(known))[0].alignment
    assert (alignment.relation, alignment.known_share, alignment.query_region) == ("contains", 1.0, WHOLE)
    assert searched(known, features_of(smooth_picture(4))) == [] and resemblance(copy, known[10].features) is None
    cropped = features_of(resized(smooth_picture(2), 0.6).crop((0, 0, 288, 150)))  # another shape: not the whole picture
    assert resemblance(cropped, known[11].features) is None


def test_only_the_nearest_passing_candidate_unless_the_same_picture_is_catalogued_twice(known) -> None:
    copy = features_of(resized(smooth_picture(3), 0.6), quality=70)
    twice = {**known, 13: KnownRow(13, None, features_of(smooth_picture(3), quality=80))}
    assert sorted(row for row, _ in searched(twice, copy)) == [12, 13]
    darker = Image.eval(smooth_picture(3), lambda value: max(0, value - 1))  # passes too, but a grey level further
    nearest_only = {**known, 14: KnownRow(14, None, features_of(darker))}
    assert resemblance(copy, nearest_only[14].features) is not None and [row for row, _ in searched(nearest_only, copy)] == [12]


def test_near_uniform_pictures_are_never_compared() -> None:
    grey = LocalFeaturesSignal.features(np.full((300, 400), 128, np.float32))
    assert grey.miniature is None and resemblance(grey, grey) is None


def test_the_index_saves_and_loads_and_refuses_other_files(known, tmp_path: Path) -> None:
    path = tmp_path / "miniatures"
    index_of(known).save(path)
    loaded = MiniatureIndex.load(path)
    assert len(loaded) == 3 and loaded.nearest(known[12].features.miniature)[0] == (12, 0.0)
    path.write_bytes(b"not an index")
    with pytest.raises(IndexFileError):
        MiniatureIndex.load(path)
