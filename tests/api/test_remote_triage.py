"""Triage against a server: the same classes as a local triage, and only hashes leave."""

from __future__ import annotations

import json
from pathlib import Path

from mediamatch.auth.permissions import Role
from mediamatch.services.remote import RemoteMatcher
from mediamatch.services.triage import STATE_FILE, TriageState, triage
from tests.api.conftest import jpeg


def test_remote_triage_sends_hashes_only_and_classifies_like_a_local_one(server, tmp_path: Path) -> None:
    files = {f"known-{i}.jpg": jpeg(i) for i in range(3)}
    response = server.client.post(
        "/api/v1/media", headers=server.headers(Role.CONTRIBUTOR),
        files=[("files", (name, data, "image/jpeg")) for name, data in files.items()], data={"series": "Heron"},
    )  # fmt: skip
    assert response.status_code == 200
    seized = tmp_path / "seized"
    seized.mkdir()
    (seized / "exact.jpg").write_bytes(files["known-0.jpg"])
    (seized / "reencoded.jpg").write_bytes(jpeg(1, quality=55))
    (seized / "mirrored.jpg").write_bytes(jpeg(2, mirror=True))
    (seized / "new.jpg").write_bytes(jpeg(700))
    (seized / "notes.txt").write_text("not media")

    sent: list[bytes] = []
    server.client.event_hooks["request"].append(lambda request: sent.append(request.read()))
    matcher = RemoteMatcher("http://testserver", server.tokens[(next(iter(server.tokens))[0], Role.INVESTIGATOR)], client=server.client)
    triage(seized, tmp_path / "out", None, workers=1, matcher=matcher, catalogue="http://testserver")

    state = TriageState(tmp_path / "out" / STATE_FILE)
    rows = {row.path: row for row in state.rows()}
    assert state.meta()["catalogue"] == "http://testserver"
    state.close()
    assert {path: row.status for path, row in rows.items()} == {
        "exact.jpg": "known_unidentified", "reencoded.jpg": "known_unidentified", "mirrored.jpg": "known_unidentified",
        "new.jpg": "new", "notes.txt": "not_media",
    }  # fmt: skip
    assert rows["mirrored.jpg"].matches[0].transform == "flipy" and rows["exact.jpg"].matches[0].signal == "sha256"
    assert sent and all(set(json.loads(body)) == {"queries"} for body in sent)
    for data in [*files.values(), (seized / "new.jpg").read_bytes()]:
        window = data[len(data) // 2 : len(data) // 2 + 32]
        assert all(window not in body for body in sent)  # no content left the machine
