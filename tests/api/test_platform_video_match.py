"""The central `/api/v1/match` takes whole videos too (Meta's text form or HMA's JSON form) and
answers per known video with both shares, the request's rule deciding `match`; a video is named
as hash lists name it (its first frame's indicator), never by a media item id. The ThreatExchange
reference frame hashes (vpdq/sample-hashes) stand for the videos."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from mediamatch.audit.events import AuditAction
from mediamatch.audit.trail import AuditFilter, query
from mediamatch.auth.permissions import Role
from mediamatch.signals.vpdq import format_vpdq, parse_vpdq
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import Agency, Contribution, MediaItem, MediaSignal


def frames_of(testdata: Path, name: str):
    return parse_vpdq((testdata / "threatexchange" / "vpdq" / "sample-hashes" / f"{name}.txt").read_text())


def test_a_whole_video_is_answered_per_known_video_under_the_rule_asked(server, testdata: Path) -> None:
    engine = server.client.app.state.engine  # type: ignore[attr-defined]
    chair = frames_of(testdata, "chair-19-sd-bar")
    with session_scope(engine) as session:
        still = MediaItem(sha256="2" * 64, md5="2" * 32, sha1="2" * 40, media_type="image/jpeg", size=1, category=1)
        session.add(still)
        session.flush()
        session.add_all([MediaSignal(media_id=still.id, signal="md5", value="2" * 32), MediaSignal(media_id=still.id, signal="sha1", value="2" * 40)])
        item = MediaItem(sha256="1" * 64, md5="1" * 32, sha1="1" * 40, media_type="video/mp4", size=1, category=1)
        session.add(item)
        session.flush()
        distinct = {frame.pdq: frame for frame in reversed(chair)}
        rows = [
            MediaSignal(media_id=item.id, signal="vpdq", value=f.pdq, quality=f.quality, timestamp=f.timestamp)
            for f in sorted(distinct.values(), key=lambda f: f.number)
        ]
        session.add_all([*rows, MediaSignal(media_id=item.id, signal="md5", value="1" * 32)])
        session.add(Contribution(media_id=item.id, agency_id=session.scalar(sa.select(Agency.id).limit(1))))
        session.flush()
        first_frame, media_id = rows[0].id, item.id
    copy = frames_of(testdata, "chair-20-sd-bar")
    excerpt = chair[: len(chair) // 5]
    as_json = json.dumps({str(f.number): {"quality": f.quality, "hash": f.pdq, "timestamp": f.timestamp} for f in excerpt})
    body = {
        "queries": [{"signal": "md5", "value": "1" * 32, "label": "digest"}],
        "videos": [
            {"value": format_vpdq(copy), "label": "copy"},
            {"value": format_vpdq(excerpt), "label": "excerpt"},
            {"value": as_json, "label": "excerpt as HMA JSON", "rule": "query"},
            {"value": format_vpdq(frames_of(testdata, "doorknob-hd-no-bar")), "label": "unrelated", "rule": "both"},
        ],
    }
    response = server.client.post("/api/v1/match", headers=server.headers(Role.PLATFORM), json=body)
    assert response.status_code == 200, response.text
    digest, copied, cut, cut_json, unrelated = response.json()
    assert digest["label"] == "digest" and digest["matches"][0]["signal"] == "md5" and "videos" not in digest
    [video] = copied["videos"]
    assert (copied["rule"], video["video"], video["match"]) == ("known", first_frame, True) and min(video["query_share"], video["known_share"]) >= 0.8
    [part] = cut["videos"]
    assert (part["video"], part["query_share"], part["match"]) == (first_frame, 1.0, False) and part["known_share"] < 0.5
    assert cut_json["videos"] == [{**part, "match": True}]  # the same shares; the query rule calls it a match
    assert unrelated == {"label": "unrelated", "matches": [], "rule": "both", "videos": []}
    assert first_frame != media_id  # named as hash lists name it, not by the catalogue's item id

    bad = server.client.post("/api/v1/match", headers=server.headers(Role.PLATFORM), json={"videos": [{"value": "{}"}]})
    assert bad.status_code == 422
    assert server.client.post("/api/v1/match", headers=server.headers(Role.PLATFORM), json={}).status_code == 422
    with session_scope(engine) as session:
        [event] = query(session, AuditFilter(actions=(AuditAction.SEARCH,), object_type="platform-match"))
        assert json.loads(event.detail) == {"count": 1, "videos": 4, "hits": 3}  # the digest, the copy, the excerpt under the query rule
