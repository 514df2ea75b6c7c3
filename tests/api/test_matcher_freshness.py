"""The server's one catalogue matcher stays current without any route remembering to refresh
it: contributing, correcting metadata and identifying invalidate it through the services.

Why through the API: the matcher is opened once per app and lives across requests, so the
failure this guards against (a query answered from the catalogue as it was at the first
query) only shows across several requests to one app.
"""

from __future__ import annotations

from mediamatch.auth.permissions import Role
from mediamatch.services.matching import CatalogueMatcher
from tests.api.conftest import AGENCIES, jpeg

NL, BR = AGENCIES[0][0], AGENCIES[1][0]


def contribute(server, name: str, data: bytes, series: str) -> dict:
    response = server.client.post(
        "/api/v1/media", headers=server.headers(Role.CONTRIBUTOR, NL),
        files=[("files", (name, data, "image/jpeg"))], data={"series": series, "category": "1"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()[0]


def query(server, data: bytes) -> dict:
    response = server.client.post("/api/v1/query/file", headers=server.headers(Role.INVESTIGATOR, BR), files=[("files", ("q.jpg", data, "image/jpeg"))])
    assert response.status_code == 200, response.text
    return response.json()[0]


def test_contributions_corrections_and_identifications_reach_the_open_matcher(server) -> None:
    first = contribute(server, "wren-1.jpg", jpeg(11), "Wren")
    assert query(server, jpeg(11, quality=70))["known"]
    matcher = server.client.app.state.matcher
    assert isinstance(matcher, CatalogueMatcher)

    # A new item, added after the matcher was opened: the same matcher finds it next time.
    assert not query(server, jpeg(12, quality=70))["known"]
    contribute(server, "wren-2.jpg", jpeg(12), "Wren")
    assert query(server, jpeg(12, quality=70))["known"]

    # A correction that matches report (the category), then an identification.
    corrected = server.client.patch(f"/api/v1/media/{first['media_id']}", headers=server.headers(Role.CONTRIBUTOR, NL), json={"category": 2})
    assert corrected.status_code == 200, corrected.text
    [match] = query(server, jpeg(11, quality=70))["matches"]
    assert match["category"] == 2 and not match["victim_identified"]
    assert server.client.post("/api/v1/series/Wren/identified", headers=server.headers(Role.INVESTIGATOR, NL)).status_code == 200
    assert query(server, jpeg(11, quality=70))["matches"][0]["victim_identified"]
    assert server.client.app.state.matcher is matcher  # kept current, never reopened


def test_a_correction_that_changes_nothing_leaves_the_matcher_valid(server) -> None:
    item = contribute(server, "finch.jpg", jpeg(21), "Finch")
    query(server, jpeg(21))
    matcher = server.client.app.state.matcher
    unchanged = server.client.patch(f"/api/v1/media/{item['media_id']}", headers=server.headers(Role.CONTRIBUTOR, NL), json={"category": 1})
    assert unchanged.status_code == 200 and unchanged.json()["category"] == 1
    assert not matcher._stale
    server.client.patch(f"/api/v1/media/{item['media_id']}", headers=server.headers(Role.CONTRIBUTOR, NL), json={"baseline": True})
    assert matcher._stale
