"""Statistics counted from a catalogue whose history is known."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from mediamatch.services import investigations
from mediamatch.services.identify import mark_identified, note_interest
from mediamatch.services.stats import statistics
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import Agency, Contribution
from mediamatch.store.models.review import Hit
from tests.collaboration_fixtures import SERIES, Catalogue, small_catalogue

FIRST = datetime(2026, 3, 10, tzinfo=timezone.utc)
IDENTIFIED = datetime(2026, 5, 20, tzinfo=timezone.utc)


@pytest.fixture
def catalogue(engine: sa.Engine, tmp_path: Path) -> Catalogue:
    return small_catalogue(engine, tmp_path)


def test_statistics_count_identifications_delays_matches_and_open_claims(catalogue: Catalogue) -> None:
    now = datetime.now(timezone.utc).strftime("%Y-%m")
    with session_scope(catalogue.engine) as session:
        session.execute(sa.update(Contribution).values(contributed_at=FIRST))
        brazil = session.scalar(sa.select(Agency).where(Agency.name == "Unit BR"))
        mark_identified(session, SERIES, brazil, when=IDENTIFIED)  # type: ignore[arg-type]
        note_interest(session, catalogue.actors["C"].agency_id, {1}, "matched")
        note_interest(session, catalogue.actors["B"].agency_id, {1}, "contributed")  # not a match
        signal_id = session.scalar(sa.text("SELECT min(id) FROM media_signals"))
        session.add(Hit(signal="md5", value="0" * 32, signal_id=signal_id, distance=0, reference="r1", reported_at=datetime(2026, 4, 1, tzinfo=timezone.utc)))
        investigations.claim(session, catalogue.actors["A"], series=SERIES, case_reference="NL-1", contact="desk")
        session.flush()
        figures = statistics(session)
    assert [(row.month, row.count) for row in figures.series_added] == [(now, 1)]
    assert [(row.month, row.label, row.country, row.count) for row in figures.victims_identified] == [("2026-05", "Unit BR", "BR", 1)]
    assert figures.days_to_identification == (71.0,) and figures.median_days_to_identification == 71.0
    assert [(row.month, row.label, row.count) for row in figures.matches] == [("2026-04", "platform", 1), (now, "triage", 1)]
    assert [(row.label, row.country, row.count) for row in figures.open_investigations] == [("Unit NL", "NL", 1)]
