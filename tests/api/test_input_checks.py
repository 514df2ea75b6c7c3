"""The API refuses what the command line refuses (catalog/validate.py), before anything is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from mediamatch.auth.permissions import Role
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import Agency, MediaItem, Series
from tests.api.conftest import Server, jpeg


@pytest.mark.parametrize(("series", "said"), [("  ", "empty"), ("Lark\u202eevil", "U+202E"), ("Lark\nOwl", "U+000A")])
def test_a_contribution_to_a_badly_named_series_stores_nothing(server: Server, series: str, said: str) -> None:
    files = [("files", ("a.jpg", jpeg(3), "image/jpeg"))]
    response = server.client.post("/api/v1/media", headers=server.headers(Role.CONTRIBUTOR), files=files, data={"series": series})
    assert response.status_code == 422 and said in response.text
    with session_scope(server.client.app.state.engine) as session:  # type: ignore[attr-defined]
        assert session.scalar(select(func.count()).select_from(MediaItem)) == 0
        assert session.scalar(select(func.count()).select_from(Series)) == 0


def test_a_contribution_stores_the_series_name_trimmed(server: Server) -> None:
    files = [("files", ("a.jpg", jpeg(3), "image/jpeg"))]
    response = server.client.post("/api/v1/media", headers=server.headers(Role.CONTRIBUTOR), files=files, data={"series": "  Lark "})
    assert response.status_code == 200, response.text
    with session_scope(server.client.app.state.engine) as session:  # type: ignore[attr-defined]
        assert list(session.scalars(select(Series.name))) == ["Lark"]


@pytest.mark.parametrize(("country", "said"), [("UK", "use GB"), ("QQ", "not an ISO 3166-1")])
def test_an_agency_needs_an_assigned_country_code(server: Server, country: str, said: str) -> None:
    response = server.client.post("/api/v1/agencies", headers=server.headers(Role.ADMIN), json={"name": "Unit X", "country": country})
    assert response.status_code == 422 and said in response.text
    with session_scope(server.client.app.state.engine) as session:  # type: ignore[attr-defined]
        assert session.scalar(select(Agency.id).where(Agency.name == "Unit X")) is None
