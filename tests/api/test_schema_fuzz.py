"""schemathesis generates requests from the OpenAPI schema; the server must never answer 5xx.

Run as an investigator and as an admin (between them they reach every route past the
permission check), on SQLite, with a bounded number of examples per operation so the default
test run stays short."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from mediamatch.auth.permissions import Role

schemathesis = pytest.importorskip("schemathesis")


@pytest.mark.parametrize("role", [Role.INVESTIGATOR, Role.ADMIN, Role.AUDITOR])
def test_generated_requests_never_cause_a_server_error(server, role: Role) -> None:
    if not server.settings.db_url.startswith("sqlite"):
        pytest.skip("one back end is enough for fuzzing; the API tests cover PostgreSQL")
    schema = schemathesis.openapi.from_asgi("/openapi.json", server.client.app)
    headers = server.headers(role)
    failures = []
    for operation in schema.get_all_operations():
        operation = operation.ok()
        if operation.path in ("/api/v1/auth/logout",) or (operation.method.upper() == "DELETE"):
            continue  # would end the session or disable the accounts the run depends on

        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}")

        check()
    assert failures == []
