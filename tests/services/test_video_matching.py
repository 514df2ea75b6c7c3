"""Videos in the catalogue, on SQLite and PostgreSQL: a still found inside a known video (with
where), frames of a triaged video that are known stills, and video-to-video by vPDQ's rule in
both directions (a copy, a cut, a compilation), while a video sharing a frame or two does not
match. Records are built from random hashes, so what is tested is the matching, not decoding.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from mediamatch.catalog.hashes import FrameHash, HashRecord
from mediamatch.index.cache import wait_for_saves
from mediamatch.services.frame_matching import time_ranges
from mediamatch.services.matching import CatalogueMatcher
from mediamatch.store import repo
from mediamatch.store.db import session_scope

RNG = np.random.default_rng(7)


def random_pdq() -> str:
    return RNG.integers(0, 256, 32, dtype=np.uint8).tobytes().hex()


def near(value: str, bits: int) -> str:
    """`value` with `bits` bits flipped: within the radius for bits <= 31."""
    data = bytearray(bytes.fromhex(value))
    for bit in RNG.choice(256, bits, replace=False):
        data[bit // 8] ^= 1 << (bit % 8)
    return bytes(data).hex()


def video(name: str, pdqs: list[str], quality: int = 90) -> HashRecord:
    frames = tuple(FrameHash(number=i * 30, timestamp=float(i), pdq=value, quality=quality) for i, value in enumerate(pdqs))
    return HashRecord(
        path=name,
        signals={"sha256": RNG.bytes(32).hex(), "md5": RNG.bytes(16).hex()},
        size=1000,
        media_type="video/mp4",
        frames=frames,
        duration=float(len(pdqs)),
    )


def still(name: str, pdq: str, quality: int = 90) -> HashRecord:
    return HashRecord(
        path=name, signals={"sha256": RNG.bytes(32).hex(), "md5": RNG.bytes(16).hex(), "pdq": pdq}, qualities={"pdq": quality}, size=100, media_type="image/png"
    )


@pytest.fixture
def known(engine: sa.Engine) -> dict[str, object]:
    """A known still, a known 20-frame video, and ids to find them by."""
    frames = [random_pdq() for _ in range(20)]
    picture = random_pdq()
    ids = {}
    with session_scope(engine) as session:
        agency = repo.get_or_create_agency(session, "NL unit", "NL")
        series = repo.get_or_create_series(session, "Series V")
        for key, record in (("video", video("known.mp4", frames)), ("still", still("known.png", picture))):
            ids[key] = repo.add_media(session, record, series=series, agency=agency, case=None, category=1, baseline=False).media_id
    return {"frames": frames, "picture": picture, **ids}


def matcher_for(engine: sa.Engine, tmp_path: Path) -> CatalogueMatcher:
    return CatalogueMatcher.open(engine, cache=tmp_path / "index" / "pdq-index")


def test_a_video_is_stored_with_one_row_per_distinct_frame_hash(engine: sa.Engine, known) -> None:
    with session_scope(engine) as session:
        times = repo.usable_frame_times(session, [known["video"]], ["vpdq"], 50)
    assert {media_id: len(found) for media_id, found in times.items()} == {known["video"]: 20}


def test_a_still_is_found_inside_a_known_video_with_its_time(engine, known, tmp_path: Path) -> None:
    [matches] = matcher_for(engine, tmp_path).match([still("screenshot.png", near(known["frames"][5], 6))])
    assert [(m.media_id, m.signal, m.known_seconds) for m in matches] == [(known["video"], "pdq", ((5.0, 5.0),))]
    assert matches[0].distance == 6 and matches[0].series == ("Series V",)


def test_frames_of_a_seized_video_that_are_a_known_still(engine, known, tmp_path: Path) -> None:
    pdqs = [random_pdq() for _ in range(10)]
    pdqs[3], pdqs[4] = near(known["picture"], 3), near(known["picture"], 8)
    [matches] = matcher_for(engine, tmp_path).match([video("seized.mp4", pdqs)])
    assert [(m.media_id, m.signal, m.distance, m.query_seconds) for m in matches] == [(known["still"], "pdq", 3, ((3.0, 4.0),))]


def test_a_reencoded_copy_of_a_known_video_matches_both_ways(engine, known, tmp_path: Path) -> None:
    copy = video("copy.mp4", [near(value, 10) for value in known["frames"]])
    [matches] = matcher_for(engine, tmp_path).match([copy])
    [match] = matches
    assert (match.media_id, match.signal, match.query_share, match.known_share) == (known["video"], "vpdq", 1.0, 1.0)
    assert match.query_seconds == match.known_seconds == ((0.0, 19.0),)


def test_a_compilation_containing_a_known_video_matches_with_where(engine, known, tmp_path: Path) -> None:
    """60 frames of other footage with the known 20 frames from second 30: a quarter of the
    triaged video, all of the known one."""
    pdqs = [random_pdq() for _ in range(60)]
    pdqs[30:50] = [near(value, 4) for value in known["frames"]]
    [matches] = matcher_for(engine, tmp_path).match([video("compilation.mp4", pdqs)])
    [match] = matches
    assert match.known_share == 1.0 and match.query_share == pytest.approx(20 / 60, abs=0.001)
    assert match.query_seconds == ((30.0, 49.0),) and match.known_seconds == ((0.0, 19.0),)


def test_a_short_cut_of_a_known_video_matches(engine, known, tmp_path: Path) -> None:
    [matches] = matcher_for(engine, tmp_path).match([video("cut.mp4", known["frames"][8:14])])
    assert [(m.media_id, m.query_share, m.known_share) for m in matches] == [(known["video"], 1.0, 0.3)]
    assert matches[0].known_seconds == ((8.0, 13.0),)


def test_a_video_sharing_two_frames_does_not_match(engine, known, tmp_path: Path) -> None:
    pdqs = [random_pdq() for _ in range(20)]
    pdqs[0], pdqs[10] = known["frames"][0], known["frames"][10]
    assert matcher_for(engine, tmp_path).match([video("other.mp4", pdqs)]) == [[]]


def test_low_quality_frames_never_match(engine, known, tmp_path: Path) -> None:
    assert matcher_for(engine, tmp_path).match([video("dark.mp4", known["frames"], quality=20)]) == [[]]


def test_the_frame_index_is_saved_and_catches_up_with_new_videos(engine, known, tmp_path: Path) -> None:
    first = matcher_for(engine, tmp_path)
    assert len(first.frames[""].index) == 20
    wait_for_saves()  # the index is saved in the background
    assert (tmp_path / "index" / "pdq-index.frames").exists()
    later = [random_pdq() for _ in range(12)]
    with session_scope(engine) as session:
        agency = repo.get_or_create_agency(session, "NL unit", "NL")
        series = repo.get_or_create_series(session, "Series W")
        added = repo.add_media(session, video("later.mp4", later), series=series, agency=agency, case=None, category=1, baseline=False)
    assert first.refresh() == 12
    reopened = matcher_for(engine, tmp_path)
    assert len(reopened.frames[""].index) == 32
    for matcher in (first, reopened):
        [matches] = matcher.match([still("frame.png", later[7])])
        assert [(m.media_id, m.known_seconds) for m in matches] == [(added.media_id, ((7.0, 7.0),))]


def test_time_ranges_merge_close_frames_only() -> None:
    assert time_ranges([4.0, 0.0, 1.0, 2.0, 9.5, 3.0]) == ((0.0, 4.0), (9.5, 9.5))
    assert time_ranges([]) == ()


def dense(name: str, bases: list[str], per_second: int, bits: int) -> HashRecord:
    """A video catalogued `per_second` frames a second: in second s, frames near `bases[s]`."""
    frames = tuple(
        FrameHash(number=s * per_second + k, timestamp=s + k / per_second, pdq=near(base, bits), quality=90)
        for s, base in enumerate(bases)
        for k in range(per_second)
    )
    return replace(video(name, []), frames=frames, duration=float(len(bases)))


def add(engine: sa.Engine, record: HashRecord) -> int:
    with session_scope(engine) as session:
        series = repo.get_or_create_series(session, "Series D")
        agency = repo.get_or_create_agency(session, "Agency", "XX")
        return repo.add_media(session, record, series=series, agency=agency, case=None, category=1, baseline=False).media_id


def test_a_densely_catalogued_video_is_found_by_one_frame_a_second(engine: sa.Engine, tmp_path: Path) -> None:
    """Ten known frames a second against one triaged frame a second: the known video's share
    is counted in seconds, so all of it is found (counted in frames it would be a tenth)."""
    bases = [random_pdq() for _ in range(20)]
    media_id = add(engine, dense("known.mp4", bases, per_second=10, bits=4))
    [[match]] = matcher_for(engine, tmp_path).match([video("copy.mp4", [near(base, 6) for base in bases])])
    assert (match.media_id, match.query_share, match.known_share) == (media_id, 1.0, 1.0)


def test_one_triaged_frame_counts_once_however_many_known_frames_it_is_near(engine: sa.Engine, tmp_path: Path) -> None:
    """A known video of one scene held still for 20 seconds (stored uncollapsed): a triaged
    video sharing one frame with it covers one of its seconds, not all twenty."""
    still = random_pdq()
    add(engine, dense("still.mp4", [still] * 20, per_second=10, bits=3))
    pdqs = [random_pdq() for _ in range(10)]
    pdqs[4] = near(still, 2)
    assert matcher_for(engine, tmp_path).match([video("other.mp4", pdqs)]) == [[]]


def test_a_frame_variant_finds_the_same_variant_of_a_known_frame_and_no_other(engine: sa.Engine, tmp_path: Path) -> None:
    """A logo spoils the frame's own hash: its bottom half is found among known bottom halves,
    never among known top halves or whole frames."""
    bases, halves = [random_pdq() for _ in range(10)], [random_pdq() for _ in range(10)]
    known_frames = tuple(FrameHash(i * 30, float(i), base, 90, (("bottom", half, 90),)) for i, (base, half) in enumerate(zip(bases, halves)))
    media_id = add(engine, replace(video("known.mp4", []), frames=known_frames))
    logo = tuple(FrameHash(i * 30, float(i), random_pdq(), 90, (("bottom", near(half, 5), 90),)) for i, half in enumerate(halves))
    as_top = tuple(FrameHash(i * 30, float(i), random_pdq(), 90, (("top", near(half, 5), 90),)) for i, half in enumerate(halves))
    matcher = matcher_for(engine, tmp_path)
    [[match]], [[]] = matcher.match([replace(video("logo.mp4", []), frames=logo)]), matcher.match([replace(video("top.mp4", []), frames=as_top)])
    assert (match.media_id, match.signal, match.known_share) == (media_id, "vpdq", 1.0)
