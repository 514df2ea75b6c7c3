"""Claims: deconfliction between agencies, the labels matches carry, and how claims end."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from mediamatch.services import investigations
from mediamatch.store import repo
from mediamatch.store.db import session_scope
from mediamatch.store.models.server import Notification
from tests.collaboration_fixtures import SERIES, Catalogue, small_catalogue


@pytest.fixture
def catalogue(engine: sa.Engine, tmp_path: Path) -> Catalogue:
    return small_catalogue(engine, tmp_path)


def notices(session, agency_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    return list(session.scalars(sa.select(Notification.message).where(Notification.agency_id == agency_id, Notification.kind == "investigation_overlap")))


def test_a_claim_on_an_item_meets_the_claim_on_its_series_and_both_agencies_are_told(catalogue: Catalogue) -> None:
    a, b = catalogue.actors["A"], catalogue.actors["B"]
    with session_scope(catalogue.engine) as session:
        first = investigations.claim(session, a, series=SERIES, case_reference="NL-1", contact="desk@nl.example")
        assert first.already == () and first.notified == ()
        second = investigations.claim(session, b, media_id=catalogue.media_ids[1], case_reference="BR-9", contact="desk@br.example")
        assert [(o.agency, o.case_reference) for o in second.already] == [("Unit NL", "NL-1")]
        assert set(second.notified) == {"Unit NL", "Unit BR"}
        assert "Unit NL (NL)" in notices(session, b.agency_id)[0] and "Unit BR (BR) claimed media item" in notices(session, a.agency_id)[0]
        labels = repo.match_details(session, catalogue.media_ids)
        assert len(labels[catalogue.media_ids[0]].investigations) == 1  # the series claim only
        assert [label.split(" since")[0] for label in labels[catalogue.media_ids[1]].investigations] == [
            "under investigation by Unit NL (NL)", "under investigation by Unit BR (BR)",
        ]  # fmt: skip


def test_an_agency_cannot_hold_two_open_claims_on_the_same_work_and_needs_one_target(catalogue: Catalogue) -> None:
    a = catalogue.actors["A"]
    with session_scope(catalogue.engine) as session:
        investigations.claim(session, a, series=SERIES, case_reference="NL-1", contact="desk")
        with pytest.raises(investigations.ClaimRefused, match="already holds"):
            investigations.claim(session, catalogue.actors["A2"], series=SERIES, case_reference="NL-2", contact="desk")
        with pytest.raises(investigations.ClaimRefused, match="either"):
            investigations.claim(session, a, series=SERIES, media_id=catalogue.media_ids[0], case_reference="NL-3", contact="desk")
        with pytest.raises(LookupError):
            investigations.claim(session, a, series="no such series", case_reference="NL-3", contact="desk")
        with pytest.raises(ValueError, match="control"):
            investigations.claim(session, a, media_id=catalogue.media_ids[0], case_reference="NL-3", contact="desk\u202e")


def test_a_claim_handed_over_ends_with_its_reason_notifies_the_recipient_and_stays_as_history(catalogue: Catalogue) -> None:
    a, b = catalogue.actors["A"], catalogue.actors["B"]
    with session_scope(catalogue.engine) as session:
        claim = investigations.claim(session, a, series=SERIES, case_reference="NL-1", contact="desk").investigation
        with pytest.raises(LookupError):
            investigations.end(session, claim.id, b, "closed", "not mine to end")
        with pytest.raises(investigations.ClaimRefused, match="name the agency"):
            investigations.end(session, claim.id, a, "handed_over", "victim lives in Brazil")
        ended = investigations.end(session, claim.id, a, "handed_over", "victim lives in Brazil", handed_to="Unit BR")
        assert (ended.end_kind, ended.handed_to, ended.end_reason) == ("handed_over", "Unit BR", "victim lives in Brazil")
        with pytest.raises(investigations.ClaimRefused, match="already ended"):
            investigations.end(session, claim.id, a, "closed", "again")
        handed = session.scalars(sa.select(Notification.message).where(Notification.agency_id == b.agency_id, Notification.kind == "investigation_handed_over"))
        assert ["victim lives in Brazil" in message for message in handed] == [True]
        assert repo.match_details(session, catalogue.media_ids)[catalogue.media_ids[0]].investigations == ()
        assert [record.end_kind for record in investigations.list_investigations(session, series=SERIES)] == ["handed_over"]
        assert investigations.list_investigations(session, series=SERIES, open_only=True) == []
