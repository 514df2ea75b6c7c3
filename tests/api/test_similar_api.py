"""Similarity search through the server: region search for investigators only, audited; remote
triage's second pass sends local features (never pictures) and classifies like a local one."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from mediamatch.auth.permissions import Role
from mediamatch.services.remote import RemoteCatalogueMatcher
from mediamatch.services.triage import STATE_FILE, TriageState, triage
from mediamatch.store.models.audit import AuditEventRow
from tests.similar_pictures import crop_area, jpeg_bytes, pasted_into, resized, smooth_picture, textured_picture, views


def contribute(server, pictures: dict[str, bytes], series: str) -> None:
    response = server.client.post(
        "/api/v1/media", headers=server.headers(Role.CONTRIBUTOR),
        files=[("files", (name, data, "image/jpeg")) for name, data in pictures.items()], data={"series": series},
    )  # fmt: skip
    assert response.status_code == 200, response.text


def search_events(server) -> list[dict]:
    with server.client.app.state.engine.connect() as conn:
        rows = conn.execute(sa.select(AuditEventRow.object_type, AuditEventRow.detail).where(AuditEventRow.action == "search")).all()
    return [{"object_type": row.object_type, **json.loads(row.detail)} for row in rows]


def test_region_search_is_for_investigators_and_audited(server) -> None:
    contribute(server, {"kestrel.jpg": jpeg_bytes(textured_picture(7))}, "Kestrel")
    scene = jpeg_bytes(pasted_into(textured_picture(7), textured_picture(50), share=0.5))
    upload = [("file", ("scene.jpg", scene, "image/jpeg"))]
    for role in (Role.CONTRIBUTOR, Role.REVIEWER, Role.PLATFORM, Role.ADMIN, Role.AUDITOR):
        assert server.client.post("/api/v1/query/similar", headers=server.headers(role), files=upload).status_code == 403, role
    response = server.client.post("/api/v1/query/similar", headers=server.headers(Role.INVESTIGATOR), files=upload, data={"box": "213,120,320,240"})
    assert response.status_code == 200, response.text
    [match] = response.json()["matches"]
    assert (match["series"], match["relation"], match["signal"]) == (["Kestrel"], "contains", "local_features")
    assert 0.4 < match["known_area_share"] <= 1.0 and len(match["query_region"]) >= 3
    outside = server.client.post("/api/v1/query/similar", headers=server.headers(Role.INVESTIGATOR), files=upload, data={"box": "0,0,100,100"})
    assert outside.json()["matches"] == []
    bad = server.client.post("/api/v1/query/similar", headers=server.headers(Role.INVESTIGATOR), files=upload, data={"box": "1,2,three,4"})
    assert bad.status_code == 422
    broken = server.client.post("/api/v1/query/similar", headers=server.headers(Role.INVESTIGATOR), files=[("file", ("x.jpg", b"\xff\xd8 no", "image/jpeg"))])
    assert broken.status_code == 200 and broken.json()["error"]
    assert [(event["object_type"], event["found"]) for event in search_events(server)] == [("similar", 1), ("similar", 0), ("similar", 0)]


def test_feature_search_refuses_malformed_features(server) -> None:
    body = {"items": [{"label": "x", "features": [{"signal": "local_features", "data": "bm90IGZlYXR1cmVz"}]}]}
    response = server.client.post("/api/v1/query/similar/features", headers=server.headers(Role.INVESTIGATOR), json=body)
    assert response.status_code == 422


def test_remote_triage_second_pass_sends_features_only(server, tmp_path: Path) -> None:
    known = {
        "heron.jpg": jpeg_bytes(textured_picture(8)),
        "hall-left.jpg": jpeg_bytes(views(textured_picture(9))[0]),
        "dusk.jpg": jpeg_bytes(smooth_picture(5)),
    }
    contribute(server, known, "Heron")
    seized = tmp_path / "seized"
    seized.mkdir()
    (seized / "heron-crop.jpg").write_bytes(jpeg_bytes(crop_area(textured_picture(8), 0.5)))
    (seized / "hall-right.jpg").write_bytes(jpeg_bytes(views(textured_picture(9))[1]))
    (seized / "unrelated.jpg").write_bytes(jpeg_bytes(textured_picture(51)))
    (seized / "dusk-small.jpg").write_bytes(jpeg_bytes(resized(smooth_picture(5), 0.6), 70))  # low detail: found by its miniature
    sent: list[bytes] = []
    server.client.event_hooks["request"].append(lambda request: sent.append(request.read()))
    matcher = RemoteCatalogueMatcher("http://testserver", server.tokens[(next(iter(server.tokens))[0], Role.INVESTIGATOR)], client=server.client)
    triage(seized, tmp_path / "out", None, workers=1, matcher=matcher, catalogue="http://testserver")
    state = TriageState(tmp_path / "out" / STATE_FILE)
    try:
        rows = {row.path: row for row in state.rows()}
    finally:
        state.close()
    assert {path: row.status for path, row in rows.items()} == {
        "heron-crop.jpg": "known_unidentified",
        "hall-right.jpg": "related",
        "unrelated.jpg": "new",
        "dusk-small.jpg": "known_unidentified",
    }
    assert rows["heron-crop.jpg"].matches[0].relation == "contains" and rows["heron-crop.jpg"].matches[0].known_area_share > 0.4
    assert any(set(json.loads(body)) == {"items"} for body in sent)
    assert "whole picture, low detail" in rows["dusk-small.jpg"].matches[0].transform
    for data in [(seized / name).read_bytes() for name in ("heron-crop.jpg", "hall-right.jpg", "unrelated.jpg", "dusk-small.jpg")]:
        window = data[len(data) // 2 : len(data) // 2 + 32]
        assert all(window not in body for body in sent)  # no picture left the machine


def test_remote_triage_as_a_contributor_says_to_skip_similarity(server, tmp_path: Path) -> None:
    contribute(server, {"heron.jpg": jpeg_bytes(textured_picture(8))}, "Heron")
    seized = tmp_path / "seized"
    seized.mkdir()
    (seized / "unrelated.jpg").write_bytes(jpeg_bytes(textured_picture(51)))
    matcher = RemoteCatalogueMatcher("http://testserver", server.tokens[(next(iter(server.tokens))[0], Role.CONTRIBUTOR)], client=server.client)
    try:
        triage(seized, tmp_path / "out", None, workers=1, matcher=matcher, catalogue="http://testserver")
    except Exception as exc:  # noqa: BLE001 - the message is what is checked
        assert "--no-similar" in str(exc)
    else:
        raise AssertionError("a contributor's remote triage with similarity should be refused")
    triage(seized, tmp_path / "out2", None, workers=1, matcher=matcher, catalogue="http://testserver", similar=False)
