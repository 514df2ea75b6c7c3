"""Whole videos over the platform matcher: Meta's text form and HMA's JSON form read alike, a
published list says which video each frame belongs to (kept through deltas), and each known
video is answered with both shares under the rule the request picks. Frames are the
ThreatExchange reference hashes (vpdq/sample-hashes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mediamatch.catalog.hashes import FrameHash
from mediamatch.hashlist.format import VIDEO_GROUP_SECTION, read_hashlist
from mediamatch.services.hashlists import ListFilter, export_hashlist, set_consent
from mediamatch.services.platform_matcher import HashListMatcher
from mediamatch.services.video_lookup import VideoRule, parse_video_signal
from mediamatch.signals.vpdq import format_vpdq, parse_vpdq
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import Agency, Contribution, MediaItem, MediaSignal

KNOWN = ("chair-19-sd-bar", "doorknob-hd-no-bar", "pattern-hd-no-bar")


def sample(testdata: Path, name: str) -> tuple[FrameHash, ...]:
    return parse_vpdq((testdata / "threatexchange" / "vpdq" / "sample-hashes" / f"{name}.txt").read_text())


def hma_json(frames: tuple[FrameHash, ...]) -> str:
    """python-threatexchange's `vpdq_to_json` layout: frames keyed by number."""
    return json.dumps({str(f.number): {"quality": f.quality, "hash": f.pdq, "timestamp": round(f.timestamp, 3)} for f in frames})


def add_video(session, name: str, frames: tuple[FrameHash, ...], agency: Agency, number: int) -> int:
    """A known video with one frame row per distinct hash; returns its first frame's indicator."""
    item = MediaItem(sha256=f"{number:064x}", md5=f"{number:032x}", sha1=f"{number:040x}", media_type="video/mp4", size=1, category=1)
    session.add(item)
    session.flush()
    distinct = {frame.pdq: frame for frame in reversed(frames)}
    rows = [
        MediaSignal(media_id=item.id, signal="vpdq", value=f.pdq, quality=f.quality, timestamp=f.timestamp)
        for f in sorted(distinct.values(), key=lambda f: f.number)
    ]
    session.add_all(rows)
    session.add(Contribution(media_id=item.id, agency_id=agency.id, original_name=name))
    session.flush()
    return rows[0].id


@pytest.fixture
def published(engine: sa.Engine, testdata: Path, tmp_path: Path) -> dict[str, object]:
    with session_scope(engine) as session:
        agency = Agency(name="Sharing unit", country="NL")
        session.add(agency)
        session.flush()
        videos = {name: add_video(session, name, sample(testdata, name), agency, number) for number, name in enumerate(KNOWN, start=1)}
        set_consent(session, "Sharing unit", True, actor="admin", actor_agency="Hotline")
    key = Ed25519PrivateKey.generate()
    export_hashlist(engine, tmp_path / "v1.mmhl", key, actor="admin", agency="Hotline", name="videos", list_filter=ListFilter(signals=("vpdq",)))
    return {"key": key, "videos": videos, "dir": tmp_path}


def test_the_two_forms_of_a_video_signal_read_alike(testdata: Path) -> None:
    frames = sample(testdata, "chair-20-sd-bar")
    assert parse_video_signal(format_vpdq(frames)) == frames
    assert parse_video_signal(hma_json(frames)) == tuple(FrameHash(f.number, round(f.timestamp, 3), f.pdq, f.quality) for f in frames)
    for bad, why in [("{}", "object of frames"), ('{"0": {"quality": 101, "hash": "' + "a" * 64 + '", "timestamp": 0}}', "quality"),
                     ('{"x": {}}', "frame number"), ('{"0": {"quality": 90, "hash": "zz", "timestamp": 0}}', "64 hex"), ("0,90,abc,0.0", "line 1")]:  # fmt: skip
        with pytest.raises(ValueError, match=why):
            parse_video_signal(bad)


@pytest.mark.parametrize(
    ("rule", "query_share", "known_share", "match"),
    [
        ("known", 0.2, 0.9, True),
        ("known", 0.9, 0.2, False),
        ("query", 0.9, 0.2, True),
        ("query", 0.2, 0.9, False),
        ("both", 0.9, 0.85, True),
        ("both", 0.9, 0.79, False),
    ],
)
def test_the_rule_picks_which_share_decides(rule: str, query_share: float, known_share: float, match: bool) -> None:
    assert VideoRule(rule).decides(query_share, known_share) is match


def test_a_published_list_answers_per_known_video_with_both_shares(engine: sa.Engine, testdata: Path, published: dict) -> None:
    key, videos = published["key"], published["videos"]
    hashlist = read_hashlist(published["dir"] / "v1.mmhl", key.public_key())
    groups = hashlist.section("entries", VIDEO_GROUP_SECTION)
    assert groups.ids.tolist() == hashlist.section("entries", "vpdq").ids.tolist()  # every exported frame names its video
    assert set(groups.hashes.view("<u8").ravel().tolist()) == set(videos.values())
    matcher = HashListMatcher.from_hashlist(published["dir"] / "v1.mmhl", key.public_key(), cache=False)
    assert matcher.counts() == {"vpdq": len(groups)} and matcher.skipped_signals == ()

    [copy] = [answer for answer in matcher.lookup_video(sample(testdata, "chair-20-sd-bar")) if answer.match]
    assert copy.video == videos["chair-19-sd-bar"] and copy.known_share >= 0.8 and copy.query_share >= 0.8
    assert all(answer.video != videos["doorknob-hd-no-bar"] for answer in matcher.lookup_video(sample(testdata, "chair-20-sd-bar")))

    # A fifth of the known clip: all of the query is known footage, little of the known video is in it.
    chair = sample(testdata, "chair-19-sd-bar")
    excerpt = chair[: len(chair) // 5]
    by_rule = {rule: matcher.lookup_video(excerpt, rule) for rule in VideoRule}
    shares = {(a.query_share, a.known_share) for answers in by_rule.values() for a in answers if a.video == videos["chair-19-sd-bar"]}
    assert len(shares) == 1  # the shares do not depend on the rule
    [(query_share, known_share)] = shares
    assert query_share == 1.0 and known_share < 0.5
    decided = {rule: [a.match for a in answers if a.video == videos["chair-19-sd-bar"]] for rule, answers in by_rule.items()}
    assert decided == {VideoRule.KNOWN: [False], VideoRule.QUERY: [True], VideoRule.BOTH: [False]}
    assert matcher.lookup_video(tuple(FrameHash(f.number, f.timestamp, f.pdq, 10) for f in chair)) == []  # quality < 50: no usable frame


def test_a_delta_keeps_the_video_groups_current(engine: sa.Engine, testdata: Path, published: dict) -> None:
    key, videos, folder = published["key"], published["videos"], published["dir"]
    matcher = HashListMatcher.from_hashlist(folder / "v1.mmhl", key.public_key(), cache=False)
    with session_scope(engine) as session:
        chair = session.scalar(sa.select(MediaSignal.media_id).where(MediaSignal.id == videos["chair-19-sd-bar"]))
        session.execute(sa.update(MediaItem).where(MediaItem.id == chair).values(category=0))
        agency = session.scalar(sa.select(Agency))
        added = add_video(session, "pattern-longer-no-bar", sample(testdata, "pattern-longer-no-bar"), agency, 9)
    export_hashlist(engine, folder / "v2.mmhl", key, actor="admin", agency="Hotline", list_filter=ListFilter(signals=("vpdq",)), previous=folder / "v1.mmhl")
    report = matcher.apply_deltas([folder / "v2.mmhl.delta"])
    assert report.applied == ("v2.mmhl.delta",) and matcher.version == 2
    assert not matcher.lookup_video(sample(testdata, "chair-20-sd-bar"))  # the chair video left the list
    longer = {answer.video: answer for answer in matcher.lookup_video(sample(testdata, "pattern-longer-no-bar"))}
    assert longer[added].match and longer[added].known_share == 1.0
    fresh = HashListMatcher.from_hashlist(folder / "v2.mmhl", key.public_key(), cache=False)
    assert fresh.lookup_video(sample(testdata, "pattern-longer-no-bar")) == matcher.lookup_video(sample(testdata, "pattern-longer-no-bar"))
