"""Three agencies working together on one series, through the API and the command line, on
SQLite and PostgreSQL: A claims it, B meets copies in a triage and sees A's claim (report and
API), B claims too and both are told; A pins a clue on a region of a picture and asks for help
with a crop that a second person of A approves (four eyes); C, subscribed to the clue's
country, is notified and answers; search finds the clue; A identifies the victim and the
statistics count it for A's country and month.

Reading of the issue: "whose crop B's second account approves" is taken as the asking agency's
(A's) second account, since the four-eyes rule is within the agency that shares the crop.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from mediamatch.auth.permissions import Role
from mediamatch.auth.tokens import issue_token
from mediamatch.auth.users import create_user
from mediamatch.cli.main import app
from mediamatch.store import repo
from mediamatch.store.db import session_scope
from tests.api.conftest import AGENCIES, PASSWORD, Server, jpeg

A, B = AGENCIES[0][0], AGENCIES[1][0]
C, C_COUNTRY = "Unit CH", "CH"
BOX = {"left": 40, "top": 30, "width": 120, "height": 90}


def add_account(server: Server, agency: str, country: str, username: str, role: Role = Role.INVESTIGATOR) -> dict[str, str]:
    """Another account (of a new or existing agency) with a token; its headers."""
    with session_scope(server.client.app.state.engine) as session:  # type: ignore[attr-defined]
        user = create_user(session, repo.get_or_create_agency(session, agency, country), username, PASSWORD, role)
        token = issue_token(session, user, "test", timedelta(days=1), datetime.now(timezone.utc)).plaintext
    return {"Authorization": f"Bearer {token}"}


def ok(response, status: int = 200) -> dict | list:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def notifications(server: Server, headers: dict[str, str]) -> list[dict]:
    return ok(server.client.get("/api/v1/notifications", headers=headers))  # type: ignore[return-value]


def test_three_agencies_work_one_series_together(server: Server, db_url: str, tmp_path: Path) -> None:
    client = server.client
    a, b = server.headers(Role.INVESTIGATOR, A), server.headers(Role.INVESTIGATOR, B)
    a_second = add_account(server, A, "NL", "second@nl")
    c = add_account(server, C, C_COUNTRY, "specialist@ch")
    pictures = {f"lark-{i}.jpg": jpeg(i) for i in range(3)}
    added = ok(client.post("/api/v1/media", headers=server.headers(Role.CONTRIBUTOR, A), files=[("files", (n, d, "image/jpeg")) for n, d in pictures.items()],
                           data={"series": "Lark", "case": "NL-2026-7"}))  # fmt: skip
    media_id = added[0]["media_id"]  # type: ignore[index]

    # A claims the series.
    claim = ok(client.post("/api/v1/investigations", headers=a, json={"series": "Lark", "case_reference": "NL-2026-7", "contact": "vic-desk@nl.example"}))
    assert claim["already"] == [] and claim["investigation"]["agency"] == A  # type: ignore[call-overload]
    label = f"under investigation by {A} (NL) since {datetime.now(timezone.utc).date().isoformat()}"

    # B triages a seized drive holding copies: the report (json, csv, html) names A's claim ...
    seized = tmp_path / "seized"
    seized.mkdir()
    (seized / "copy.jpg").write_bytes(jpeg(1, quality=60))
    (seized / "holiday.jpg").write_bytes(jpeg(900))
    result = CliRunner().invoke(app, ["triage", str(seized), "--out", str(tmp_path / "out"), "--db", db_url, "--workers", "1"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    rows = {row["path"]: row for row in report["files"]}
    assert rows["copy.jpg"]["matches"][0]["investigations"] == [label] and rows["holiday.jpg"]["matches"] == []
    assert label in (tmp_path / "out" / "report.csv").read_text() and label in (tmp_path / "out" / "report.html").read_text()
    # ... and so does the API's answer to B's query.
    answer = ok(client.post("/api/v1/query/file", headers=b, files=[("files", ("copy.jpg", jpeg(2, quality=70), "image/jpeg"))]))
    assert answer[0]["matches"][0]["investigations"] == [label]  # type: ignore[index]

    # B claims too: told who already works the series; both agencies are notified.
    second = ok(client.post("/api/v1/investigations", headers=b, json={"series": "Lark", "case_reference": "BR-55", "contact": "+55 61 0000"}))
    assert [(o["agency"], o["contact"]) for o in second["already"]] == [(A, "vic-desk@nl.example")]  # type: ignore[index]
    assert set(second["notified"]) == {A, B}  # type: ignore[call-overload]
    for headers, other in ((a, B), (b, A)):
        overlap = [n for n in notifications(server, headers) if n["kind"] == "investigation_overlap"]
        assert len(overlap) == 1 and other in overlap[0]["message"] and overlap[0]["series"] == "Lark"
    history = ok(client.get("/api/v1/investigations", headers=a, params={"series": "Lark"}))
    assert [entry["agency"] for entry in history] == [A, B]  # type: ignore[index]

    # C's specialist follows clues about Switzerland.
    ok(client.post("/api/v1/subscriptions", headers=c, json={"country": "ch"}))

    # A pins a clue on a region and drafts a help request with a crop of it.
    clue = ok(client.post("/api/v1/clues", headers=a, json={"series": "Lark", "media_id": media_id, "box": BOX, "kind": "object",
                                                           "text": "Type J wall socket beside the door", "country": "ch", "confidence": 70}))  # fmt: skip
    assert clue["country"] == "CH" and clue["box"] == BOX  # type: ignore[call-overload]
    draft = ok(client.post("/api/v1/help-requests", headers=a, json={"clue_id": clue["id"], "question": "Who recognises this socket?"}))  # type: ignore[call-overload]
    assert draft["status"] == "awaiting_approval" and draft["has_crop"]  # type: ignore[call-overload]
    assert client.get(f"/api/v1/help-requests/{draft['id']}", headers=c).status_code == 404  # type: ignore[call-overload]
    assert client.get(f"/api/v1/help-requests/{draft['id']}/crop", headers=c).status_code == 404  # type: ignore[call-overload]
    crop = Image.open(io.BytesIO(ok_bytes(client.get(f"/api/v1/help-requests/{draft['id']}/crop", headers=a, params={"reveal": "true"}))))  # type: ignore[call-overload]
    assert crop.size == (BOX["width"], BOX["height"])  # the box only, not the picture

    # Four eyes: the author cannot approve; A's second account does, and C is notified.
    refused = client.post(f"/api/v1/help-requests/{draft['id']}/decision", headers=a, json={"approve": True})  # type: ignore[call-overload]
    assert refused.status_code == 409 and "second person" in refused.json()["detail"]
    decision = ok(client.post(f"/api/v1/help-requests/{draft['id']}/decision", headers=a_second, json={"approve": True}))  # type: ignore[call-overload]
    assert decision["request"]["status"] == "sent" and decision["notified"] == [C]  # type: ignore[call-overload]
    told = [n for n in notifications(server, c) if n["kind"] == "help_request"]
    assert len(told) == 1 and "Who recognises this socket?" in told[0]["message"]

    # C sees the request and its (blurred) crop, and answers; A is notified of the answer.
    assert ok(client.get(f"/api/v1/help-requests/{draft['id']}", headers=c))["question"] == "Who recognises this socket?"  # type: ignore[call-overload]
    blurred = Image.open(io.BytesIO(ok_bytes(client.get(f"/api/v1/help-requests/{draft['id']}/crop", headers=c))))  # type: ignore[call-overload]
    assert blurred.mode == "L"
    ok(client.post(f"/api/v1/help-requests/{draft['id']}/answers", headers=c, json={"body": "Swiss T13 socket: sold in Switzerland only"}))  # type: ignore[call-overload]
    answered = [n for n in notifications(server, a) if n["kind"] == "help_answer"]
    assert len(answered) == 1 and C in answered[0]["message"] and "T13" in answered[0]["message"]

    # Search finds the clue by a word of its text, for every agency (it is visible to all).
    for headers in (a, b, c):
        hits = ok(client.get("/api/v1/search", headers=headers, params={"q": "socket", "country": "CH"}))
        assert [(hit["kind"], hit["object_id"]) for hit in hits] == [("clue", clue["id"])]  # type: ignore[index, call-overload]

    # A marks the victim identified; the statistics count it for A's country and month.
    ok(client.post("/api/v1/series/Lark/identified", headers=a))
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    stats = ok(client.get("/api/v1/stats", headers=server.headers(Role.ADMIN, A)))
    assert {"month": month, "label": A, "country": "NL", "count": 1} in stats["victims_identified"]  # type: ignore[call-overload]
    assert {"month": "", "label": B, "country": "BR", "count": 1} in stats["open_investigations"]  # type: ignore[call-overload]
    assert len(stats["days_to_identification"]) == 1  # type: ignore[call-overload]
    result = CliRunner().invoke(app, ["stats", "--db", db_url, "--json"])
    assert result.exit_code == 0, result.output
    assert {"month": month, "label": A, "country": "NL", "count": 1} in json.loads(result.stdout)["victims_identified"]


def ok_bytes(response) -> bytes:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    return response.content
