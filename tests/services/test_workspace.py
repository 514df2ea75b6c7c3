"""The home page's overview: one agency's notifications, work and counters, never another's."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

from mediamatch.catalog.hashes import BytesSource
from mediamatch.services.contribute import ContributionRequest, contribute
from mediamatch.services.identify import mark_identified, note_interest
from mediamatch.services.workspace import agency_overview, mark_notification_read
from mediamatch.store import repo
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import Series
from tests.web.seed import jpeg


def test_the_overview_follows_the_agencys_series_and_notifications(engine: sa.Engine) -> None:
    contribute(
        engine, [BytesSource("a.jpg", jpeg(1)), BytesSource("b.jpg", jpeg(2))], ContributionRequest(series="Lark", agency="Unit NL", country="NL"), workers=1
    )
    contribute(engine, [BytesSource("b.jpg", jpeg(2))], ContributionRequest(series="Lark", agency="Unit BR", country="BR"), workers=1)
    contribute(engine, [BytesSource("c.jpg", jpeg(3))], ContributionRequest(series="Wren", agency="Unit BR", country="BR"), workers=1)
    with session_scope(engine) as session:
        nl, br = (repo.get_or_create_agency(session, name, country) for name, country in (("Unit NL", "NL"), ("Unit BR", "BR")))
        repo_ids = nl.id, br.id
        note_interest(session, nl.id, set(session.scalars(sa.select(Series.id).where(Series.name == "Lark"))), "contributed")  # as the API's upload does
        mark_identified(session, "Lark", br, datetime.now(timezone.utc))
    with session_scope(engine) as session:
        home = agency_overview(session, repo_ids[0], count_pending_hits=True)
        assert (home.series_held, home.series_identified, home.files_contributed, home.hits_pending) == (1, 1, 2, 0)
        assert [(row.name, row.files, row.victim_identified) for row in home.recent_work] == [("Lark", 2, True)]
        assert [n.series for n in home.notifications] == ["Lark"] and home.unread == 1
        other = agency_overview(session, repo_ids[1], count_pending_hits=False)
        assert other.hits_pending is None and {row.name for row in other.recent_work} == {"Lark", "Wren"}
        assert not mark_notification_read(session, repo_ids[1], home.notifications[0].id)  # not BR's notification
        assert mark_notification_read(session, repo_ids[0], home.notifications[0].id)
    with session_scope(engine) as session:
        assert agency_overview(session, repo_ids[0], count_pending_hits=False).unread == 0
