"""Database round trips per hash query: the server's hot path under load.

Counted with SQLAlchemy listeners: every statement the engine sends, except the `BEGIN
IMMEDIATE` SQLite's engine issues to open a transaction, and the commits apart."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Engine, event

from mediamatch.auth.permissions import Role
from tests.api.conftest import Server, jpeg

MAX_STATEMENTS_PER_HASH_QUERY = 3


@dataclass
class Traffic:
    statements: list[str] = field(default_factory=list)
    commits: int = 0


@contextmanager
def counted(engine: Engine) -> Iterator[Traffic]:
    traffic = Traffic()

    def note(conn: object, cursor: object, statement: str, parameters: object, context: object, executemany: bool) -> None:
        if statement != "BEGIN IMMEDIATE":
            traffic.statements.append(statement)

    def committed(conn: object) -> None:
        traffic.commits += 1

    event.listen(engine, "before_cursor_execute", note)
    event.listen(engine, "commit", committed)
    try:
        yield traffic
    finally:
        event.remove(engine, "before_cursor_execute", note)
        event.remove(engine, "commit", committed)


@pytest.mark.parametrize("route", ["/api/v1/query/hashes", "/api/v1/match", "/api/v1/query/file"])
def test_a_hash_query_costs_at_most_three_statements(server: Server, route: str) -> None:
    client = server.client
    contributor = server.headers(Role.CONTRIBUTOR)
    picture = jpeg(7)
    answer = client.post("/api/v1/media", headers=contributor, files=[("files", ("a.jpg", picture, "image/jpeg"))], data={"series": "Lark"})
    assert answer.status_code == 200, answer.text
    sha256 = answer.json()[0]["sha256"]
    body = {"queries": [{"signal": "sha256", "value": sha256, "label": "known"}, {"signal": "md5", "value": "0" * 32, "label": "unknown"}]}
    upload = [("files", ("known.jpg", picture, "image/jpeg")), ("files", ("unknown.jpg", jpeg(8), "image/jpeg"))]
    caller = server.headers(Role.PLATFORM if route.endswith("/match") else Role.INVESTIGATOR)

    def ask() -> list[dict[str, Any]]:
        response = client.post(route, headers=caller, files=upload) if route.endswith("/file") else client.post(route, headers=caller, json=body)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    ask()  # warms the matcher's caches
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with counted(engine) as traffic:
        results = ask()
    if route.endswith("/match"):
        assert [bool(result["matches"]) for result in results] == [True, False]
    else:
        assert [result["known"] for result in results] == [True, False]
        assert results[0]["matches"][0]["known_from"] == ["Unit NL"]
    assert len(traffic.statements) <= MAX_STATEMENTS_PER_HASH_QUERY, "\n".join(traffic.statements)
    assert traffic.commits == 2  # after authenticating (see deps.current_principal), and the route's work with its audit event
