"""Accounts an administrator creates or resets get a one-time enrolment code, never a password
the administrator chose: the person sets their own, so no administrator can sign in as them."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from mediamatch.auth.permissions import Role
from tests.api.conftest import AGENCIES, PASSWORD, Server

NL = AGENCIES[0][0]
OWN_PASSWORD = "a password only the investigator knows"


def events(server: Server, action: str) -> list[dict[str, object]]:
    response = server.client.get("/api/v1/audit/events", headers=server.headers(Role.AUDITOR), params={"action": action})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def login(server: Server, username: str, password: str) -> int:
    return server.client.post("/api/v1/auth/login", json={"username": username, "password": password}).status_code


def test_an_account_made_by_an_admin_has_no_password_until_its_person_enrols(server: Server) -> None:
    admin = server.headers(Role.ADMIN)
    refused = server.client.post("/api/v1/users", headers=admin, json={"username": "ines", "role": "investigator", "agency": NL, "password": PASSWORD * 2})
    assert refused.status_code == 422  # an admin cannot choose the password
    created = server.client.post("/api/v1/users", headers=admin, json={"username": "ines", "role": "investigator", "agency": NL})
    assert created.status_code == 201, created.text
    code = created.json()["enrolment"]["enrolment_code"]
    assert len(code) >= 32
    for guess in ("", PASSWORD, code):  # nothing the admin knows opens the account
        assert login(server, "ines", guess) in (401, 422)
    short = server.client.post("/api/v1/auth/enrol", json={"username": "ines", "code": code, "password": "ines"})
    assert short.status_code == 422  # the policy applies, and the code is not used up
    assert server.client.post("/api/v1/auth/enrol", json={"username": "ines", "code": code, "password": OWN_PASSWORD}).status_code == 204
    assert login(server, "ines", OWN_PASSWORD) == 200
    again = server.client.post("/api/v1/auth/enrol", json={"username": "ines", "code": code, "password": "someone else's password"})
    assert again.status_code == 401 and "already used" in again.json()["detail"]
    assert login(server, "ines", OWN_PASSWORD) == 200  # a used code changes nothing
    assert [e["actor"] for e in events(server, "enrolled")] == ["ines"]
    [failed] = events(server, "enrol_failed")
    assert failed["actor"] == "ines" and "no enrolment pending" in str(failed["detail"])
    [made] = [e for e in events(server, "user_created") if e["object_id"] == str(created.json()["id"])]
    assert code not in str(made["detail"])  # the trail never holds the code


def test_a_password_reset_ends_the_old_password_and_tokens_and_issues_a_code(server: Server) -> None:
    investigator = server.headers(Role.INVESTIGATOR)
    assert server.client.get("/api/v1/notifications", headers=investigator).status_code == 200
    with server.client.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
        target = conn.execute(text("SELECT id FROM users WHERE username = 'investigator@nl'")).scalar_one()
    reset = server.client.post(f"/api/v1/users/{target}/password-reset", headers=server.headers(Role.ADMIN))
    assert reset.status_code == 200, reset.text
    assert login(server, "investigator@nl", PASSWORD) == 401
    assert server.client.get("/api/v1/notifications", headers=investigator).status_code == 401  # its tokens were revoked
    code = reset.json()["enrolment_code"]
    assert server.client.post("/api/v1/auth/enrol", json={"username": "investigator@nl", "code": code, "password": OWN_PASSWORD}).status_code == 204
    assert login(server, "investigator@nl", OWN_PASSWORD) == 200
    [issued] = events(server, "enrolment_issued")
    assert issued["actor"] == "admin@nl" and issued["object_id"] == str(target)


@pytest.mark.parametrize("role", [Role.CONTRIBUTOR, Role.REVIEWER, Role.PLATFORM])
def test_only_admins_create_or_reset_accounts(server: Server, role: Role) -> None:
    headers = server.headers(role)
    assert server.client.post("/api/v1/users", headers=headers, json={"username": "x", "role": "investigator", "agency": NL}).status_code == 403
    assert server.client.post("/api/v1/users/1/password-reset", headers=headers).status_code == 403
