"""The series and item pages' records, on SQLite and PostgreSQL: the series list searches,
filters and counts; a series page pages its items and names the agencies that worked on it;
an item lists its signals, who had it first, and where else it was matched."""

from __future__ import annotations

import io
from pathlib import Path

import sqlalchemy as sa

from mediamatch.catalog.hashes import BytesSource
from mediamatch.services.catalogue_views import item_detail, list_series, series_page
from mediamatch.services.contribute import ContributionRequest, contribute
from mediamatch.services.identify import mark_identified, note_interest
from mediamatch.services.matching import CatalogueMatcher
from mediamatch.services.samples import generated_picture
from mediamatch.services.triage_runs import create_upload_run, execute_run
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import Agency, MediaSignal, Series
from mediamatch.store.models.review import Hit


def jpeg(seed: int) -> bytes:
    buffer = io.BytesIO()
    generated_picture(seed, (200, 150)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def build(engine: sa.Engine) -> list[int]:
    """Lark (3 items, Unit A, then Unit B contributes one of them again), Wren (1 item, Unit B)."""
    lark = contribute(engine, [BytesSource(f"lark-{n}.jpg", jpeg(n)) for n in range(3)], ContributionRequest(series="Lark", agency="Unit A"), workers=1)
    contribute(engine, [BytesSource("copy.jpg", jpeg(0))], ContributionRequest(series="Lark", agency="Unit B", country="BR", case="B-7"), workers=1)
    contribute(engine, [BytesSource("wren.jpg", jpeg(9))], ContributionRequest(series="Wren", agency="Unit B", country="BR"), workers=1)
    return [outcome.media_id for outcome in lark if outcome.media_id]


def test_the_series_list_searches_filters_and_counts(engine: sa.Engine) -> None:
    build(engine)
    with session_scope(engine) as session:
        unit_b = session.scalar(sa.select(Agency).where(Agency.name == "Unit B"))
        assert unit_b is not None
        mark_identified(session, "Lark", unit_b)
    with session_scope(engine) as session:
        everything = list_series(session)
        assert [(row.name, row.items, row.victims, row.victims_identified, row.agencies) for row in everything.rows] == [
            ("Lark", 3, 1, 1, 2),
            ("Wren", 1, 0, 0, 1),
        ]
        assert [row.name for row in list_series(session, search="REN").rows] == ["Wren"]
        assert [row.name for row in list_series(session, identified=True).rows] == ["Lark"]
        assert [row.name for row in list_series(session, identified=False).rows] == ["Wren"]
        assert [row.name for row in list_series(session, search="%").rows] == []  # a wildcard is a character
        second = list_series(session, page=2, per_page=1)
        assert ([row.name for row in second.rows], second.total, second.pages) == (["Wren"], 2, 2)


def test_a_series_page_pages_items_and_names_who_worked_on_it(engine: sa.Engine) -> None:
    ids = build(engine)
    with session_scope(engine) as session:
        series_id = session.scalar(sa.select(Series.id).where(Series.name == "Lark"))
        unit_c = Agency(name="Unit C", country="DE")
        session.add(unit_c)
        session.flush()
        note_interest(session, unit_c.id, {series_id}, "matched")  # type: ignore[arg-type]
    with session_scope(engine) as session:
        first = series_page(session, "Lark", page=1, per_page=2)
        assert first is not None
        assert ([card.media_id for card in first.items], first.pages, first.identified) == (ids[:2], 2, False)
        second = series_page(session, "Lark", page=2, per_page=2)
        assert second is not None and [card.media_id for card in second.items] == ids[2:]
        assert {(agency.name, agency.country, agency.reason) for agency in first.agencies} == {
            ("Unit A", "XX", "contributed"),
            ("Unit B", "BR", "contributed"),
            ("Unit C", "DE", "matched"),
        }
        assert [event.kind for event in first.detail.timeline] == ["contribution", "contribution"]
        assert series_page(session, "Nope") is None


def test_an_item_tells_who_had_it_first_and_where_it_matched(engine: sa.Engine, tmp_path: Path) -> None:
    ids = build(engine)
    with session_scope(engine) as session:
        unit_b = session.scalar(sa.select(Agency.id).where(Agency.name == "Unit B"))
        assert unit_b is not None
        run_id = create_upload_run(session, tmp_path / "runs", unit_b, "b", [("drive/a.jpg", io.BytesIO(jpeg(0)))])
        indicator = session.scalar(sa.select(MediaSignal.id).where(MediaSignal.media_id == ids[0], MediaSignal.signal == "sha256"))
        session.add(Hit(source="platform", signal="sha256", value="ab" * 32, signal_id=indicator, distance=0, reference="upload-1", status="pending"))
    execute_run(engine, run_id, lambda: CatalogueMatcher.open(engine), workers=1)
    with session_scope(engine) as session:
        item = item_detail(session, ids[0])
        assert item is not None
        assert [(line.agency, line.case, line.original_name, line.series) for line in item.contributions] == [
            ("Unit A", None, "lark-0.jpg", "Lark"),
            ("Unit B", "B-7", "copy.jpg", "Lark"),
        ]
        assert {signal.signal for signal in item.signals} >= {"md5", "sha1", "sha256", "pdq"}
        assert (item.series, item.is_video, item.card.has_file) == (("Lark",), False, True)
        assert [(entry.agency, entry.how, entry.times) for entry in item.matched_elsewhere] == [("Unit B", "triage", 1), ("platform", "platform hit", 1)]
        assert item_detail(session, 999_999) is None
