"""Platform hits through the HTTP API: a platform reports, a reviewer compares and decides,
the indicator is disputed or a report written; platforms see only their own hits and no
catalogue data, every view of content and every decision is audited."""

from __future__ import annotations

import io
import json

import sqlalchemy as sa
from PIL import Image, ImageChops, ImageFilter, ImageStat

from mediamatch.auth.permissions import Role
from mediamatch.media.hashing import hash_bytes
from mediamatch.store.models.audit import AuditEventRow
from mediamatch.store.models.catalogue import MediaSignal
from mediamatch.store.models.review import IndicatorDispute
from tests.api.conftest import AGENCIES, jpeg

NL, BR = AGENCIES[0][0], AGENCIES[1][0]


def contribute_known(server, seed: int) -> tuple[int, str]:
    """A known item, contributed by NL; returns its PDQ indicator's id and value."""
    response = server.client.post(
        "/api/v1/media", headers=server.headers(Role.CONTRIBUTOR),
        files=[("files", (f"known-{seed}.jpg", jpeg(seed), "image/jpeg"))], data={"series": "Lark", "category": "1"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    media_id = response.json()[0]["media_id"]
    with server.client.app.state.engine.connect() as conn:
        row = conn.execute(sa.select(MediaSignal.id, MediaSignal.value).where(MediaSignal.media_id == media_id, MediaSignal.signal == "pdq")).one()
    return row.id, row.value


def report(server, indicator: tuple[int, str], upload: bytes, reference: str, agency: str = NL) -> dict:
    pdq = hash_bytes(upload, reference).value("pdq")
    assert pdq is not None
    distance = (int(pdq, 16) ^ int(indicator[1], 16)).bit_count()
    body = {"hits": [{"signal": "pdq", "value": pdq, "indicator_id": indicator[0], "distance": distance, "reference": reference,
                      "list_name": "baseline", "list_version": 1}]}  # fmt: skip
    response = server.client.post("/api/v1/hits", headers=server.headers(Role.PLATFORM, agency), json=body)
    assert response.status_code == 200, response.text
    (hit,) = response.json()
    return hit


def upload(server, hit_id: int, data: bytes, agency: str = NL):
    return server.client.put(f"/api/v1/hits/{hit_id}/content", headers=server.headers(Role.PLATFORM, agency), files={"file": ("item.jpg", data, "image/jpeg")})


def sharpness(picture: Image.Image, box: tuple[int, int, int, int]) -> float:
    """Variance of the edge image inside `box` (edges first, so the box's own border adds none)."""
    return ImageStat.Stat(picture.convert("L").filter(ImageFilter.FIND_EDGES).crop(box)).var[0]


def audit_actions(server) -> list[tuple[str, str, dict]]:
    with server.client.app.state.engine.connect() as conn:
        rows = conn.execute(sa.select(AuditEventRow.action, AuditEventRow.object_id, AuditEventRow.detail).order_by(AuditEventRow.seq)).all()
    return [(row.action, row.object_id, json.loads(row.detail)) for row in rows]


def test_report_compare_reject_dispute(server) -> None:
    indicator = contribute_known(server, 1)
    platform_copy = jpeg(1, quality=60)  # the platform's re-encoded copy of the known item

    # The platform reports; a retry is the same hit; the answer holds nothing but id, reference, status.
    hit = report(server, indicator, platform_copy, "post-123")
    assert set(hit) == {"id", "reference", "status"} and hit["status"] == "pending" and hit["reference"] == "post-123"
    assert report(server, indicator, platform_copy, "post-123")["id"] == hit["id"]
    hit_id = hit["id"]

    # Another platform can neither see nor upload to it; a reviewer's routes are closed to platforms.
    assert upload(server, hit_id, platform_copy, agency=BR).status_code == 404
    assert server.client.get("/api/v1/hits", headers=server.headers(Role.PLATFORM, BR)).json() == []
    for path in ("/api/v1/review/queue", f"/api/v1/hits/{hit_id}", f"/api/v1/hits/{hit_id}/comparison.jpg"):
        assert server.client.get(path, headers=server.headers(Role.PLATFORM)).status_code == 403

    # The platform uploads the matched item; a file that does not hash to the report is refused.
    assert upload(server, hit_id, jpeg(77)).status_code == 422
    uploaded = upload(server, hit_id, platform_copy)
    assert uploaded.status_code == 200, uploaded.text
    assert upload(server, hit_id, platform_copy).status_code == 409  # once
    blobs = server.client.app.state.blobs
    assert sum(1 for _ in blobs.addresses()) == 2  # the known item and the upload, both encrypted
    assert all(platform_copy not in path.read_bytes() for path in blobs.root.rglob("*") if path.is_file())

    # The reviewer sees it in the queue with what a decision needs, and nothing about victims or cases.
    queue = server.client.get("/api/v1/review/queue", headers=server.headers(Role.REVIEWER, BR))
    assert queue.status_code == 200, queue.text
    (entry,) = queue.json()
    assert (entry["id"], entry["provider"], entry["reference"], entry["series"], entry["content_uploaded"]) == (hit_id, NL, "post-123", ["Lark"], True)
    assert entry["indicator"] == {"id": indicator[0], "signal": "pdq", "value": indicator[1]} and 0 < entry["distance"] <= 31
    assert not {"victims", "victim_identified", "known_from", "case"} & set(entry)
    assert server.client.get(f"/api/v1/hits/{hit_id}", headers=server.headers(Role.REVIEWER, BR)).json() == entry

    # The comparison: greyscale and blurred by default, sharp when revealed.
    shown = server.client.get(f"/api/v1/hits/{hit_id}/comparison.jpg", headers=server.headers(Role.REVIEWER, BR))
    revealed = server.client.get(f"/api/v1/hits/{hit_id}/comparison.jpg?reveal=true", headers=server.headers(Role.REVIEWER, BR))
    assert shown.status_code == revealed.status_code == 200
    assert shown.headers["content-type"] == "image/jpeg" and shown.headers["cache-control"] == "no-store"
    blurred, sharp = Image.open(io.BytesIO(shown.content)).convert("RGB"), Image.open(io.BytesIO(revealed.content)).convert("RGB")
    assert blurred.size == sharp.size == (2 * 256 + 8, 256)
    red, green, blue = blurred.split()
    assert ImageChops.difference(red, green).getbbox() is None and ImageChops.difference(green, blue).getbbox() is None
    r, _, b = sharp.split()
    assert ImageChops.difference(r, b).getbbox() is not None  # the revealed view keeps colour
    for left in (0, 264):  # each panel: both the upload and the known item are reduced
        inner = (left + 16, 48, left + 240, 208)  # inside the 256x192 picture, centred in its panel
        assert sharpness(blurred, inner) * 10 < sharpness(sharp, inner)

    # Rejected: final, and the indicator is disputed (out of the next hash list).
    decision = {"decision": "reject", "reason": "benign: a landscape, not the known item"}
    rejected = server.client.post(f"/api/v1/hits/{hit_id}/decision", headers=server.headers(Role.REVIEWER, BR), json=decision)
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected" and rejected.json()["report_id"] is None and rejected.json()["dispute_id"]
    again = server.client.post(f"/api/v1/hits/{hit_id}/decision", headers=server.headers(Role.REVIEWER), json={"decision": "confirm"})
    assert again.status_code == 409 and "already rejected" in again.json()["detail"]
    with server.client.app.state.engine.connect() as conn:
        disputes = conn.execute(sa.select(IndicatorDispute.signal_id, IndicatorDispute.hit_id).where(IndicatorDispute.resolved_at.is_(None))).all()
    assert [tuple(row) for row in disputes] == [(indicator[0], hit_id)]
    assert server.client.get("/api/v1/review/queue", headers=server.headers(Role.REVIEWER)).json() == []
    own = server.client.get("/api/v1/hits?reference=post-123", headers=server.headers(Role.PLATFORM)).json()
    assert own == [{"id": hit_id, "reference": "post-123", "status": "rejected"}]
    assert upload(server, hit_id, platform_copy).status_code in (409,)

    # Every report, upload, view of content and decision is in the audit trail.
    events = [(action, object_id, detail) for action, object_id, detail in audit_actions(server) if action.startswith(("hit_", "view_hit"))]
    assert [(action, object_id) for action, object_id, _ in events] == [
        ("hit_reported", ""), ("hit_reported", ""), ("hit_content_uploaded", str(hit_id)),
        ("view_hit_comparison", str(hit_id)), ("view_hit_comparison", str(hit_id)), ("hit_reviewed", str(hit_id)),
    ]  # fmt: skip
    assert [detail["revealed"] for action, _, detail in events if action == "view_hit_comparison"] == [False, True]
    assert events[-1][2]["decision"] == "reject" and events[-1][2]["indicator"] == indicator[0]


def test_confirmed_hits_make_reports_and_error_rates(server) -> None:
    indicator = contribute_known(server, 2)
    confirmed = report(server, indicator, jpeg(2, quality=70), "post-1")["id"]
    rejected = report(server, indicator, jpeg(2, quality=50), "post-2")["id"]
    decide = {"decision": "confirm", "action_taken": "removed by the provider", "reason": "same picture"}
    response = server.client.post(f"/api/v1/hits/{confirmed}/decision", headers=server.headers(Role.REVIEWER), json=decide)
    assert response.status_code == 200 and response.json()["report_id"] and response.json()["dispute_id"] is None
    no_reason = server.client.post(f"/api/v1/hits/{rejected}/decision", headers=server.headers(Role.REVIEWER), json={"decision": "reject"})
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["detail"]
    server.client.post(f"/api/v1/hits/{rejected}/decision", headers=server.headers(Role.REVIEWER), json={"decision": "reject", "reason": "unrelated"})

    reports = server.client.get("/api/v1/hits/reports", headers=server.headers(Role.INVESTIGATOR, BR))
    assert reports.status_code == 200, reports.text
    (record,) = reports.json()
    assert (record["hit_id"], record["provider"], record["provider_country"], record["provider_reference"]) == (confirmed, NL, "NL", "post-1")
    assert (record["indicator_id"], record["material_type"], record["action_taken"], record["reviewer"]) == (
        indicator[0],
        "known",
        "removed by the provider",
        "reviewer@nl",
    )
    assert record["content_available"] is False
    for role in (Role.PLATFORM, Role.ADMIN, Role.AUDITOR):
        assert server.client.get("/api/v1/hits/reports", headers=server.headers(role)).status_code == 403

    rates = server.client.get("/api/v1/hits/error-rates", headers=server.headers(Role.ADMIN))
    assert rates.status_code == 200, rates.text
    assert rates.json() == {
        "indicators": [{"indicator_id": indicator[0], "signal": "pdq", "disputed": True, "confirmed": 1, "rejected": 1, "false_positive_rate": 0.5}],
        "lists": [{"list_name": "baseline", "list_version": 1, "confirmed": 1, "rejected": 1, "false_positive_rate": 0.5}],
    }
    assert server.client.get("/api/v1/hits/error-rates", headers=server.headers(Role.REVIEWER)).status_code == 403


def test_a_bad_batch_stores_nothing(server) -> None:
    indicator = contribute_known(server, 3)
    good = {"signal": "pdq", "value": indicator[1], "indicator_id": indicator[0], "distance": 0, "reference": "ok"}
    batch = {"hits": [good, {**good, "indicator_id": 999_999, "reference": "stale"}]}
    response = server.client.post("/api/v1/hits", headers=server.headers(Role.PLATFORM), json=batch)
    assert response.status_code == 422 and "hit 1: no indicator 999999" in response.json()["detail"]
    too_many = {"hits": [good] * 1001}
    assert server.client.post("/api/v1/hits", headers=server.headers(Role.PLATFORM), json=too_many).status_code == 422
    assert server.client.post("/api/v1/hits", headers=server.headers(Role.PLATFORM), json={"hits": [{**good, "stream_time": -1}]}).status_code == 422
    assert server.client.get("/api/v1/hits", headers=server.headers(Role.PLATFORM)).json() == []
    assert server.client.get("/api/v1/review/queue", headers=server.headers(Role.REVIEWER)).json() == []


def test_a_hit_on_a_video_frame_indicator_is_accepted(server) -> None:
    """Hash lists carry a known video's frames as "vpdq" indicators, one 64-hex frame hash each;
    a platform reports a hit on one with the value it found (a frame of its upload)."""
    known = contribute_known(server, 4)
    with server.client.app.state.engine.begin() as conn:
        media_id = conn.execute(sa.select(MediaSignal.media_id).where(MediaSignal.id == known[0])).scalar_one()
        frame = conn.execute(
            sa.insert(MediaSignal).values(media_id=media_id, signal="vpdq", value=known[1], quality=100, timestamp=2.0).returning(MediaSignal.id)
        ).scalar_one()
    found = f"{int(known[1], 16) ^ 0b111:064x}"  # the platform's frame: 3 bits from the indicator
    body = {"hits": [{"signal": "vpdq", "value": found.upper(), "indicator_id": frame, "distance": 3, "reference": "stream-9", "stream_time": 12.5}]}
    response = server.client.post("/api/v1/hits", headers=server.headers(Role.PLATFORM), json=body)
    assert response.status_code == 200, response.text
    (queued,) = server.client.get("/api/v1/review/queue", headers=server.headers(Role.REVIEWER)).json()
    assert queued["id"] == response.json()[0]["id"] and queued["signal"] == "vpdq"
    too_far = {"hits": [{**body["hits"][0], "distance": 257, "reference": "stream-10"}]}
    assert server.client.post("/api/v1/hits", headers=server.headers(Role.PLATFORM), json=too_far).status_code == 422
