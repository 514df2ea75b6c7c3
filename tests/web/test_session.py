"""Signing in and out of the pages, over HTTP: the cookie's flags, one message for every
failure (so it never tells whether an account exists), lockout, expiry and sign-out, and
the redirect back to where the person was headed (never to another site)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Role
from mediamatch.auth.users import MAX_FAILURES
from mediamatch.store.models.audit import AuditEventRow
from mediamatch.store.models.auth import ApiToken
from mediamatch.web.session import SESSION_COOKIE, SIGN_IN_FAILED, safe_next
from tests.web.conftest import PASSWORD, LiveServer, csrf_token, start_live_server


@pytest.fixture(scope="module")
def secure_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with start_live_server(tmp_path_factory.mktemp("secure"), secure_cookies=True) as live:
        yield live


def attempt(live: LiveServer, username: str, password: str, next_path: str = "/") -> tuple[int, str, str | None]:
    with live.client() as client:
        answer = client.post(
            "/login", data={"username": username, "password": password, "next": next_path, "csrf_token": csrf_token(client.get("/login").text)}
        )
        return answer.status_code, answer.text, answer.headers.get("set-cookie")


def test_sign_in_sets_a_strict_httponly_cookie_and_returns_where_the_person_was_going(live_server: LiveServer) -> None:
    with live_server.client() as client:
        first = client.get("/settings")
        assert first.status_code == 303 and first.headers["location"] == "/login?next=/settings"
        answer = client.post(
            "/login", data={"username": "Contributor@NL ", "password": PASSWORD, "next": "/settings", "csrf_token": csrf_token(client.get("/login").text)}
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/settings"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=mm_") and "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=28800" in cookie
        assert "Secure" not in cookie  # this server runs with --insecure-cookies (plain HTTP on loopback)
        assert client.get("/settings").status_code == 200


def test_the_cookie_is_secure_unless_the_server_allows_plain_http(secure_server: LiveServer) -> None:
    status, _, cookie = attempt(secure_server, "admin@nl", PASSWORD)
    assert status == 303 and cookie is not None and "; Secure" in cookie


def test_every_failure_reads_the_same_and_is_audited_with_its_reason(live_server: LiveServer) -> None:
    locked = live_server.add_account("locked@nl", Role.INVESTIGATOR)
    for _ in range(MAX_FAILURES):
        attempt(live_server, locked, "wrong password, again")
    answers = [attempt(live_server, name, password) for name, password in (("nobody@nl", PASSWORD), ("admin@nl", "not the password"), (locked, PASSWORD))]
    assert {status for status, _, _ in answers} == {401}
    assert all(SIGN_IN_FAILED in text and SESSION_COOKIE not in (cookie or "") for _, text, cookie in answers)
    messages = {text.split('role="alert">')[1].split("<")[0] for _, text, _ in answers}
    assert len(messages) == 1  # unknown, wrong and locked cannot be told apart
    with live_server.session() as session:
        rows = session.scalars(select(AuditEventRow).where(AuditEventRow.action == AuditAction.LOGIN_FAILED).order_by(AuditEventRow.seq.desc()).limit(3))
        reasons = [json.loads(row.detail)["reason"] for row in rows]
    assert reasons == ["locked", "wrong_password", "unknown_user"]


def test_an_expired_or_signed_out_session_is_sent_back_to_sign_in(live_server: LiveServer) -> None:
    client = live_server.client(Role.AUDITOR)
    assert client.get("/").status_code == 200
    with live_server.session() as session:
        session.execute(update(ApiToken).where(ApiToken.name == "web session").values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    assert client.get("/").headers["location"] == "/login?next=/"

    client = live_server.client(Role.AUDITOR)
    token = client.cookies[SESSION_COOKIE]
    answer = client.post("/logout", data={"csrf_token": csrf_token(client.get("/").text)})
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    client.cookies.set(SESSION_COOKIE, token)  # the old cookie, replayed
    assert client.get("/").status_code == 303


@pytest.mark.parametrize(
    ("asked", "goes"),
    [("/series?q=a", "/series?q=a"), ("//evil.example/", "/"), ("https://evil.example/", "/"), ("/\\evil.example", "/"), ("", "/"), ("settings", "/")],
)
def test_after_sign_in_only_paths_on_this_site(asked: str, goes: str) -> None:
    assert safe_next(asked) == goes
