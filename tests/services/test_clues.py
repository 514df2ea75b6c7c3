"""Clues: where they may be pinned, who sees them, and the history edits and deletions keep."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from mediamatch.catalog.collaboration import Box
from mediamatch.services import clues
from mediamatch.services.search import search
from mediamatch.store.db import session_scope
from tests.collaboration_fixtures import SERIES, Catalogue, small_catalogue


@pytest.fixture
def catalogue(engine: sa.Engine, tmp_path: Path) -> Catalogue:
    return small_catalogue(engine, tmp_path)


def test_a_clue_is_checked_where_it_is_pinned(catalogue: Catalogue) -> None:
    a = catalogue.actors["A"]
    item = catalogue.media_ids[0]
    with session_scope(catalogue.engine) as session:
        refusals = {
            "not an ISO 3166-1": clues.ClueInput(SERIES, "location", "tram", country="Narnia"),
            "outside the 480x360": clues.ClueInput(SERIES, "object", "sign", media_id=item, box=Box(400, 300, 100, 100)),
            "give its media id": clues.ClueInput(SERIES, "object", "sign", box=Box(0, 0, 10, 10)),
            "not one": clues.ClueInput(SERIES, "audio", "dialect", media_id=item, time_start=1.0, time_end=2.0),
            "type is one of": clues.ClueInput(SERIES, "smell", "bread"),
            "empty": clues.ClueInput(SERIES, "other", "   "),
        }
        for message, given in refusals.items():
            with pytest.raises(clues.ClueRefused, match=message):
                clues.add_clue(session, a, given)
        with pytest.raises(LookupError):
            clues.add_clue(session, a, clues.ClueInput("Other series", "other", "x"))
        clue = clues.add_clue(session, a, clues.ClueInput(SERIES, "location", "tram stop", media_id=item, box=Box(10, 20, 30, 40), country="nl"))
        assert (clue.country, clue.box, clue.agency, clue.author) == ("NL", Box(10, 20, 30, 40), "Unit NL", "investigator@a")


def test_an_own_agency_clue_and_its_thread_stay_inside_the_agency_until_it_is_shared(catalogue: Catalogue) -> None:
    a, a2, b = catalogue.actors["A"], catalogue.actors["A2"], catalogue.actors["B"]
    with session_scope(catalogue.engine) as session:
        clue = clues.add_clue(session, a, clues.ClueInput(SERIES, "language", "Flemish dialect heard", visibility="agency"))
        clues.add_comment(session, a2, "agreed, West Flemish", clue_id=clue.id)
        assert clues.get_clue(session, clue.id, a2).text == "Flemish dialect heard"
        for attempt in (lambda: clues.get_clue(session, clue.id, b), lambda: clues.thread(session, b, clue_id=clue.id),
                        lambda: clues.add_comment(session, b, "hello", clue_id=clue.id), lambda: clues.history(session, clue.id, b)):  # fmt: skip
            with pytest.raises(clues.ClueNotFound):
                attempt()
        assert clues.list_clues(session, SERIES, b) == [] and search(session, b, "flemish") == []
        assert {hit.kind for hit in search(session, a2, "flemish")} == {"clue", "comment"}
        clues.edit_clue(session, clue.id, a, {"visibility": "all"})
        assert {hit.kind for hit in search(session, b, "flemish")} == {"clue", "comment"}  # the thread follows its clue
        with pytest.raises(clues.NotYourClue):
            clues.edit_clue(session, clue.id, b, {"text": "Dutch"})


def test_edits_and_deletions_keep_the_earlier_states(catalogue: Catalogue) -> None:
    a = catalogue.actors["A"]
    with session_scope(catalogue.engine) as session:
        clue = clues.add_clue(session, a, clues.ClueInput(SERIES, "product", "cereal box, red", confidence=40))
        _, old = clues.edit_clue(session, clue.id, a, {"confidence": 40})
        assert old == {} and clues.history(session, clue.id, a) == []
        edited, old = clues.edit_clue(session, clue.id, a, {"text": "cereal box, red, Swiss brand", "confidence": 80})
        assert old == {"text": "cereal box, red", "confidence": 40} and edited.confidence == 80
        with pytest.raises(clues.ClueRefused, match="cannot be changed"):
            clues.edit_clue(session, clue.id, a, {"agency": "Unit BR"})
        clues.delete_clue(session, clue.id, a)
        with pytest.raises(clues.ClueNotFound):
            clues.get_clue(session, clue.id, a)
        assert clues.list_clues(session, SERIES, a) == [] and search(session, a, "cereal") == []
        revisions = session.execute(sa.text("SELECT action FROM clue_revisions WHERE clue_id = :id ORDER BY id"), {"id": clue.id}).scalars().all()
        assert revisions == ["edited", "deleted"]
