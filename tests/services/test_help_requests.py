"""Help requests: the crop, the four-eyes rule, who is addressed and who is told."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from mediamatch.catalog.collaboration import Box
from mediamatch.services import clues, help_requests
from mediamatch.store.db import session_scope
from mediamatch.store.models.server import Notification
from tests.collaboration_fixtures import SERIES, Catalogue, small_catalogue


@pytest.fixture
def catalogue(engine: sa.Engine, tmp_path: Path) -> Catalogue:
    return small_catalogue(engine, tmp_path)


def told(session, agency_id: int, kind: str) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(sa.func.count()).select_from(Notification).where(Notification.agency_id == agency_id, Notification.kind == kind))


def test_the_crop_is_the_box_only_stored_encrypted_and_shown_after_a_second_person_approves(catalogue: Catalogue) -> None:
    a, a2, b = catalogue.actors["A"], catalogue.actors["A2"], catalogue.actors["B"]
    with session_scope(catalogue.engine) as session:
        clue = clues.add_clue(session, a, clues.ClueInput(SERIES, "object", "shop sign", media_id=catalogue.media_ids[0], box=Box(100, 50, 64, 48)))
        request = help_requests.ask(session, catalogue.blobs, a, clue.id, "Which chain uses this sign?")
        crop = help_requests.crop_of(session, catalogue.blobs, request.id, a2)
        assert Image.open(io.BytesIO(crop)).size == (64, 48)
        stored = [path.read_bytes() for path in (catalogue.blobs.root).rglob("*") if path.is_file()]
        assert len(stored) == 3 and all(crop[100:132] not in blob for blob in stored)  # the two pictures and the crop, all encrypted
        with pytest.raises(help_requests.HelpRequestNotFound):
            help_requests.crop_of(session, catalogue.blobs, request.id, b)  # not sent yet
        with pytest.raises(help_requests.HelpRequestRefused, match="second person"):
            help_requests.decide(session, request.id, a, approve=True)
        with pytest.raises(help_requests.HelpRequestNotFound):
            help_requests.decide(session, request.id, b, approve=True)  # another agency's four eyes do not count
        assert help_requests.decide(session, request.id, a2, approve=True).request.status == "sent"
        assert help_requests.crop_of(session, catalogue.blobs, request.id, b) == crop
        with pytest.raises(help_requests.HelpRequestRefused, match="already decided"):
            help_requests.decide(session, request.id, a2, approve=False)


def test_a_request_reaches_the_chosen_countries_and_the_specialists_of_its_field(catalogue: Catalogue) -> None:
    a, a2, b, c = catalogue.actors["A"], catalogue.actors["A2"], catalogue.actors["B"], catalogue.actors["C"]
    with session_scope(catalogue.engine) as session:
        help_requests.subscribe(session, b, None, "language")
        help_requests.subscribe(session, c, "BR", None)
        clue = clues.add_clue(session, a, clues.ClueInput(SERIES, "language", "Portuguese, southern accent", country="BR"))
        to_brazil = help_requests.ask(session, catalogue.blobs, a, clue.id, "Which region?", ("br",))
        assert to_brazil.countries == ("BR",) and not to_brazil.has_crop
        assert help_requests.decide(session, to_brazil.id, a2, approve=True).notified == ("Unit BR",)  # C's field matches, but C was not asked
        assert [r.id for r in help_requests.list_requests(session, b)] == [to_brazil.id] and help_requests.list_requests(session, c) == []
        answer = help_requests.answer(session, to_brazil.id, b, "Rio Grande do Sul")
        assert answer.agency == "Unit BR" and told(session, a.agency_id, "help_answer") == 1
        with pytest.raises(help_requests.HelpRequestNotFound):
            help_requests.answer(session, to_brazil.id, c, "not asked")
        rejected = help_requests.ask(session, catalogue.blobs, a, clue.id, "Anyone?")
        assert help_requests.decide(session, rejected.id, a2, approve=False).notified == ()
        with pytest.raises(help_requests.HelpRequestNotFound):
            help_requests.get_request(session, rejected.id, b)
        assert told(session, b.agency_id, "help_request") == 1 and told(session, c.agency_id, "help_request") == 0


def test_subscriptions_name_a_field_and_belong_to_their_specialist(catalogue: Catalogue) -> None:
    b, c = catalogue.actors["B"], catalogue.actors["C"]
    with session_scope(catalogue.engine) as session:
        with pytest.raises(help_requests.HelpRequestRefused, match="country, a clue type"):
            help_requests.subscribe(session, b, None, None)
        with pytest.raises(help_requests.HelpRequestRefused, match="ISO"):
            help_requests.subscribe(session, b, "Brasil", None)
        mine = help_requests.subscribe(session, b, "pt", "audio")
        assert (mine.country, mine.kind) == ("PT", "audio")
        with pytest.raises(LookupError):
            help_requests.unsubscribe(session, c, mine.id)
        help_requests.unsubscribe(session, b, mine.id)
        assert help_requests.subscriptions(session, b) == []
