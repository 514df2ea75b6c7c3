"""What protects every page: CSRF tokens on every state-changing request, the security
headers, HTML error pages for browsers (JSON still for the API), the permission each page
needs, content that is never cached, and an OpenAPI docs page that needs no CDN."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from mediamatch.auth.permissions import Permission, Role, allowed
from mediamatch.web.app import page_routers
from mediamatch.web.csrf import verify_csrf
from mediamatch.web.headers import CONTENT_SECURITY_POLICY
from mediamatch.web.nav import NAV, visible
from mediamatch.web.session import require_page
from tests.web.conftest import LiveServer, csrf_token
from tests.web.seed import contribute_items

#: A page of each area an account may only open with the permission, and that permission.
GUARDED = {
    "/admin": Permission.MANAGE_USERS,
    "/audit": Permission.READ_AUDIT,
    "/review": Permission.REVIEW_HITS,
    "/review/error-rates": Permission.VIEW_ERROR_RATES,
}


def page_routes() -> list[APIRoute]:
    return [route for router in page_routers() for route in router.routes if isinstance(route, APIRoute)]


def test_every_state_changing_page_route_checks_the_csrf_token() -> None:
    changing = [route for route in page_routes() if route.methods - {"GET", "HEAD"}]
    assert len(changing) >= 10
    for route in changing:
        assert any(dependency.call is verify_csrf for dependency in route.dependant.dependencies), route.path


def test_a_post_without_the_token_is_refused_whoever_sends_it(live_server: LiveServer) -> None:
    client = live_server.client(Role.ADMIN)
    token = csrf_token(client.get("/admin").text)
    form = {"name": "Unit DE", "country": "DE"}
    for sent in ({}, {"csrf_token": "0" * 64}, {"csrf_token": csrf_token(live_server.client(Role.AUDITOR).get("/").text)}):
        answer = client.post("/admin/agencies", data={**form, **sent})
        assert answer.status_code == 403 and "This form has expired" in answer.text and answer.headers["content-type"].startswith("text/html")
    assert client.post("/admin/agencies", data=form, headers={"X-CSRF-Token": token}).status_code == 303  # htmx's way
    assert client.post("/admin/agencies", data={"name": "Unit BE", "country": "BE", "csrf_token": token}).status_code == 303
    assert client.post("/login", data={"username": "admin@nl", "password": "x" * 12}).status_code == 403  # sign-in too


def test_every_page_needs_the_permission_its_nav_entry_names() -> None:
    needs = {}
    for route in page_routes():
        for dependency in route.dependant.dependencies:
            if isinstance(dependency.call, require_page):
                needs[route.path] = dependency.call.permission
    for entry in NAV:
        if entry.permission is not None and entry.path in needs:
            assert needs[entry.path] == entry.permission, entry.path
    assert {path: needs[path] for path in GUARDED} == GUARDED


@pytest.mark.parametrize("role", list(Role))
def test_each_role_gets_a_403_page_for_pages_it_may_not_open(live_server: LiveServer, role: Role) -> None:
    client = live_server.client(role)
    home = client.get("/")
    assert home.status_code == 200
    shown = set(re.findall(r'<li><a href="([^"]+)"', home.text))
    assert shown == {entry.path for entry in visible(role)}
    for path, permission in GUARDED.items():
        answer = client.get(path)
        if allowed(role, permission):
            assert answer.status_code == 200, path
        else:
            assert answer.status_code == 403 and "Not open to your role" in answer.text and "<html" in answer.text, path


def test_headers_on_pages_static_files_errors_and_the_api(live_server: LiveServer) -> None:
    client = live_server.client(Role.REVIEWER)
    for path in ("/", "/login", "/static/mm.css", "/nowhere", "/api/v1/notifications", "/docs"):
        headers = client.get(path).headers
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
        assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "no-referrer" and headers["x-content-type-options"] == "nosniff"
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY and "'unsafe-eval'" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


def test_browsers_get_error_pages_and_api_clients_json(live_server: LiveServer) -> None:
    client = live_server.client(Role.REVIEWER)
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "Page not found" in page.text and 'href="/review"' in page.text  # with the account's navigation
    api = client.get("/api/v1/no/such/route")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
    assert client.get("/api/v1/notifications").status_code == 401  # the page cookie is not an API credential
    bad = client.get("/review?offset=-1")
    assert bad.status_code == 400 and "offset" in bad.text


def test_content_is_served_reduced_never_cached_and_each_view_audited(live_server: LiveServer) -> None:
    (media_id,) = contribute_items(live_server, [5], "Wren")
    client = live_server.client(Role.CONTRIBUTOR)
    blurred = client.get(f"/content/media/{media_id}/thumbnail")
    revealed = client.get(f"/content/media/{media_id}/thumbnail?reveal=1")
    for answer in (blurred, revealed):
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg" and answer.headers["cache-control"] == "no-store"
    assert blurred.content != revealed.content
    assert live_server.client(Role.AUDITOR).get(f"/content/media/{media_id}/thumbnail").status_code == 403
    assert client.get("/content/media/999999/thumbnail").status_code == 404


def test_the_docs_page_loads_only_files_of_this_server(live_server: LiveServer) -> None:
    client = live_server.client()
    page = client.get("/docs").text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(asset.startswith("/static/") for asset in assets)
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert "/openapi.json" in page and client.get("/openapi.json").status_code == 200
    assert not [
        path for path in client.get("/openapi.json").json()["paths"] if not path.startswith(("/api/", "/healthz"))
    ]  # pages stay out of the API's contract
