"""Platform hits and their review, on SQLite and PostgreSQL: a retried report is one hit, a
confirmation writes the report record, a rejection disputes the indicator (so the next hash
list leaves it out), a decision is final, and error rates count what reviewers decided."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediamatch.auth.permissions import Role
from mediamatch.auth.users import create_user
from mediamatch.services.review import (
    AlreadyDecided,
    HitNotFound,
    InvalidHit,
    ReviewError,
    decide,
    error_rates,
    report_hit,
    review_queue,
)
from mediamatch.store import repo
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import MediaItem, MediaSignal
from mediamatch.store.models.review import Hit, HitReport, HitReview, IndicatorDispute

PASSWORD = "correct horse battery staple"
PDQ_A = "f" * 64
PDQ_NEAR_A = "e" + "f" * 63  # one hex digit off: 1 bit


def listed_indicators(session: Session) -> set[int]:
    """What a hash-list export selects: every indicator without an open dispute."""
    open_dispute = sa.select(IndicatorDispute.id).where(IndicatorDispute.signal_id == MediaSignal.id, IndicatorDispute.resolved_at.is_(None)).exists()
    return set(session.scalars(sa.select(MediaSignal.id).where(~open_dispute)))


@pytest.fixture
def world(engine: sa.Engine) -> dict[str, int]:
    """Two known items (a PDQ and an MD5 indicator each), a platform and a reviewer."""
    ids: dict[str, int] = {}
    with session_scope(engine) as session:
        platform_agency = repo.get_or_create_agency(session, "Example Video Platform", "IE")
        review_agency = repo.get_or_create_agency(session, "Review Centre", "NL")
        for n, pdq in enumerate((PDQ_A, "0" * 64)):
            item = MediaItem(sha256=hashlib.sha256(bytes([n])).hexdigest(), md5=hashlib.md5(bytes([n])).hexdigest(),
                             sha1=hashlib.sha1(bytes([n])).hexdigest(), media_type="image/jpeg", size=10, category=1)  # fmt: skip
            item.signals = [MediaSignal(signal="pdq", value=pdq, quality=90), MediaSignal(signal="md5", value=item.md5)]
            session.add(item)
            session.flush()
            ids[f"pdq{n}"], ids[f"md5{n}"] = item.signals[0].id, item.signals[1].id
        ids["platform_agency"] = platform_agency.id
        ids["platform"] = create_user(session, platform_agency, "platform@ie", PASSWORD, Role.PLATFORM).id
        ids["reviewer"] = create_user(session, review_agency, "reviewer@nl", PASSWORD, Role.REVIEWER).id
        ids["other_agency"] = repo.get_or_create_agency(session, "Other Platform", "US").id
    return ids


def report(session: Session, world: dict[str, int], reference: str = "upload-1", **overrides: object) -> Hit:
    fields: dict[str, object] = {
        "signal": "pdq", "value": PDQ_NEAR_A, "signal_id": world["pdq0"], "distance": 1, "reference": reference,
        "agency_id": world["platform_agency"], "account_id": world["platform"], "list_name": "baseline", "list_version": 3,
    }  # fmt: skip
    fields.update(overrides)
    return report_hit(session, **fields)  # type: ignore[arg-type]


def test_a_repeated_report_is_one_hit_and_others_are_not(engine: sa.Engine, world: dict[str, int]) -> None:
    with session_scope(engine) as session:
        first = report(session, world).id
    with session_scope(engine) as session:
        again = report(session, world, value=PDQ_NEAR_A.upper()).id  # the same hash, written differently
        other_reference = report(session, world, reference="upload-2").id
        other_agency = report(session, world, agency_id=world["other_agency"], account_id=None).id
        watcher = report_hit(session, signal="pdq", value=PDQ_NEAR_A, signal_id=world["pdq0"], distance=1, reference="upload-1",
                             agency_id=None, account_id=None, source="watch", stream_time=12.5, source_label="stream 7").id  # fmt: skip
        watcher_again = report_hit(session, signal="pdq", value=PDQ_NEAR_A, signal_id=world["pdq0"], distance=1, reference="upload-1",
                                   agency_id=None, account_id=None, source="watch", stream_time=12.5).id  # fmt: skip
    assert again == first
    assert watcher_again == watcher
    assert len({first, other_reference, other_agency, watcher}) == 4
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Hit)) == 4
        stored = session.get(Hit, first)
        assert stored is not None and stored.value == PDQ_NEAR_A and stored.status == "pending"
        queue = review_queue(session, limit=10, offset=0)
        assert [hit.id for hit in queue] == sorted([first, other_reference, other_agency, watcher])
        assert [hit.id for hit in review_queue(session, limit=2, offset=1)] == [hit.id for hit in queue[1:3]]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"signal_id": 999_999}, "no indicator"),
        ({"signal": "md5", "value": "a" * 32}, "is a pdq hash"),
        ({"value": "xyz"}, "64 hex digits"),
        ({"distance": 257}, "distance"),
        ({"reference": ""}, "reference"),
        ({"agency_id": None}, "agency"),
        ({"stream_time": float("nan")}, "stream_time"),
        ({"list_version": 0}, "list_version"),
    ],
)
def test_a_bad_report_is_refused_and_stores_nothing(engine: sa.Engine, world: dict[str, int], overrides: dict[str, object], message: str) -> None:
    with session_scope(engine) as session:
        with pytest.raises(InvalidHit, match=message):
            report(session, world, **overrides)
        assert session.scalar(sa.select(sa.func.count()).select_from(Hit)) == 0


def test_confirming_writes_the_report_record(engine: sa.Engine, world: dict[str, int]) -> None:
    with session_scope(engine) as session:
        hit_id = report(session, world, stream_time=3.0).id
    with session_scope(engine) as session:
        outcome = decide(session, hit_id, world["reviewer"], "confirm", "matches the known item", "content removed by the provider")
        assert outcome.dispute is None and outcome.report is not None
    with session_scope(engine) as session:
        hit = session.get(Hit, hit_id)
        assert hit is not None and hit.status == "confirmed"
        stored = session.scalars(sa.select(HitReport)).one()
        assert (stored.hit_id, stored.provider_agency_id, stored.provider_name, stored.provider_country) == (
            hit_id,
            world["platform_agency"],
            "Example Video Platform",
            "IE",
        )
        assert (stored.signal, stored.value, stored.signal_id, stored.distance) == ("pdq", PDQ_NEAR_A, world["pdq0"], 1)
        assert (stored.material_type, stored.action_taken, stored.reviewer_id, stored.provider_reference) == (
            "known",
            "content removed by the provider",
            world["reviewer"],
            "upload-1",
        )
        assert stored.hit_at == hit.reported_at and stored.stream_time == 3.0 and stored.content_available is False
        assert session.scalar(sa.select(sa.func.count()).select_from(IndicatorDispute)) == 0
        assert review_queue(session, 10, 0) == []


def test_rejecting_disputes_the_indicator_once_and_hides_it_from_the_next_list(engine: sa.Engine, world: dict[str, int]) -> None:
    with session_scope(engine) as session:
        first = report(session, world).id
        second = report(session, world, reference="upload-2").id
        assert world["pdq0"] in listed_indicators(session)
    with session_scope(engine) as session:
        outcome = decide(session, first, world["reviewer"], "reject", "benign: a test card, not the known item", "")
        assert outcome.report is None and outcome.dispute is not None
    with session_scope(engine) as session:
        again = decide(session, second, world["reviewer"], "reject", "same test card", "")
        assert again.dispute is None  # the indicator is already disputed
        dispute = session.scalars(sa.select(IndicatorDispute)).one()
        assert (dispute.signal_id, dispute.hit_id, dispute.disputed_by, dispute.resolved_at) == (world["pdq0"], first, world["reviewer"], None)
        assert dispute.reason == "benign: a test card, not the known item"
        listed = listed_indicators(session)
        assert world["pdq0"] not in listed and {world["md50"], world["pdq1"]} <= listed
        assert session.scalar(sa.select(sa.func.count()).select_from(HitReport)) == 0


def test_a_decision_is_final(engine: sa.Engine, world: dict[str, int]) -> None:
    with session_scope(engine) as session:
        hit_id = report(session, world).id
    with session_scope(engine) as session:
        decide(session, hit_id, world["reviewer"], "confirm", "", "removed")
    with session_scope(engine) as session:
        with pytest.raises(AlreadyDecided, match="already confirmed"):
            decide(session, hit_id, world["reviewer"], "reject", "second thoughts", "")
        with pytest.raises(HitNotFound):
            decide(session, 999_999, world["reviewer"], "confirm", "", "")
        with pytest.raises(ReviewError, match="decision must be"):
            decide(session, hit_id, world["reviewer"], "maybe", "", "")
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(HitReview)) == 1
        assert session.scalar(sa.select(sa.func.count()).select_from(IndicatorDispute)) == 0
        hit = session.get(Hit, hit_id)
        assert hit is not None and hit.status == "confirmed"


def test_a_rejection_needs_a_reason(engine: sa.Engine, world: dict[str, int]) -> None:
    with session_scope(engine) as session:
        hit_id = report(session, world).id
    with session_scope(engine) as session, pytest.raises(ReviewError, match="reason"):
        decide(session, hit_id, world["reviewer"], "reject", "  ", "")
    with session_scope(engine) as session:
        hit = session.get(Hit, hit_id)
        assert hit is not None and hit.status == "pending"


def test_error_rates_per_indicator_and_per_list(engine: sa.Engine, world: dict[str, int]) -> None:
    # pdq0: 1 confirmed, 2 rejected (list baseline v3); md50: 3 confirmed (baseline v3 twice, v4 once);
    # pdq1: one hit still pending, so it is not counted anywhere.
    plan = [("pdq0", "reject", 3), ("pdq0", "reject", 3), ("pdq0", "confirm", 3),
            ("md50", "confirm", 3), ("md50", "confirm", 3), ("md50", "confirm", 4), ("pdq1", None, 4)]  # fmt: skip
    with session_scope(engine) as session:
        values = {"pdq0": PDQ_NEAR_A, "pdq1": "0" * 64, "md50": hashlib.md5(bytes([0])).hexdigest()}
        hit_ids = [
            report(
                session,
                world,
                reference=f"upload-{n}",
                signal_id=world[name],
                signal=name[:-1],
                value=values[name],
                distance=0 if name == "md50" else 1,
                list_version=version,
            ).id
            for n, (name, _, version) in enumerate(plan)
        ]
    with session_scope(engine) as session:
        for hit_id, (_, decision, _) in zip(hit_ids, plan):
            if decision:
                decide(session, hit_id, world["reviewer"], decision, "checked", "")
    with session_scope(engine) as session:
        rates = error_rates(session)
    by_indicator = {rate.signal_id: rate for rate in rates.indicators}
    assert set(by_indicator) == {world["pdq0"], world["md50"]}
    assert rates.indicators[0].signal_id == world["pdq0"]  # worst first
    pdq0, md50 = by_indicator[world["pdq0"]], by_indicator[world["md50"]]
    assert (pdq0.signal, pdq0.rate.confirmed, pdq0.rate.rejected, pdq0.disputed) == ("pdq", 1, 2, True)
    assert pdq0.rate.false_positive_rate == pytest.approx(2 / 3)
    assert (md50.signal, md50.rate.confirmed, md50.rate.rejected, md50.disputed) == ("md5", 3, 0, False)
    assert md50.rate.false_positive_rate == 0.0
    assert [(r.list_name, r.list_version, r.rate.confirmed, r.rate.rejected) for r in rates.lists] == [("baseline", 3, 3, 2), ("baseline", 4, 1, 0)]
    assert rates.lists[0].rate.false_positive_rate == pytest.approx(2 / 5)
    with session_scope(engine) as session:
        assert [rate.signal_id for rate in error_rates(session, limit=1).indicators] == [world["pdq0"]]
