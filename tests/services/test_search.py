"""Full-text search: words only (no query-language operators), filters, visibility, series text."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from mediamatch.services import clues
from mediamatch.services.search import SearchFilters, search, words
from mediamatch.store import repo
from mediamatch.store.db import session_scope
from tests.collaboration_fixtures import SERIES, Catalogue, small_catalogue


@pytest.fixture
def catalogue(engine: sa.Engine, tmp_path: Path) -> Catalogue:
    return small_catalogue(engine, tmp_path)


def test_search_finds_words_filters_and_takes_no_operators(catalogue: Catalogue) -> None:
    a, b = catalogue.actors["A"], catalogue.actors["B"]
    with session_scope(catalogue.engine) as session:
        socket = clues.add_clue(session, a, clues.ClueInput(SERIES, "object", "Type J wall socket, Zürich style", country="CH"))
        tram = clues.add_clue(session, b, clues.ClueInput(SERIES, "location", "Tram stop sign with a socket advert", country="NL"))
        assert [hit.object_id for hit in search(session, b, "SOCKET")] == [tram.id, socket.id]  # newest first, any case
        assert [hit.object_id for hit in search(session, b, "socket", SearchFilters(country="CH"))] == [socket.id]
        assert [hit.object_id for hit in search(session, b, "socket", SearchFilters(kind="location"))] == [tram.id]
        assert [hit.object_id for hit in search(session, b, "socket", SearchFilters(agency="Unit NL"))] == [socket.id]
        assert search(session, b, "socket", SearchFilters(since=datetime.now(timezone.utc) + timedelta(hours=1))) == []
        assert [hit.object_id for hit in search(session, b, "socket wall")] == [socket.id]  # every word must occur
        for hostile in ('"', "socket OR tram", "NEAR(socket tram)", "socket*", "-socket", "col:socket", "'); DROP TABLE clues; --"):
            search(session, b, hostile)  # no syntax error: operators are not passed through
        assert search(session, b, "socket OR nothing") == []  # OR is a word here, and absent
        assert words(" Zürich,  socket! ") == ["zürich", "socket"] and search(session, b, "  !? ") == []


def test_series_are_found_by_name_and_notes_however_they_were_made(catalogue: Catalogue) -> None:
    b = catalogue.actors["B"]
    with session_scope(catalogue.engine) as session:
        assert [(hit.kind, hit.series) for hit in search(session, b, "blue tiles")] == [("series", SERIES)]
        series = repo.get_or_create_series(session, "Heron", notes="")
        series.notes = "garden shed, red door"
        session.flush()
        assert [hit.series for hit in search(session, b, "shed")] == ["Heron"]
        assert [hit.series for hit in search(session, b, "heron")] == ["Heron"]
