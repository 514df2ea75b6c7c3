"""Exporting hash lists from a real catalogue (SQLite and PostgreSQL): what the filters let
through, consent, disputes, versions, deltas, the published record and its audit event."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mediamatch.audit.events import AuditAction
from mediamatch.audit.trail import AuditFilter, query, verify
from mediamatch.hashlist.delta import apply_delta
from mediamatch.hashlist.format import VIDEO_GROUP_SECTION, HashListError, read_hashlist
from mediamatch.services.hashlists import ListFilter, export_hashlist, published_versions, read_sections, set_consent
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import Agency, Contribution, MediaItem, MediaSignal
from mediamatch.store.models.hashlists import HashListVersion
from mediamatch.store.models.review import IndicatorDispute


def digest(name: str, seed: str) -> str:
    return hashlib.new(name, seed.encode()).hexdigest()


def add_item(session, seed: str, *, agencies: list[Agency], category: int | None = 1, baseline: bool = False, pdq_quality: int = 90) -> dict[str, int]:
    """An item with all four signals, contributed by `agencies`; returns its indicator ids."""
    item = MediaItem(
        sha256=digest("sha256", seed), md5=digest("md5", seed), sha1=digest("sha1", seed), media_type="image/jpeg", size=1, category=category, baseline=baseline
    )
    session.add(item)
    session.flush()
    signals = {"md5": digest("md5", seed), "sha1": digest("sha1", seed), "sha256": digest("sha256", seed), "pdq": digest("sha256", "pdq" + seed)}
    rows = {name: MediaSignal(media_id=item.id, signal=name, value=value, quality=pdq_quality if name == "pdq" else None) for name, value in signals.items()}
    session.add_all(rows.values())
    session.add_all(Contribution(media_id=item.id, agency_id=agency.id) for agency in agencies)
    session.flush()
    return {name: row.id for name, row in rows.items()}


@pytest.fixture
def catalogue(engine: sa.Engine) -> dict[str, dict[str, int]]:
    with session_scope(engine) as session:
        sharing, keeping = Agency(name="Sharing unit", country="NL"), Agency(name="Keeping unit", country="BR")
        session.add_all([sharing, keeping])
        session.flush()
        items = {
            "baseline": add_item(session, "a", agencies=[sharing], baseline=True),
            "cat1": add_item(session, "b", agencies=[sharing]),
            "cat2": add_item(session, "c", agencies=[sharing], category=2),
            "cat0": add_item(session, "d", agencies=[sharing], category=0),
            "kept": add_item(session, "e", agencies=[keeping]),
            "both": add_item(session, "f", agencies=[keeping, sharing]),
            "lowq": add_item(session, "g", agencies=[sharing], pdq_quality=20),
            "uncategorised": add_item(session, "h", agencies=[sharing], category=None, baseline=True),
        }
        set_consent(session, "Sharing unit", True, actor="admin", actor_agency="Hotline")
    return items


def exported_ids(engine: sa.Engine, list_filter: ListFilter) -> dict[str, set[int]]:
    return {signal: set(section.ids.tolist()) for (_, signal), section in read_sections(engine, list_filter, batch_rows=2).items()}


def test_default_list_is_category_1_from_consenting_agencies(engine, catalogue) -> None:
    found = exported_ids(engine, ListFilter())
    for signal in ("md5", "sha1", "sha256"):
        assert found[signal] == {catalogue[k][signal] for k in ("baseline", "cat1", "both", "lowq")}
    assert found["pdq"] == {catalogue[k]["pdq"] for k in ("baseline", "cat1", "both")}  # quality 20 matches noise


def test_baseline_only_categories_and_signals(engine, catalogue) -> None:
    assert exported_ids(engine, ListFilter(baseline_only=True, signals=("pdq",))) == {"pdq": {catalogue["baseline"]["pdq"]}}
    wider = exported_ids(engine, ListFilter(categories=(1, 2), signals=("md5",)))
    assert wider == {"md5": {catalogue[k]["md5"] for k in ("baseline", "cat1", "cat2", "both", "lowq")}}
    with pytest.raises(HashListError, match=r"category 0 \(non-pertinent\) is never exported"):
        ListFilter(categories=(0, 1))
    with pytest.raises(HashListError, match="signals must be among"):
        ListFilter(signals=("photodna",))


def test_an_uncategorised_item_is_never_exported(engine, catalogue) -> None:
    """Category NULL (imported from a record that stated none) matches no filter, Baseline or not."""
    uncategorised = set(catalogue["uncategorised"].values())
    for list_filter in (ListFilter(), ListFilter(categories=(1, 2, 3, 4)), ListFilter(baseline_only=True, categories=(1, 2, 3, 4))):
        found = exported_ids(engine, list_filter)
        assert found["md5"] and not uncategorised & set().union(*found.values())


def test_consent_can_be_withdrawn_and_is_audited(engine, catalogue) -> None:
    with session_scope(engine) as session:
        assert set_consent(session, "Sharing unit", False, actor="admin", actor_agency="Hotline")
        assert not set_consent(session, "Sharing unit", False, actor="admin", actor_agency="Hotline")
        with pytest.raises(LookupError, match="no agency named"):
            set_consent(session, "Nobody", True, actor="admin", actor_agency="Hotline")
    assert exported_ids(engine, ListFilter(signals=("md5",))) == {"md5": set()}
    with session_scope(engine) as session:
        events = query(session, AuditFilter(actions=(AuditAction.SHARING_CONSENT,)))
    assert [json.loads(e.detail)["share_with_platforms"] for e in events] == [True, False]


def test_disputed_indicator_leaves_the_next_version_and_the_delta_names_it(engine, catalogue, tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    first = export_hashlist(engine, tmp_path / "v1.mmhl", key, actor="op", agency="Hotline", name="platforms")
    assert (first.version, first.delta) == (1, None)
    assert first.counts == {"md5": 4, "pdq": 3, "sha1": 4, "sha256": 4, "vpdq": 0}
    disputed = catalogue["cat1"]["pdq"]
    with session_scope(engine) as session:
        session.add(IndicatorDispute(signal_id=disputed, reason="benign picture"))
        session.add(IndicatorDispute(signal_id=catalogue["baseline"]["md5"], reason="settled", resolved_at=datetime.now(timezone.utc)))
    second = export_hashlist(engine, tmp_path / "v2.mmhl", key, actor="op", agency="Hotline", previous=tmp_path / "v1.mmhl")
    assert (second.name, second.version) == ("platforms", 2)
    v1, v2 = read_hashlist(tmp_path / "v1.mmhl", key.public_key()), read_hashlist(tmp_path / "v2.mmhl", key.public_key())
    assert disputed in v1.section("entries", "pdq").ids.tolist()
    assert disputed not in v2.section("entries", "pdq").ids.tolist()
    assert catalogue["baseline"]["md5"] in v2.section("entries", "md5").ids.tolist()  # a resolved dispute excludes nothing
    delta = read_hashlist(tmp_path / "v2.mmhl.delta", key.public_key())
    assert delta.section("removed", "pdq").ids.tolist() == [disputed]
    assert second.delta_counts == {"added": {}, "removed": {"pdq": 1}}
    assert apply_delta(v1, delta, key.public_key()) == (tmp_path / "v2.mmhl").read_bytes()

    with session_scope(engine) as session:
        rows = published_versions(session, "platforms")
        assert [(r.version, r.sha256, r.delta_path is not None) for r in rows] == [(2, second.full.sha256, True), (1, first.full.sha256, False)]
        assert json.loads(rows[0].counts) == {"md5": 4, "pdq": 2, "sha1": 4, "sha256": 4, "vpdq": 0}
        assert hashlib.sha256((tmp_path / "v2.mmhl").read_bytes()).hexdigest() == rows[0].sha256
        events = query(session, AuditFilter(actions=(AuditAction.HASHLIST_EXPORTED,)))
    assert [(e.actor, e.object_id) for e in events] == [("op", "platforms/1"), ("op", "platforms/2")]
    assert json.loads(events[1].detail)["delta"] == {"added": {}, "removed": {"pdq": 1}}
    assert verify(engine).ok


def test_a_version_is_published_once(engine, catalogue, tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    export_hashlist(engine, tmp_path / "v1.mmhl", key, actor="op", agency="Hotline")
    second = export_hashlist(engine, tmp_path / "v2.mmhl", key, actor="op", agency="Hotline")  # no --previous: next version, no delta
    assert second.version == 2 and second.delta is None
    with pytest.raises(HashListError, match="version 2 of list 'mediamatch' was already published"):
        export_hashlist(engine, tmp_path / "again.mmhl", key, actor="op", agency="Hotline", previous=tmp_path / "v1.mmhl")
    with pytest.raises(HashListError, match="not of 'other'"):
        export_hashlist(engine, tmp_path / "x.mmhl", key, actor="op", agency="Hotline", name="other", previous=tmp_path / "v2.mmhl")
    with pytest.raises(HashListError, match="signed with key"):
        export_hashlist(engine, tmp_path / "y.mmhl", Ed25519PrivateKey.generate(), actor="op", agency="Hotline", previous=tmp_path / "v2.mmhl")
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(HashListVersion)) == 2


def test_a_damaged_catalogue_value_is_named(engine, catalogue) -> None:
    with session_scope(engine) as session:
        session.execute(sa.update(MediaSignal).where(MediaSignal.id == catalogue["cat1"]["md5"]).values(value="zz" * 16))
    with pytest.raises(HashListError, match=f"indicator {catalogue['cat1']['md5']}: stored md5 value"):
        read_sections(engine, ListFilter(signals=("md5",)))


def test_video_frame_hashes_are_exported_as_their_own_signal(engine, catalogue) -> None:
    with session_scope(engine) as session:
        media_id = session.scalar(sa.select(MediaSignal.media_id).where(MediaSignal.id == catalogue["cat1"]["md5"]))
        frames = [
            MediaSignal(media_id=media_id, signal="vpdq", value=digest("sha256", f"frame{i}"), quality=q, timestamp=i / 2) for i, q in enumerate((90, 80, 10))
        ]
        session.add_all(frames)
        session.flush()
        frame_ids = [frame.id for frame in frames]
    sections = read_sections(engine, ListFilter(signals=("vpdq",)))
    assert set(sections["entries", "vpdq"].ids.tolist()) == set(frame_ids[:2])  # the quality-10 frame matches noise
    groups = sections["entries", VIDEO_GROUP_SECTION]  # each frame names its video: the indicator of the video's first frame
    assert groups.ids.tolist() == frame_ids[:2] and groups.hashes.view("<u8").ravel().tolist() == [frame_ids[0]] * 2
