"""The two-agency scenario through the API, and what surrounds it: encryption at rest,
blurred thumbnails, audit of every view, login throttling, input limits."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import sqlalchemy as sa

from mediamatch.auth.permissions import Role
from mediamatch.store.models.server import AgencyWebhook
from tests.api.conftest import AGENCIES, PASSWORD, jpeg, make_server

NL, BR = AGENCIES[0][0], AGENCIES[1][0]


class WebhookReceiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        WebhookReceiver.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def contribute(server, files: dict[str, bytes], series: str, role: Role = Role.CONTRIBUTOR, agency: str = NL, case: str = "NL-2026-1") -> list[dict]:
    response = server.client.post(
        "/api/v1/media",
        headers=server.headers(role, agency),
        files=[("files", (name, data, "image/jpeg")) for name, data in files.items()],
        data={"series": series, "case": case, "category": "1"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_two_agencies_share_a_series_and_the_identification_reaches_both(server) -> None:
    receiver = HTTPServer(("127.0.0.1", 0), WebhookReceiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    WebhookReceiver.received = []
    server.client.app.state.settings = replace(server.settings, webhook_allow=("127.0.0.1/32",))  # a lab receiver on loopback
    engine = server.client.app.state.engine
    with engine.begin() as conn:
        br_id = conn.execute(sa.text("SELECT id FROM agencies WHERE name = :n"), {"n": BR}).scalar_one()
        conn.execute(sa.insert(AgencyWebhook), {"agency_id": br_id, "url": f"http://127.0.0.1:{receiver.server_port}/hook"})

    # Agency NL contributes a series; a repeat upload is a new contribution, not a new item.
    first = contribute(server, {f"lark-{i}.jpg": jpeg(i) for i in range(3)}, "Lark")
    assert [entry["status"] for entry in first] == ["added"] * 3
    again = contribute(server, {"lark-0-again.jpg": jpeg(0)}, "Lark", case="NL-2026-2")
    assert again[0]["status"] == "known" and again[0]["media_id"] == first[0]["media_id"]
    assert any("Unit NL (NL-2026-1)" in origin for origin in again[0]["known_from"])

    # Agency BR checks a seized collection holding edited copies: it learns they are known, and by whom.
    seized = {"copy-q60.jpg": jpeg(1, quality=60), "mirrored.jpg": jpeg(2, mirror=True), "holiday.jpg": jpeg(900)}
    response = server.client.post(
        "/api/v1/query/file", headers=server.headers(Role.INVESTIGATOR, BR), files=[("files", (n, d, "image/jpeg")) for n, d in seized.items()]
    )
    assert response.status_code == 200, response.text
    answers = {entry["label"]: entry for entry in response.json()}
    assert answers["copy-q60.jpg"]["known"] and answers["mirrored.jpg"]["known"] and not answers["holiday.jpg"]["known"]
    match = answers["copy-q60.jpg"]["matches"][0]
    assert match["series"] == ["Lark"] and match["signal"] == "pdq" and 0 < match["distance"] <= 31
    assert not match["victim_identified"] and any(origin.startswith("Unit NL") for origin in match["known_from"])
    assert answers["mirrored.jpg"]["matches"][0]["transform"] == "flipy"

    # Hash queries too, single and batch, and the platform answer reveals no metadata.
    sha = first[0]["sha256"]
    hashes = {"queries": [{"signal": "sha256", "value": sha, "label": "a"}, {"signal": "md5", "value": "0" * 32, "label": "b"}]}
    by_hash = server.client.post("/api/v1/query/hashes", headers=server.headers(Role.INVESTIGATOR, BR), json=hashes).json()
    assert [entry["known"] for entry in by_hash] == [True, False]
    platform = server.client.post("/api/v1/match", headers=server.headers(Role.PLATFORM, BR), json=hashes).json()
    with engine.connect() as conn:  # the indicator is the stored hash (what hash lists publish), not the item
        indicator = conn.execute(sa.text("SELECT id FROM media_signals WHERE signal = 'sha256' AND value = :v"), {"v": sha}).scalar_one()
    assert platform[0]["matches"] == [{"indicator": indicator, "signal": "sha256", "distance": 0}]
    assert "series" not in json.dumps(platform) and "Lark" not in json.dumps(platform)

    # NL identifies the victim; BR, which matched media of the series, is told (API and webhook).
    identified = server.client.post("/api/v1/series/Lark/identified", headers=server.headers(Role.INVESTIGATOR, NL))
    assert identified.status_code == 200 and identified.json()["notified"] == [BR]
    notes = server.client.get("/api/v1/notifications", headers=server.headers(Role.INVESTIGATOR, BR)).json()
    assert len(notes) == 1 and notes[0]["series"] == "Lark" and notes[0]["kind"] == "victim_identified" and "Unit NL" in notes[0]["message"]
    assert server.client.get("/api/v1/notifications", headers=server.headers(Role.INVESTIGATOR, NL)).json() == []
    assert WebhookReceiver.received and WebhookReceiver.received[0]["series"] == "Lark"
    receiver.shutdown()

    # Now BR's next query says the victim is identified; the series page shows the timeline.
    again = server.client.post("/api/v1/query/hashes", headers=server.headers(Role.INVESTIGATOR, BR), json=hashes).json()
    assert again[0]["matches"][0]["victim_identified"]
    page = server.client.get("/api/v1/series/Lark", headers=server.headers(Role.INVESTIGATOR, BR)).json()
    assert page["victims_identified"] == 1 and {event["kind"] for event in page["timeline"]} == {"contribution", "identification"}

    # Every step is in the audit trail, and the chain verifies.
    events = server.client.get("/api/v1/audit/events", headers=server.headers(Role.AUDITOR), params={"limit": 500}).json()
    actions = {event["action"] for event in events}
    assert {"upload", "search", "identify"} <= actions
    assert server.client.get("/api/v1/audit/verify", headers=server.headers(Role.AUDITOR)).json()["ok"] is True


def test_content_is_encrypted_at_rest_and_views_are_blurred_and_audited(server, tmp_path: Path) -> None:
    data = jpeg(42)
    media_id = contribute(server, {"x.jpg": data}, "Wren")[0]["media_id"]
    window = data[len(data) // 2 : len(data) // 2 + 48]
    stored = [path for path in Path(server.settings.blob_root).rglob("*") if path.is_file()]
    assert stored and all(window not in path.read_bytes() for path in stored)
    if server.settings.db_url.startswith("sqlite"):
        database = Path(server.settings.db_url.removeprefix("sqlite:///"))
        for path in database.parent.glob(database.name + "*"):
            assert window not in path.read_bytes()

    blurred = server.client.get(f"/api/v1/media/{media_id}/thumbnail", headers=server.headers(Role.INVESTIGATOR))
    assert blurred.status_code == 200 and blurred.headers["content-type"] == "image/jpeg"
    import io

    from PIL import Image

    assert Image.open(io.BytesIO(blurred.content)).mode == "L"  # greyscale by default
    full = server.client.get(f"/api/v1/media/{media_id}/content", headers=server.headers(Role.INVESTIGATOR))
    assert full.content == data
    assert server.client.get(f"/api/v1/media/{media_id}/content", headers=server.headers(Role.CONTRIBUTOR)).status_code == 403
    views = server.client.get(
        "/api/v1/audit/events", headers=server.headers(Role.AUDITOR), params=[("action", "view_thumbnail"), ("action", "view_content")]
    ).json()
    assert sorted(event["action"] for event in views) == ["view_content", "view_thumbnail"]
    assert all(event["object_id"] == str(media_id) for event in views)

    # The same store under another deployment key: a clear error, not garbage.
    other, _ = make_server(server.settings.db_url, tmp_path / "other", key_id="k9")
    other.app.state.blobs.root = server.settings.blob_root
    wrong = other.get(f"/api/v1/media/{media_id}/content", headers=server.headers(Role.INVESTIGATOR))
    assert wrong.status_code == 503 and "k1" in wrong.json()["detail"]
    other.app.state.engine.dispose()


def test_login_issues_a_secure_session_and_is_throttled(server) -> None:
    good = server.client.post("/api/v1/auth/login", json={"username": "investigator@nl", "password": PASSWORD})
    assert good.status_code == 200
    cookie = good.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    token = good.json()["token"]
    assert server.client.get("/api/v1/series", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert server.client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    assert server.client.get("/api/v1/series", headers={"Authorization": f"Bearer {token}"}).status_code == 401

    unknown = server.client.post("/api/v1/auth/login", json={"username": "nobody", "password": "x" * 12})
    wrong = [server.client.post("/api/v1/auth/login", json={"username": "auditor@nl", "password": "wrong password!"}) for _ in range(5)]
    assert unknown.json() == wrong[0].json() == {"detail": "invalid credentials"}  # no hint that a user exists
    locked = server.client.post("/api/v1/auth/login", json={"username": "auditor@nl", "password": PASSWORD})
    assert locked.status_code == 401  # locked after five failures, even with the right password
    failures = server.client.get("/api/v1/audit/events", headers=server.headers(Role.AUDITOR), params={"action": "login_failed"}).json()
    assert len(failures) >= 6


def test_inputs_are_bounded(server) -> None:
    too_many = {"queries": [{"signal": "md5", "value": "0" * 32}] * 1001}
    assert server.client.post("/api/v1/query/hashes", headers=server.headers(Role.INVESTIGATOR), json=too_many).status_code == 422
    wrong_length = {"queries": [{"signal": "sha256", "value": "ab" * 16}]}
    assert server.client.post("/api/v1/query/hashes", headers=server.headers(Role.INVESTIGATOR), json=wrong_length).status_code == 422
    assert server.client.get("/api/v1/series", headers=server.headers(Role.INVESTIGATOR), params={"limit": 100000}).status_code == 422
    huge = b"x" * (server.settings.max_upload_bytes + 2 * 1024 * 1024)
    response = server.client.post(
        "/api/v1/query/file", headers=server.headers(Role.INVESTIGATOR), files=[("files", ("big.bin", huge, "application/octet-stream"))]
    )
    assert response.status_code == 413 and "limit" in response.json()["detail"]


def test_metadata_corrections_are_applied_and_audited_with_old_and_new_values(server) -> None:
    media_id = contribute(server, {"m.jpg": jpeg(77)}, "Finch")[0]["media_id"]
    response = server.client.patch(
        f"/api/v1/media/{media_id}", headers=server.headers(Role.INVESTIGATOR), json={"category": 2, "baseline": True, "add_series": "Finch II"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"media_id": media_id, "category": 2, "baseline": True, "series": ["Finch", "Finch II"]}
    events = server.client.get("/api/v1/audit/events", headers=server.headers(Role.AUDITOR), params={"action": "metadata_change"}).json()
    assert len(events) == 1 and json.loads(events[0]["detail"]) == {"category": [1, 2], "baseline": [False, True], "series_added": "Finch II"}
    assert server.client.patch(f"/api/v1/media/{media_id}", headers=server.headers(Role.PLATFORM), json={"category": 0}).status_code == 403
