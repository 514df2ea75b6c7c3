"""Registering an agency's webhook: internal and clear-text targets are refused unless the
server's allow-list names them (the calls themselves: tests/services/test_webhooks.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mediamatch.auth.permissions import Role
from tests.api.conftest import Server


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "https://169.254.169.254/", "https://[::1]/hook", "https://10.0.0.7/hook"])
def test_internal_webhooks_are_refused_at_registration(server: Server, url: str) -> None:
    response = server.client.post("/api/v1/agencies", headers=server.headers(Role.ADMIN), json={"name": "Unit FR", "country": "FR", "webhook_url": url})
    assert response.status_code == 422 and "webhook" in response.json()["detail"]
    names = [agency["name"] for agency in server.client.get("/api/v1/agencies", headers=server.headers(Role.ADMIN)).json()]
    assert "Unit FR" not in names


def test_the_allow_list_admits_a_lab_receiver(server: Server) -> None:
    server.client.app.state.settings = replace(server.settings, webhook_allow=("127.0.0.0/8",))  # type: ignore[attr-defined]
    body = {"name": "Unit FR", "country": "FR", "webhook_url": "http://127.0.0.1:8080/hook"}
    assert server.client.post("/api/v1/agencies", headers=server.headers(Role.ADMIN), json=body).status_code == 201
