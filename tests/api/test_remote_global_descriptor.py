"""Remote triage where a global-descriptor model is installed locally: only local features go to
the server (its feature search reads nothing else), and the second pass still classifies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mediamatch.auth.permissions import Role
from mediamatch.services.remote import RemoteCatalogueMatcher
from mediamatch.services.triage import STATE_FILE, TriageState, triage
from mediamatch.signals.global_descriptor import MODEL_ENV
from tests.api.test_similar_api import contribute
from tests.signals.tiny_sscd import write_tiny_model
from tests.similar_pictures import crop_area, jpeg_bytes, textured_picture

pytest.importorskip("onnxruntime", reason="the [similar-onnx] extra (onnxruntime) is not installed")


def test_only_local_features_travel(server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODEL_ENV, str(write_tiny_model(tmp_path / "tiny.onnx")))
    contribute(server, {"heron.jpg": jpeg_bytes(textured_picture(8))}, "Heron")
    seized = tmp_path / "seized"
    seized.mkdir()
    (seized / "heron-crop.jpg").write_bytes(jpeg_bytes(crop_area(textured_picture(8), 0.5)))
    sent: list[bytes] = []
    server.client.event_hooks["request"].append(lambda request: sent.append(request.read()))
    matcher = RemoteCatalogueMatcher("http://testserver", server.tokens[(next(iter(server.tokens))[0], Role.INVESTIGATOR)], client=server.client)
    triage(seized, tmp_path / "out", None, workers=1, matcher=matcher, catalogue="http://testserver")
    state = TriageState(tmp_path / "out" / STATE_FILE)
    try:
        assert [row.status for row in state.rows()] == ["known_unidentified"]
    finally:
        state.close()
    searches = [json.loads(body) for body in sent if body.startswith(b'{"items"')]
    assert searches and {features["signal"] for body in searches for item in body["items"] for features in item["features"]} == {"local_features"}
