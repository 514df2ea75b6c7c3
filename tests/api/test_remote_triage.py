"""Triage against a server: the same classes as a local triage, and only hashes leave."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mediamatch.auth.permissions import Role
from mediamatch.services.remote import RemoteCatalogueMatcher
from mediamatch.services.triage import STATE_FILE, TriageRow, TriageState, triage
from tests.api.conftest import jpeg


def remote_triage(server, seized: Path, out: Path) -> tuple[dict[str, TriageRow], list[bytes]]:
    """Triage `seized` against the test server as an investigator; the rows, and every request
    body that left for the server."""
    sent: list[bytes] = []
    server.client.event_hooks["request"].append(lambda request: sent.append(request.read()))
    matcher = RemoteCatalogueMatcher("http://testserver", server.tokens[(next(iter(server.tokens))[0], Role.INVESTIGATOR)], client=server.client)
    triage(seized, out, None, workers=1, matcher=matcher, catalogue="http://testserver")
    state = TriageState(out / STATE_FILE)
    try:
        assert state.meta()["catalogue"] == "http://testserver"
        return {row.path: row for row in state.rows()}, sent
    finally:
        state.close()


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

    rows, sent = remote_triage(server, seized, tmp_path / "out")
    assert {path: row.status for path, row in rows.items()} == {
        "exact.jpg": "known_unidentified", "reencoded.jpg": "known_unidentified", "mirrored.jpg": "known_unidentified",
        "new.jpg": "new", "notes.txt": "not_media",
    }  # fmt: skip
    assert rows["mirrored.jpg"].matches[0].transform == "flipy" and rows["exact.jpg"].matches[0].signal == "sha256"
    assert sent and all(set(json.loads(body)) in ({"queries"}, {"items"}) for body in sent)  # hashes, or local features (second pass)
    for data in [*files.values(), (seized / "new.jpg").read_bytes()]:
        window = data[len(data) // 2 : len(data) // 2 + 32]
        assert all(window not in body for body in sent)  # no content left the machine


def test_remote_triage_of_videos_sends_frame_hashes_and_gets_time_ranges(server, tmp_path: Path) -> None:
    """A known video is uploaded; a seized compilation that contains it is triaged against the
    server: it is known, with where the known clip sits, and only hashes travelled."""
    pytest.importorskip("av", reason="video support is the [video] extra")
    from mediamatch.services.samples import generated_video, restyled_video

    clip = generated_video(tmp_path / "known.mp4", seconds=6, fps=10, seed=21)
    response = server.client.post(
        "/api/v1/media", headers=server.headers(Role.CONTRIBUTOR),
        files=[("files", ("known.mp4", clip.read_bytes(), "video/mp4"))], data={"series": "Egret"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    seized = tmp_path / "seized"
    seized.mkdir()
    generated_video(seized / "compilation.mp4", seconds=10, fps=10, seed=22, insert=(clip, 4.0))
    generated_video(seized / "other.mp4", seconds=5, fps=10, seed=23)
    restyled_video(clip, seized / "letterboxed.mp4", fps=25, size=(640, 480))  # found by its frames' variants, which travel too

    rows, sent = remote_triage(server, seized, tmp_path / "out")
    assert rows["other.mp4"].status == "new" and rows["letterboxed.mp4"].status == "known_unidentified"
    assert rows["compilation.mp4"].status == "known_unidentified"
    [match] = rows["compilation.mp4"].matches
    assert match.signal == "vpdq" and match.series == ("Egret",) and match.known_share >= 0.8
    assert 3.0 <= match.query_seconds[0][0] <= 5.5 and 9.0 <= match.query_seconds[-1][1] <= 11.5
    assert sent and all(set(json.loads(body)) <= {"label", "signals", "frames"} or set(json.loads(body)) == {"items"} for body in sent)  # or local features
    assert all(set(json.loads(body)["signals"]) == {"md5", "sha1", "sha256"} for body in sent if "items" not in json.loads(body))  # the file's digests, by name
    data = (seized / "compilation.mp4").read_bytes()
    assert all(data[len(data) // 2 : len(data) // 2 + 32] not in body for body in sent)
