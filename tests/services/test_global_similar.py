"""The global descriptor end to end on SQLite and PostgreSQL, with a tiny stand-in model
(tests/signals/tiny_sscd.py): a low-detail copy local features cannot find (too few keypoints,
and brightened past what its miniature allows) is found by its embedding alone and says so; an unrelated low-detail picture is not; a textured candidate is
verified by local features; the embedding index persists beside the catalogue and catches up;
without a model triage says once that the global descriptor is off, and nothing else changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image
from sqlalchemy.orm import Session

from mediamatch.catalog.hashes import HashRecord
from mediamatch.catalog.records import MatchDetail
from mediamatch.media.hashing import hash_bytes
from mediamatch.media.limits import CATALOGUE_LIMITS
from mediamatch.services.contribute import ContributionRequest, contribute
from mediamatch.services.global_similar import Candidate, GlobalDescriptorMatcher, decide
from mediamatch.services.similar import NO_DESCRIPTORS, SimilarityMatcher, search_picture
from mediamatch.services.triage import STATE_FILE, TriageState, triage
from mediamatch.signals.global_descriptor import MODEL_ENV, from_bytes
from mediamatch.signals.local_features import FeatureSet, empty_features
from mediamatch.signals.registry import all_signals
from tests.signals.tiny_sscd import write_tiny_model
from tests.similar_pictures import jpeg_bytes, pasted_into, save, textured_picture

pytest.importorskip("onnxruntime", reason="the [similar-onnx] extra (onnxruntime) is not installed")
pytest.importorskip("onnx", reason="onnx (test extra) builds the stand-in model")


def glow(horizontal: bool) -> Image.Image:
    """A smooth low-detail picture (a soft glow): too few keypoints for local features."""
    y, x = np.mgrid[0:480, 0:640].astype(np.float32)
    centre = (200.0, 240.0) if horizontal else (480.0, 120.0)
    plane = 230 - 160 * np.hypot(x - centre[0], y - centre[1]) / 700
    return Image.fromarray(np.clip(plane, 0, 255).astype(np.uint8)).convert("RGB")


def brightened_copy(picture: Image.Image) -> Image.Image:
    """A small copy 12 grey levels brighter: its miniature is too far for index/miniatures.py,
    the stand-in model takes the mean away."""
    return Image.eval(picture.resize((160, 120)), lambda value: min(255, value + 12))


@pytest.fixture
def model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_tiny_model(tmp_path / "tiny.onnx")
    monkeypatch.setenv(MODEL_ENV, str(path))
    return path


@pytest.fixture
def catalogue(tmp_path: Path, engine: sa.Engine, model: Path) -> sa.Engine:
    known = tmp_path / "known"
    contribute(engine, [save(glow(True), known / "glow.png")], ContributionRequest(series="Glow", victim_identified=True), workers=1)
    contribute(engine, [save(textured_picture(1), known / "harbour.jpg")], ContributionRequest(series="Harbour"), workers=1)
    return engine


def rows(out: Path) -> dict:
    state = TriageState(out / STATE_FILE)
    try:
        return {row.path: row for row in state.rows()}
    finally:
        state.close()


def record_of(picture: Image.Image) -> HashRecord:
    return hash_bytes(jpeg_bytes(picture), "query.jpg", CATALOGUE_LIMITS)


def test_a_cosine_alone_never_makes_a_picture_known(catalogue, tmp_path: Path) -> None:
    """The stand-in model puts the brightened copy of a low-detail picture next to it, but
    nothing verifies it (too few keypoints; its miniature is too far): the copy stays new,
    as every unrelated low-detail picture the nearest embedding would otherwise call known."""
    seized = tmp_path / "seized"
    save(brightened_copy(glow(True)), seized / "glow-small.jpg")
    save(glow(False), seized / "other-glow.png")
    triage(seized, tmp_path / "out", catalogue, workers=1)
    found = rows(tmp_path / "out")
    assert {path: row.status for path, row in found.items()} == {"glow-small.jpg": "new", "other-glow.png": "new"}
    matcher = GlobalDescriptorMatcher.open(catalogue)
    vector = from_bytes(next(p.data for p in record_of(brightened_copy(glow(True))).features if p.signal == "global_descriptor"))
    assert matcher.saved.index.search(vector, 1)[0][1] >= 0.75  # the embedding did find it
    assert "global_descriptor" not in found["glow-small.jpg"].signals  # never a hash value


def test_a_textured_candidate_is_verified_by_local_features(catalogue) -> None:
    matcher = GlobalDescriptorMatcher.open(catalogue)
    with Session(catalogue) as session:
        [match] = matcher.matches(record_of(textured_picture(1).resize((480, 360))), session)
        assert (match.relation, match.series) == ("contains", ("Harbour",))
        assert "verified by local features" in match.transform and match.inliers and match.inliers >= 12
        assert matcher.matches(record_of(textured_picture(9)), session) == []


def test_the_index_persists_beside_the_catalogue_and_catches_up(catalogue, tmp_path: Path) -> None:
    path = tmp_path / "index" / "embedding-index"
    first = GlobalDescriptorMatcher.open(catalogue, path)
    assert path.exists() and len(first.saved.index) == 2 and first.saved.last_row == 2
    contribute(catalogue, [save(glow(False), tmp_path / "late" / "late.png")], ContributionRequest(series="Late"), workers=1)
    reopened = GlobalDescriptorMatcher.open(catalogue, path)
    assert len(reopened.saved.index) == 3 and reopened.saved.last_row == 3


def test_without_a_model_triage_says_so_once(tmp_path: Path, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODEL_ENV, str(tmp_path / "no-model.onnx"))
    contribute(engine, [save(glow(True), tmp_path / "known" / "glow.png")], ContributionRequest(series="Glow"), workers=1)
    save(brightened_copy(glow(True)), tmp_path / "seized" / "glow-small.jpg")
    triage(tmp_path / "seized", tmp_path / "out", engine, workers=1)
    state = TriageState(tmp_path / "out" / STATE_FILE)
    try:
        assert "no-model.onnx" in state.meta()["global_descriptor"]
        assert [row.status for row in state.rows()] == ["new"]
    finally:
        state.close()
    assert all(signal.index_kind != "embedding" for signal in all_signals())


def test_region_search_with_the_model_installed_searches_local_features(catalogue, tmp_path: Path) -> None:
    """The searched file's embedding is computed too; a box applies to its keypoints only."""
    matcher = SimilarityMatcher.open(catalogue, tmp_path / "similar-index")
    scene = pasted_into(textured_picture(1), textured_picture(42), share=0.5)
    boxed = search_picture(matcher, jpeg_bytes(scene), box=(213, 120, 320, 240))
    assert boxed.error is None and [match.series for match in boxed.matches] == [("Harbour",)]
    assert search_picture(matcher, jpeg_bytes(Image.new("L", (300, 300), 90)), box=(0, 0, 100, 100)).note == NO_DESCRIPTORS


def test_decisions_without_the_index() -> None:
    detail = MatchDetail(1, ("Any",), None, False, False)
    textured = [FeatureSet.from_bytes(record_of(textured_picture(seed)).features[0].data) for seed in (3, 4)]
    plain = empty_features(640, 480)
    close = Candidate(1, None, 0.9)
    assert decide(close, textured[0], textured[1], detail) is None  # keypoints that do not align outweigh the cosine
    assert decide(close, plain, textured[1], detail) is None  # nothing to verify: no verdict, however close
    same = decide(close, textured[0], textured[0], detail)
    assert same is not None and same.relation == "contains" and "verified by local features" in same.transform
