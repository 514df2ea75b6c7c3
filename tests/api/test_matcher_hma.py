"""The platform matcher as HMA: HMA's own request shapes (`signal_type`/`signal`,
`include_distance`, `url`/`content_type`, a multipart field named by the content type) get
HMA's answer shapes, behind the same token as /v1/lookup; and whole videos over /v1/lookup.
A URL is fetched only when it passes the webhook address checks."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from mediamatch.api.matcher_app import MatcherSettings, create_matcher_app
from mediamatch.hashlist.format import VIDEO_GROUP_BYTES, VIDEO_GROUP_SECTION, Section, write_hashlist
from mediamatch.media.hashing import hash_bytes
from mediamatch.signals.vpdq import format_vpdq, parse_vpdq

TOKEN = "h" * 32
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FIRST_FRAME = 1000  # the chair video's frame indicators are 1000, 1001, ...


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, testdata: Path) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("hma")
    key = Ed25519PrivateKey.generate()
    public = folder / "key.pub"
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    photo = next(iter(sorted((testdata / "photos").glob("*.jpg"))))
    record = hash_bytes(photo.read_bytes(), photo.name)
    chair = parse_vpdq((testdata / "threatexchange" / "vpdq" / "sample-hashes" / "chair-19-sd-bar.txt").read_text())[:150]  # a URL's length
    frames = sorted({f.pdq for f in chair if f.quality >= 50})
    frame_ids = np.arange(FIRST_FRAME, FIRST_FRAME + len(frames))
    video_md5 = hashlib.md5(b"a known clip").hexdigest()
    sections = {
        ("entries", "pdq"): Section.of(np.array([7]), np.frombuffer(bytes.fromhex(record.signals["pdq"]), np.uint8), 32),
        ("entries", "md5"): Section.of(np.array([8]), np.frombuffer(bytes.fromhex(video_md5), np.uint8), 16),
        ("entries", "vpdq"): Section.of(frame_ids, np.frombuffer(bytes.fromhex("".join(frames)), np.uint8), 32),
        ("entries", VIDEO_GROUP_SECTION): Section.of(frame_ids, np.full(len(frames), FIRST_FRAME, "<u8").view(np.uint8), VIDEO_GROUP_BYTES),
    }
    write_hashlist(folder / "list.mmhl", sections, key, name="known-material", version=1)
    return {"folder": folder, "public": public, "photo": photo, "pdq": record.signals["pdq"], "md5": video_md5, "chair": chair}


def client_for(world: dict, **settings: object) -> TestClient:
    folder = world["folder"]
    return TestClient(create_matcher_app(MatcherSettings(folder / "list.mmhl", world["public"], token=TOKEN, **settings), background=False))  # type: ignore[arg-type]


def hma_json(frames) -> str:
    return json.dumps({str(f.number): {"quality": f.quality, "hash": f.pdq, "timestamp": f.timestamp} for f in frames})


def test_raw_lookup_and_lookup_answer_in_hma_shapes(world: dict) -> None:
    near = (int(world["pdq"], 16) ^ 0b1011).to_bytes(32, "big").hex()  # 3 bits away
    with client_for(world) as client:
        assert client.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": near}).status_code == 401  # the token, as /v1/lookup
        raw = client.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": near}, headers=AUTH)
        assert raw.status_code == 200 and raw.json() == {"matches": [7]}
        with_distance = client.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": near, "include_distance": "true"}, headers=AUTH)
        assert with_distance.json() == {"matches": [{"content_id": 7, "distance": "3"}]}
        assert client.get("/m/lookup", params={"signal_type": "pdq", "signal": near}, headers=AUTH).json() == ["known-material"]
        assert client.get("/m/lookup", params={"signal_type": "video_md5", "signal": world["md5"]}, headers=AUTH).json() == ["known-material"]
        assert client.get("/m/lookup", params={"signal_type": "pdq", "signal": "0" * 64}, headers=AUTH).json() == []
        bad_type = client.get("/m/lookup", params={"signal_type": "tmk_pdqf", "signal": "00"}, headers=AUTH)
        assert bad_type.status_code == 400 and bad_type.json() == {"message": "No such SignalType 'tmk_pdqf'"}
        bad_value = client.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": "xyz"}, headers=AUTH)
        assert bad_value.status_code == 400 and "invalid signal" in bad_value.json()["message"]
        assert client.get("/m/lookup", params={"signal_type": "pdq"}, headers=AUTH).json() == {"message": "signal is required"}


def test_a_whole_video_in_hma_json_or_meta_text(world: dict) -> None:
    chair = world["chair"]
    with client_for(world) as client:
        for value in (hma_json(chair), format_vpdq(chair)):
            found = client.get("/m/raw_lookup", params={"signal_type": "vpdq", "signal": value, "include_distance": "true"}, headers=AUTH).json()
            assert found == {"matches": [{"content_id": FIRST_FRAME, "distance": "100.0,100.0"}]}
        # a fifth of the known video: HMA's default rule (80% of the query) matches, the README's does not
        excerpt = hma_json(chair[: len(chair) // 5])
        assert client.get("/m/lookup", params={"signal_type": "vpdq", "signal": excerpt}, headers=AUTH).json() == ["known-material"]
        assert client.get("/m/lookup", params={"signal_type": "vpdq", "signal": excerpt, "rule": "known"}, headers=AUTH).json() == []

        body = {"videos": [{"value": format_vpdq(chair[: len(chair) // 5]), "label": "clip"}, {"value": excerpt, "rule": "query"}]}
        answer = client.post("/v1/lookup", json=body, headers=AUTH)
        assert answer.status_code == 200, answer.text
        readme, query_rule = answer.json()["videos"]
        assert answer.json()["results"] == [] and (readme["label"], readme["rule"], readme["frames"]) == ("clip", "known", len(chair) // 5)
        [video] = readme["videos"]
        assert (video["video"], video["query_share"], video["match"]) == (FIRST_FRAME, 1.0, False) and video["known_share"] < 0.5
        assert query_rule["videos"][0]["match"] is True and query_rule["videos"][0]["known_share"] == video["known_share"]
        assert set(video["frames"]) <= set(range(FIRST_FRAME, FIRST_FRAME + 1000))
        assert client.post("/v1/lookup", json={"videos": [{"value": "0,90,zz,0"}]}, headers=AUTH).status_code == 422
        assert client.post("/v1/lookup", json={}, headers=AUTH).status_code == 422


def test_uploads_are_hashed_only_where_enabled(world: dict) -> None:
    data = Path(world["photo"]).read_bytes()
    with client_for(world) as client:
        refused = client.post("/m/lookup", files={"photo": ("x.jpg", data)}, headers=AUTH)
        assert refused.status_code == 403 and "--hash-media" in refused.json()["message"]
    with client_for(world, hash_media=True) as client:
        assert client.post("/m/lookup", files={"photo": ("x.jpg", data)}, headers=AUTH).json() == {"pdq": ["known-material"]}
        two = client.post("/m/lookup", files=[("photo", ("x.jpg", data)), ("photo", ("y.jpg", data))], headers=AUTH)
        assert two.status_code == 400 and two.json() == {"message": "Only one file allowed per request"}
        assert client.post("/m/lookup", files={"audio": ("x.mp3", data)}, headers=AUTH).json() == {"message": "no such content_type: 'audio'"}


@pytest.fixture
def local_server(world: dict) -> Iterator[str]:
    data = Path(world["photo"]).read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/picture.jpg"
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_url_is_fetched_only_from_an_allowed_address(world: dict, local_server: str) -> None:
    with client_for(world, hash_media=True) as client:
        private = client.get("/m/lookup", params={"url": local_server}, headers=AUTH)
        assert private.status_code == 400 and "loopback" in private.json()["message"]
    with client_for(world, hash_media=True, fetch_allow=("127.0.0.1/32",)) as client:
        assert client.get("/m/lookup", params={"url": local_server}, headers=AUTH).json() == {"pdq": ["known-material"]}
