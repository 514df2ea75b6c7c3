"""Lookups named as python-threatexchange and HMA name signals (`PDQ`, `video_md5`,
`video_sha256`) are answered by the platform matcher and the central server, in our names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from mediamatch.api.matcher_app import MatcherSettings, create_matcher_app
from mediamatch.auth.permissions import Role
from mediamatch.hashlist.format import Section, write_hashlist
from tests.api.conftest import AGENCIES, jpeg


def test_the_matcher_takes_their_names(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    public = tmp_path / "key.pub"
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    rng = np.random.default_rng(7)
    pdq, md5 = rng.integers(0, 256, (5, 32), dtype=np.uint8), rng.integers(0, 256, (5, 16), dtype=np.uint8)
    sections = {("entries", "pdq"): Section.of(np.arange(1, 6), pdq, 32), ("entries", "md5"): Section.of(np.arange(11, 16), md5, 16)}
    write_hashlist(tmp_path / "v1.mmhl", sections, key, name="l", version=1)
    app = create_matcher_app(MatcherSettings(tmp_path / "v1.mmhl", public), background=False)
    queries = [
        {"signal": "PDQ", "value": pdq[2].tobytes().hex().upper()},
        {"signal": "video_md5", "value": md5[3].tobytes().hex()},
        {"signal": "Photo_MD5", "value": md5[4].tobytes().hex()},
    ]
    with TestClient(app) as client:
        answer = client.post("/v1/lookup", json={"queries": queries})
        assert answer.status_code == 200, answer.text
        assert [result["matches"] for result in answer.json()["results"]] == [
            [{"indicator": 3, "signal": "pdq", "distance": 0}],
            [{"indicator": 14, "signal": "md5", "distance": 0}],
            [{"indicator": 15, "signal": "md5", "distance": 0}],
        ]
        refused = client.post("/v1/lookup", json={"queries": [{"signal": "tmk_pdqf", "value": "00"}]})
        assert refused.status_code == 422 and "unknown signal 'tmk_pdqf'" in refused.text


def test_the_central_match_takes_their_names(server) -> None:
    added = server.client.post(
        "/api/v1/media",
        headers=server.headers(Role.CONTRIBUTOR),
        files=[("files", ("a.jpg", jpeg(3), "image/jpeg"))],
        data={"series": "Lark", "category": "1"},
    ).json()
    sha256 = added[0]["sha256"]
    body = {"queries": [{"signal": "VIDEO_SHA256", "value": sha256.upper()}, {"signal": "video_md5", "value": "0" * 32}]}
    answer = server.client.post("/api/v1/match", headers=server.headers(Role.PLATFORM, AGENCIES[1][0]), json=body)
    assert answer.status_code == 200, answer.text
    first, second = answer.json()
    assert [(match["signal"], match["distance"]) for match in first["matches"]] == [("sha256", 0)] and second["matches"] == []
