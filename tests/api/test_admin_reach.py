"""What an administrator (and an agency that did not contribute an item) can no longer reach:
tokens for people's accounts, and corrections of another agency's items."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from mediamatch.auth.permissions import Role
from mediamatch.auth.tokens import SERVICE_ROLES
from tests.api.conftest import AGENCIES, Server, jpeg

NL, BR = AGENCIES[0][0], AGENCIES[1][0]


def user_id(server: Server, username: str) -> int:
    with server.client.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
        return conn.execute(sa.text("SELECT id FROM users WHERE username = :u"), {"u": username}).scalar_one()


def token_count(server: Server) -> int:
    with server.client.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
        return conn.execute(sa.text("SELECT count(*) FROM api_tokens")).scalar_one()


@pytest.mark.parametrize("role", list(Role))
def test_admins_issue_tokens_only_for_service_accounts(server: Server, role: Role) -> None:
    before = token_count(server)
    response = server.client.post(
        f"/api/v1/users/{user_id(server, f'{role.value}@nl')}/tokens", headers=server.headers(Role.ADMIN), json={"name": "minted", "days": 1}
    )
    if role in SERVICE_ROLES:
        assert response.status_code == 201, response.text
        assert token_count(server) == before + 1
        return
    assert response.status_code == 403 and "own login" in response.json()["detail"]
    assert token_count(server) == before
    events = server.client.get("/api/v1/audit/events", headers=server.headers(Role.AUDITOR), params={"action": "token_created"}).json()
    assert events == []


def contributed(server: Server, agency: str) -> int:
    files = [("files", ("m.jpg", jpeg(41), "image/jpeg"))]
    response = server.client.post("/api/v1/media", headers=server.headers(Role.CONTRIBUTOR, agency), files=files, data={"series": "Wren"})
    assert response.status_code == 200, response.text
    return response.json()[0]["media_id"]


@pytest.mark.parametrize("role", [Role.CONTRIBUTOR, Role.INVESTIGATOR])
def test_only_contributing_agencies_correct_an_item(server: Server, role: Role) -> None:
    media_id = contributed(server, NL)
    refused = server.client.patch(f"/api/v1/media/{media_id}", headers=server.headers(role, BR), json={"category": 0})
    assert refused.status_code == 403 and "contributed" in refused.json()["detail"]
    assert server.client.get("/api/v1/audit/events", headers=server.headers(Role.AUDITOR), params={"action": "metadata_change"}).json() == []
    corrected = server.client.patch(f"/api/v1/media/{media_id}", headers=server.headers(role, NL), json={"category": 0})
    assert corrected.status_code == 200 and corrected.json()["category"] == 0
    [event] = server.client.get("/api/v1/audit/events", headers=server.headers(Role.AUDITOR), params={"action": "metadata_change"}).json()
    assert json.loads(event["detail"]) == {"category": [1, 0]} and event["agency"] == NL


def test_a_second_contributor_may_correct_too(server: Server) -> None:
    media_id = contributed(server, NL)
    assert contributed(server, BR) == media_id  # the same file: BR now contributed it as well
    corrected = server.client.patch(f"/api/v1/media/{media_id}", headers=server.headers(Role.CONTRIBUTOR, BR), json={"baseline": True})
    assert corrected.status_code == 200 and corrected.json()["baseline"] is True
