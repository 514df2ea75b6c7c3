"""The platform's matcher service (its own app) and the central server's hash-list downloads.

Matcher: not ready until a verified list is loaded, refuses a tampered list (stays not ready,
says why), answers lookups with indicator, signal and distance only, picks up deltas from its
updates folder (reload guarded by the token), and reports the version it is loading.
Central: platform accounts list and download the published files; every download is audited."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from mediamatch.api.matcher_app import MatcherSettings, create_matcher_app
from mediamatch.audit.events import AuditAction
from mediamatch.audit.trail import AuditFilter, query
from mediamatch.auth.permissions import Role
from mediamatch.hashlist.delta import write_delta
from mediamatch.hashlist.format import Section, read_hashlist, write_hashlist
from mediamatch.services.hashlists import export_hashlist, set_consent
from mediamatch.store import repo
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import MediaItem, MediaSignal

TOKEN = "t" * 32


@pytest.fixture
def published(tmp_path: Path) -> dict[str, object]:
    key = Ed25519PrivateKey.generate()
    public = tmp_path / "key.pub"
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    rng = np.random.default_rng(5)
    pdq = rng.integers(0, 256, (50, 32), dtype=np.uint8)
    md5 = rng.integers(0, 256, (50, 16), dtype=np.uint8)
    v1 = {("entries", "pdq"): Section.of(np.arange(1, 51), pdq, 32), ("entries", "md5"): Section.of(np.arange(101, 151), md5, 16)}
    v2 = {("entries", "pdq"): Section.of(np.arange(2, 52), np.concatenate([pdq[1:], pdq[:1] ^ 0xFF]), 32), ("entries", "md5"): v1[("entries", "md5")]}
    write_hashlist(tmp_path / "v1.mmhl", v1, key, name="l", version=1)
    target = write_hashlist(tmp_path / "v2.mmhl", v2, key, name="l", version=2, previous_version=1)
    updates = tmp_path / "updates"
    updates.mkdir()
    old, new = (read_hashlist(tmp_path / n, key.public_key()) for n in ("v1.mmhl", "v2.mmhl"))
    write_delta(tmp_path / "v2.mmhl.delta", old, new, target, key)
    return {"key": key, "public": public, "pdq": pdq, "md5": md5, "dir": tmp_path, "updates": updates}


def test_lookups_reveal_only_indicator_signal_and_distance(published) -> None:
    app = create_matcher_app(MatcherSettings(published["dir"] / "v1.mmhl", published["public"]), background=False)
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["version"] == 1 and ready.json()["counts"] == {"md5": 50, "pdq": 50}
        near = published["pdq"][4].copy()
        near[:3] ^= 0xFF  # 24 bits away
        body = {
            "queries": [
                {"signal": "pdq", "value": near.tobytes().hex()},
                {"signal": "md5", "value": published["md5"][7].tobytes().hex()},
                {"signal": "sha256", "value": "00" * 32},
            ]
        }
        answer = client.post("/v1/lookup", json=body).json()
        assert answer["list"] == "l" and answer["version"] == 1
        assert answer["results"][0]["matches"] == [{"indicator": 5, "signal": "pdq", "distance": 24}]
        assert answer["results"][1]["matches"] == [{"indicator": 108, "signal": "md5", "distance": 0}]
        assert answer["results"][2]["matches"] == []
        bad = client.post("/v1/lookup", json={"queries": [{"signal": "pdq", "value": "zz"}]})
        assert bad.status_code == 422 and "pdq: expected 64 hex digits" in bad.text  # the schema checks a value by its signal
        assert client.post("/v1/lookup", json={"queries": []}).status_code == 422
        assert client.post("/v1/admin/reload").status_code == 403  # no token: no remote control


def test_a_tampered_list_never_becomes_ready(published, tmp_path: Path) -> None:
    data = bytearray((published["dir"] / "v1.mmhl").read_bytes())
    data[200] ^= 1
    (tmp_path / "bad.mmhl").write_bytes(bytes(data))
    app = create_matcher_app(MatcherSettings(tmp_path / "bad.mmhl", published["public"]), background=False)
    with TestClient(app) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "bad.mmhl" in ready.json()["error"]
        looked = client.post("/v1/lookup", json={"queries": [{"signal": "md5", "value": "00" * 16}]})
        assert looked.status_code == 503 and "bad.mmhl" in looked.json()["detail"]
        assert client.get("/healthz").status_code == 200


def test_the_background_load_makes_it_ready(published) -> None:
    app = create_matcher_app(MatcherSettings(published["dir"] / "v1.mmhl", published["public"]))
    with TestClient(app) as client:
        for _ in range(500):
            if client.get("/readyz").status_code == 200:
                break
            time.sleep(0.01)
        assert client.get("/readyz").json()["version"] == 1


def test_token_guards_lookups_and_reload_applies_waiting_deltas(published) -> None:
    settings = MatcherSettings(published["dir"] / "v1.mmhl", published["public"], updates=published["updates"], token=TOKEN, poll_seconds=3600)
    app = create_matcher_app(settings, background=False)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    query_first = {"queries": [{"signal": "pdq", "value": published["pdq"][0].tobytes().hex()}]}
    with TestClient(app) as client:
        assert client.post("/v1/lookup", json=query_first).status_code == 401
        assert client.post("/v1/lookup", json=query_first, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.post("/v1/lookup", json=query_first, headers=headers).json()["results"][0]["matches"][0]["indicator"] == 1
        (published["updates"] / "junk.delta").write_bytes(b"not a list")
        (published["updates"] / "v2.delta").write_bytes((published["dir"] / "v2.mmhl.delta").read_bytes())
        assert client.post("/v1/admin/reload").status_code == 401
        reloaded = client.post("/v1/admin/reload", headers=headers).json()
        assert reloaded == {"version": 2, "applied": ["v2.delta"]}
        ready = client.get("/readyz").json()
        assert ready["version"] == 2 and ready["updating_to"] is None and ready["refused_updates"]["junk.delta"].startswith("bad_signature: ")
        assert client.post("/v1/lookup", json=query_first, headers=headers).json()["results"][0]["matches"] == []  # removed in v2
        assert client.post("/v1/admin/reload", headers=headers).json() == {"version": 2, "applied": []}
        (published["updates"] / "v2-again.delta").write_bytes((published["dir"] / "v2.mmhl.delta").read_bytes())
        client.post("/v1/admin/reload", headers=headers)
        assert client.get("/readyz").json()["refused_updates"]["v2-again.delta"] == "replay: v1 -> v2 is already in the loaded version 2"


def test_readiness_reports_the_version_being_loaded(published) -> None:
    app = create_matcher_app(MatcherSettings(published["dir"] / "v1.mmhl", published["public"]), background=False)
    with TestClient(app) as client:
        app.state.service.matcher.updating_to = 2  # as while apply_delta builds the next state
        ready = client.get("/readyz")
        assert ready.status_code == 200 and (ready.json()["version"], ready.json()["updating_to"]) == (1, 2)


def test_platforms_download_published_lists_and_each_download_is_audited(server, tmp_path: Path) -> None:
    engine = server.client.app.state.engine
    key = Ed25519PrivateKey.generate()
    with session_scope(engine) as session:
        agency = repo.get_or_create_agency(session, "Unit NL")
        item = MediaItem(sha256="ab" * 32, md5="cd" * 16, sha1="ef" * 20, media_type="image/jpeg", size=1, category=1)
        session.add(item)
        session.flush()
        session.add(MediaSignal(media_id=item.id, signal="md5", value="cd" * 16))
        session.add(repo.Contribution(media_id=item.id, agency_id=agency.id))
        set_consent(session, "Unit NL", True, actor="admin", actor_agency="Hotline")
    export_hashlist(engine, tmp_path / "v1.mmhl", key, actor="op", agency="Hotline", name="platforms")
    export_hashlist(engine, tmp_path / "v2.mmhl", key, actor="op", agency="Hotline", previous=tmp_path / "v1.mmhl")
    platform = server.headers(Role.PLATFORM)
    listed = server.client.get("/api/v1/hashlists", headers=platform).json()
    assert [(v["name"], v["version"], v["counts"]) for v in listed] == [
        ("platforms", 2, {"md5": 1, "pdq": 0, "sha1": 0, "sha256": 0, "vpdq": 0}),
        ("platforms", 1, {"md5": 1, "pdq": 0, "sha1": 0, "sha256": 0, "vpdq": 0}),
    ]
    full = server.client.get("/api/v1/hashlists/platforms/2", headers=platform)
    assert full.status_code == 200 and full.content == (tmp_path / "v2.mmhl").read_bytes()
    assert full.headers["x-content-sha256"] == listed[0]["sha256"]
    delta = server.client.get("/api/v1/hashlists/platforms/2/delta", headers=platform)
    assert delta.content == (tmp_path / "v2.mmhl.delta").read_bytes()
    assert server.client.get("/api/v1/hashlists/platforms/1/delta", headers=platform).status_code == 404
    assert server.client.get("/api/v1/hashlists/platforms/3", headers=platform).status_code == 404
    assert server.client.get("/api/v1/hashlists/platforms/2", headers=server.headers(Role.INVESTIGATOR)).status_code == 403
    (tmp_path / "v1.mmhl").write_bytes(b"replaced")
    assert server.client.get("/api/v1/hashlists/platforms/1", headers=platform).status_code == 500
    (tmp_path / "v1.mmhl").unlink()
    assert server.client.get("/api/v1/hashlists/platforms/1", headers=platform).status_code == 410
    with session_scope(engine) as session:
        events = query(session, AuditFilter(actions=(AuditAction.HASHLIST_DOWNLOADED,)))
    assert [(e.actor, e.object_id, json.loads(e.detail)["part"]) for e in events] == [
        ("platform@nl", "platforms/2", "full"),
        ("platform@nl", "platforms/2", "delta"),
    ]
