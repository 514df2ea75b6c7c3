"""The global descriptor signal: where its model comes from (never a download), what it computes
(L2-normalised 512-number embeddings; zeros for a blank picture), and that the registry keeps it
out of everything that carries hash values, and out of hashing when its model is absent."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from mediamatch.signals import global_descriptor
from mediamatch.signals.global_descriptor import DIMENSIONS, MODEL_ENV, GlobalDescriptorSignal, from_bytes, model_path, unavailable
from mediamatch.signals.registry import all_signals, embedding_signals, find_signal
from tests.signals.tiny_sscd import write_tiny_model
from tests.similar_pictures import jpeg_bytes, textured_picture

pytest.importorskip("onnxruntime", reason="the [similar-onnx] extra (onnxruntime) is not installed")


@pytest.fixture
def tiny_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_tiny_model(tmp_path / "tiny.onnx")
    monkeypatch.setenv(MODEL_ENV, str(path))
    return path


def luma(picture) -> np.ndarray:
    return np.asarray(picture.convert("L"), np.float32)


def test_the_deployment_path_wins_and_a_missing_one_is_said(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert model_path() == tiny_model and unavailable() is None
    monkeypatch.setenv(MODEL_ENV, str(tmp_path / "absent.onnx"))
    assert model_path() is None
    assert "absent.onnx" in (unavailable() or "") and embedding_signals() == ()


def test_without_a_path_the_installed_package_is_asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(MODEL_ENV, raising=False)
    package = tmp_path / "site" / global_descriptor.MODEL_PACKAGE
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    try:
        assert model_path() is None and "no model" in (unavailable() or "")
        write_tiny_model(package / "sscd_distilled.onnx")
        assert model_path() == package / "sscd_distilled.onnx"
    finally:
        sys.modules.pop(global_descriptor.MODEL_PACKAGE, None)  # later tests run without a model


def test_embeddings_are_unit_vectors_close_for_copies(tiny_model: Path) -> None:
    import io

    from PIL import Image

    original = textured_picture(1)
    copy = Image.open(io.BytesIO(jpeg_bytes(original.resize((320, 240)))))
    first = from_bytes(GlobalDescriptorSignal.compute_features(luma(original)))
    assert first.shape == (DIMENSIONS,) and np.linalg.norm(first) == pytest.approx(1.0, abs=1e-5)
    assert float(first @ GlobalDescriptorSignal.embedding(luma(copy))) > 0.95
    assert float(first @ GlobalDescriptorSignal.embedding(luma(textured_picture(2)))) < 0.3
    assert not GlobalDescriptorSignal.embedding(np.full((300, 400), 120, np.float32)).any()


def test_never_a_hash_signal(tiny_model: Path) -> None:
    assert GlobalDescriptorSignal not in all_signals() and find_signal("global_descriptor") is None
    assert embedding_signals() == (GlobalDescriptorSignal,)
    with pytest.raises(ValueError, match="no string form"):
        GlobalDescriptorSignal.validate("00")
