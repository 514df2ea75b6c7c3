"""Every endpoint x every role: allowed exactly when the permission table says so.

The permission each route needs is read from the route itself (its `require(...)` dependency),
so a new route without one fails `test_every_route_declares_its_permission`."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from mediamatch.api.app import ROUTERS
from mediamatch.api.deps import require
from mediamatch.auth.permissions import Permission, Role, allowed

OPEN_ROUTES = {("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/enrol")}  # before authentication, by nature
ANY_ACCOUNT = {("POST", "/api/v1/auth/logout")}  # every authenticated account may end its session


def routes() -> list[tuple[str, str, Permission | None]]:
    found = []
    for router in ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute)
            for method in sorted(route.methods):
                found.append((method, route.path, permission_of(route)))
    return found


def permission_of(route: APIRoute) -> Permission | None:
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        if isinstance(dependency.call, require):
            return dependency.call.permission
        pending.extend(dependency.dependencies)
    return None


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "999999", path)  # no such object: an allowed call gets 404, changes nothing


def test_every_route_declares_its_permission() -> None:
    for method, path, permission in routes():
        if (method, path) in OPEN_ROUTES | ANY_ACCOUNT:
            assert permission is None
        else:
            assert permission is not None, f"{method} {path} has no require(...) dependency"


def test_every_role_is_allowed_exactly_what_the_table_says(server) -> None:
    checked = 0
    for method, path, permission in routes():
        if permission is None:
            continue
        for role in Role:
            response = server.client.request(method, concrete(path), headers=server.headers(role), json={})
            if allowed(role, permission):
                assert response.status_code not in (401, 403), (role, method, path, response.text)
            else:
                assert response.status_code == 403, (role, method, path, response.status_code, response.text)
                assert str(role) in response.json()["detail"]
            checked += 1
    assert checked >= 6 * 15


def test_protected_routes_need_a_valid_token(server) -> None:
    for method, path, _permission in routes():
        if (method, path) in OPEN_ROUTES:
            continue
        assert server.client.request(method, concrete(path), json={}).status_code == 401, (method, path)
        forged = {"Authorization": "Bearer mm_aaaaaaaa_" + "x" * 43}
        assert server.client.request(method, concrete(path), headers=forged, json={}).status_code == 401


@pytest.mark.parametrize("role", [Role.PLATFORM, Role.AUDITOR, Role.ADMIN])
def test_roles_without_content_rights_never_get_content(server, role: Role) -> None:
    for suffix in ("thumbnail", "content"):
        assert server.client.get(f"/api/v1/media/1/{suffix}", headers=server.headers(role)).status_code == 403
