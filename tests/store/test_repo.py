"""Catalogue queries on real databases (SQLite and PostgreSQL): one item per content, every
upload a contribution, exact signal lookup, the category constraint, identification state,
and the series views investigators read.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mediamatch.catalog.hashes import FrameHash, HashRecord
from mediamatch.store import repo
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import Contribution, MediaItem, MediaSignal


def record(seed: str, name: str | None = None, pdq: str | None = None) -> HashRecord:
    """A hashed file with real digests of `seed` (no image needed to exercise the store)."""
    data = seed.encode()
    return HashRecord(
        path=f"/evidence/{name or seed}.jpg",
        size=len(data),
        signals={"md5": hashlib.md5(data).hexdigest(), "sha1": hashlib.sha1(data).hexdigest(), "sha256": hashlib.sha256(data).hexdigest()}
        | ({"pdq": pdq} if pdq else {}),
        qualities={"pdq": 90} if pdq else {},
        width=64,
        height=48,
        media_type="image/jpeg",
    )


def add(
    session: Session, rec: HashRecord, *, series: str = "S1", agency: str = "nl-police", case: str | None = None, category: int = 1, baseline: bool = False
) -> repo.AddedMedia:
    agency_row = repo.get_or_create_agency(session, agency, "nl")
    return repo.add_media(
        session,
        rec,
        series=repo.get_or_create_series(session, series),
        agency=agency_row,
        case=repo.get_or_create_case(session, agency_row, case),
        category=category,
        baseline=baseline,
    )


def count(session: Session, model: type) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def test_same_sha256_twice_is_one_item_with_two_contributions(engine: sa.Engine) -> None:
    rec = record("alpha")
    with session_scope(engine) as session:
        first = add(session, rec, agency="nl-police", case="NL-1")
    with session_scope(engine) as session:
        second = add(session, record("alpha", name="renamed"), agency="de-bka", case="DE-7", baseline=True)
    assert first.created and first.earlier == ()
    assert not second.created and second.media_id == first.media_id
    assert second.earlier == ("nl-police (NL-1)",)
    with session_scope(engine) as session:
        assert count(session, MediaItem) == 1
        assert count(session, Contribution) == 2
        item = session.get(MediaItem, first.media_id)
        assert item is not None and item.baseline  # a later Baseline flag is kept
        assert [s.name for s in item.series] == ["S1"]
        rows = session.execute(sa.select(Contribution.original_name, Contribution.agency_id, Contribution.case_id).order_by(Contribution.id)).all()
        assert [row.original_name for row in rows] == ["alpha.jpg", "renamed.jpg"]
        assert rows[0].agency_id != rows[1].agency_id and rows[0].case_id != rows[1].case_id
        assert repo.describe_contributions(session, first.media_id) == ("nl-police (NL-1)", "de-bka (DE-7)")


def test_agencies_and_cases_are_reused_not_duplicated(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        a = repo.get_or_create_agency(session, "fr-ocrvp", "fr")
        assert a.country == "FR"
        assert repo.get_or_create_agency(session, "fr-ocrvp").id == a.id
        assert repo.get_or_create_agency(session, None).name == repo.DEFAULT_AGENCY
        c = repo.get_or_create_case(session, a, "FR-9")
        assert c is not None and repo.get_or_create_case(session, a, "FR-9").id == c.id  # type: ignore[union-attr]
        assert repo.get_or_create_case(session, a, None) is None
        other = repo.get_or_create_agency(session, "be-fcci")
        other_case = repo.get_or_create_case(session, other, "FR-9")  # same reference, other agency
        assert other_case is not None and other_case.id != c.id


def test_add_media_refuses_a_failed_record(engine: sa.Engine) -> None:
    with session_scope(engine) as session, pytest.raises(ValueError, match=r"broken\.jpg"):
        add(session, HashRecord(path="/x/broken.jpg", signals={"sha256": "00" * 32}, error="cannot decode"))


def test_signals_are_stored_and_found_by_exact_lookup(engine: sa.Engine) -> None:
    pdq = "f" * 64
    a, b = record("a", pdq=pdq), record("b")
    with session_scope(engine) as session:
        id_a = add(session, a).media_id
        id_b = add(session, b).media_id
        add(session, a, agency="other")  # a repeat must not duplicate signal rows
    with session_scope(engine) as session:
        stored = {(s.signal, s.value, s.quality) for s in session.scalars(sa.select(MediaSignal).where(MediaSignal.media_id == id_a))}
        assert stored == {("md5", a.value("md5"), None), ("sha1", a.value("sha1"), None), ("sha256", a.value("sha256"), None), ("pdq", pdq, 90)}
        assert {s.signal for s in session.scalars(sa.select(MediaSignal).where(MediaSignal.media_id == id_b))} == {"md5", "sha1", "sha256"}
        assert repo.lookup_exact(session, "sha256", [a.value("sha256"), b.value("sha256"), "0" * 64]) == {a.value("sha256"): [id_a], b.value("sha256"): [id_b]}
        assert repo.lookup_exact(session, "md5", [b.value("md5"), b.value("md5")]) == {b.value("md5"): [id_b]}
        assert repo.lookup_exact(session, "pdq", [pdq]) == {pdq: [id_a]}
        assert repo.lookup_exact(session, "md5", [a.value("sha256")]) == {}  # values are looked up per signal
        assert list(repo.iter_signal_values(session, "pdq")) == [(id_a, pdq)]
        repo.add_signal(session, id_b, "pdq", "0" * 64, quality=10)
        repo.add_signal(session, id_b, "pdq", "0" * 64, quality=10)  # idempotent
        session.flush()
        assert sorted(repo.iter_signal_values(session, "pdq", batch_size=1)) == sorted([(id_a, pdq), (id_b, "0" * 64)])
        assert list(repo.iter_signal_values(session, "pdq", min_quality=50)) == [(id_a, pdq)]


def test_many_values_are_looked_up_across_chunks(engine: sa.Engine) -> None:
    records = [record(f"item-{i}") for i in range(620)]  # more than one 500-value chunk
    with session_scope(engine) as session:
        ids = [add(session, rec).media_id for rec in records]
    with session_scope(engine) as session:
        found = repo.lookup_exact(session, "sha256", [rec.value("sha256") for rec in records])  # type: ignore[misc]
    assert found == {rec.value("sha256"): [media_id] for rec, media_id in zip(records, ids)}


@pytest.mark.parametrize("category", [5, -1])
def test_category_check_rejects_out_of_range(engine: sa.Engine, category: int) -> None:
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        add(session, record("bad-category"), category=category)
    with session_scope(engine) as session:
        assert count(session, MediaItem) == 0  # the failed unit of work was rolled back
        add(session, record("ok"), category=4)
    with session_scope(engine) as session:
        assert session.scalars(sa.select(MediaItem.category)).all() == [4]


def test_victim_identified_reaches_every_item_of_the_series(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        in_series = add(session, record("x"), series="S-ident", category=2, baseline=True).media_id
        elsewhere = add(session, record("y"), series="S-other").media_id
        before = repo.match_details(session, [in_series, elsewhere])
        assert not before[in_series].victim_identified and not before[elsewhere].victim_identified
        series = repo.get_or_create_series(session, "S-ident")
        agency = repo.get_or_create_agency(session, "us-hsi", "us")
        victim = repo.mark_series_victim_identified(session, series, agency)
        again = repo.mark_series_victim_identified(session, series, repo.get_or_create_agency(session, "late"))
        assert again.id == victim.id and victim.reference == "S-ident/victim-1"
    with session_scope(engine) as session:
        details = repo.match_details(session, [in_series, elsewhere, in_series, 999_999])
    assert set(details) == {in_series, elsewhere}
    assert details[in_series].victim_identified
    assert details[in_series].series == ("S-ident",)
    assert details[in_series].category == 2 and details[in_series].baseline
    assert not details[elsewhere].victim_identified
    with session_scope(engine) as session:
        assert repo.match_details(session, []) == {}
        [summary] = [s for s in repo.list_series(session) if s.name == "S-ident"]
        assert (summary.victims, summary.victims_identified) == (1, 1)
        detail = repo.series_detail(session, "S-ident")
        assert detail is not None
        [identification] = [e for e in detail.timeline if e.kind == "identification"]
        assert identification.agency == "us-hsi"  # the first identifier is kept


def test_item_in_two_series_lists_both_and_is_identified_through_either(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        media_id = add(session, record("shared"), series="B-series").media_id
        add(session, record("shared"), series="A-series", agency="other")
        repo.mark_series_victim_identified(session, repo.get_or_create_series(session, "B-series"), repo.get_or_create_agency(session, "x"))
    with session_scope(engine) as session:
        detail = repo.match_details(session, [media_id])[media_id]
        assert detail.series == ("A-series", "B-series")
        assert detail.victim_identified


def test_list_series_and_series_detail_with_timeline(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        for seed in ("p1", "p2", "p3"):
            add(session, record(seed), series="Zebra", agency="nl-police", case="NL-1")
        add(session, record("p1"), series="Zebra", agency="de-bka", case="DE-7")  # known item, new agency
        add(session, record("q1"), series="Apple", agency="nl-police")
        repo.get_or_create_series(session, "Empty", notes="opened, nothing yet")
        # Fixed times make the timeline order a fact to check, not an accident of the clock.
        session.execute(sa.update(Contribution).values(contributed_at=datetime(2020, 1, 1, tzinfo=timezone.utc)))
        de_bka = repo.get_or_create_agency(session, "de-bka")
        session.execute(sa.update(Contribution).where(Contribution.agency_id == de_bka.id).values(contributed_at=datetime(2021, 1, 1, tzinfo=timezone.utc)))
        repo.mark_series_victim_identified(
            session,
            repo.get_or_create_series(session, "Zebra"),
            repo.get_or_create_agency(session, "us-hsi"),
            when=datetime(2020, 6, 1, tzinfo=timezone.utc),
        )
    with session_scope(engine) as session:
        summaries = repo.list_series(session)
        detail = repo.series_detail(session, "Zebra")
        empty = repo.series_detail(session, "Empty")
        assert repo.series_detail(session, "No such series") is None
    assert [s.name for s in summaries] == ["Apple", "Empty", "Zebra"]
    by_name = {s.name: s for s in summaries}
    assert (by_name["Zebra"].items, by_name["Zebra"].agencies, by_name["Zebra"].victims, by_name["Zebra"].victims_identified) == (3, 2, 1, 1)
    assert (by_name["Apple"].items, by_name["Apple"].agencies, by_name["Apple"].victims) == (1, 1, 0)
    assert (by_name["Empty"].items, by_name["Empty"].agencies) == (0, 0)

    assert detail is not None and detail.summary == by_name["Zebra"]
    assert detail.victims == (("Zebra/victim-1", True),)
    timeline = [(e.kind, e.agency, e.detail, e.at.replace(tzinfo=e.at.tzinfo or timezone.utc)) for e in detail.timeline]
    assert timeline == [
        ("contribution", "nl-police", "3 item(s), case NL-1", datetime(2020, 1, 1, tzinfo=timezone.utc)),
        ("identification", "us-hsi", "victim Zebra/victim-1 identified", datetime(2020, 6, 1, tzinfo=timezone.utc)),
        ("contribution", "de-bka", "1 item(s), case DE-7", datetime(2021, 1, 1, tzinfo=timezone.utc)),
    ]
    assert empty is not None and empty.notes == "opened, nothing yet" and empty.timeline == () and empty.victims == ()


def test_indicator_ids_of_stills_and_video_frames_in_one_statement(engine: sa.Engine) -> None:
    frames = tuple(FrameHash(number=i * 30, timestamp=float(i), pdq=f"{i + 1:064x}", quality=90) for i in range(3))
    with session_scope(engine) as session:
        still = add(session, record("still", pdq="f" * 64)).media_id
        video = add(session, replace(record("video"), frames=frames, media_type="video/mp4")).media_id
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with session_scope(engine) as session:
        found = repo.indicator_ids(session, [(still, "pdq", None), (still, "sha256", None), (video, "pdq", 1.0), (video, "pdq", 2.0), (video, "pdq", 9.0)])
        rows = {
            (media_id, signal, at): row_id
            for row_id, media_id, signal, at in session.execute(sa.select(MediaSignal.id, MediaSignal.media_id, MediaSignal.signal, MediaSignal.timestamp))
        }
    assert found == {
        (still, "pdq", None): rows[(still, "pdq", None)],
        (still, "sha256", None): rows[(still, "sha256", None)],
        (video, "pdq", 1.0): rows[(video, "vpdq", 1.0)],
        (video, "pdq", 2.0): rows[(video, "vpdq", 2.0)],
    }  # no frame at 9 s: no indicator
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2  # the lookup, and the check above
