"""Similarity search end to end on SQLite and PostgreSQL: contributed pictures are found by
triage's second pass when cropped, turned, pasted into another picture (known) or seen from
another side (related); unrelated, blank, tiny and corrupt files are what they were; the index
persists beside the catalogue and catches up; region search finds a box of a picture; copies of
low-detail pictures are known by their miniatures."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from mediamatch.services.contribute import ContributionRequest, contribute
from mediamatch.services.similar import NO_DESCRIPTORS, SimilarityMatcher, search_picture
from mediamatch.services.triage import STATE_FILE, TriageRow, TriageState, triage
from mediamatch.services.triage_report import write_reports
from mediamatch.store.db import open_engine
from tests.similar_pictures import crop_area, jpeg_bytes, pasted_into, resized, save, smooth_picture, textured_picture, views


@pytest.fixture
def catalogue(tmp_path: Path, engine: sa.Engine) -> sa.Engine:
    known = tmp_path / "known"
    identified = [save(textured_picture(1), known / "harbour.jpg")]
    others = [save(textured_picture(2), known / "meadow.jpg"), save(views(textured_picture(3))[0], known / "room-left.jpg")]
    contribute(engine, identified, ContributionRequest(series="Harbour", victim_identified=True), workers=1)
    contribute(engine, others, ContributionRequest(series="Meadow"), workers=1)
    return engine


@pytest.fixture
def seized(tmp_path: Path) -> Path:
    folder = tmp_path / "seized"
    harbour, meadow = textured_picture(1), textured_picture(2)
    save(crop_area(harbour, 0.5), folder / "harbour-crop.jpg")
    save(meadow.rotate(10, resample=Image.Resampling.BICUBIC, expand=True), folder / "meadow-rotated.jpg")
    save(pasted_into(harbour, textured_picture(40)), folder / "harbour-pasted.jpg")
    save(views(textured_picture(3))[1], folder / "room-right.jpg")
    save(textured_picture(41), folder / "unrelated.jpg")
    Image.new("L", (400, 300), 120).save(folder / "blank.png")
    Image.new("L", (6, 6), 120).save(folder / "tiny.png")
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a picture")
    return folder


def rows_of(out: Path) -> dict[str, TriageRow]:
    state = TriageState(out / STATE_FILE)
    try:
        return {row.path: row for row in state.rows()}
    finally:
        state.close()


def test_triage_finds_copies_and_related_pictures(catalogue, seized, tmp_path: Path) -> None:
    triage(seized, tmp_path / "out", catalogue, workers=1)
    rows = rows_of(tmp_path / "out")
    assert {path: row.status for path, row in rows.items()} == {
        "harbour-crop.jpg": "known_identified",
        "meadow-rotated.jpg": "known_unidentified",
        "harbour-pasted.jpg": "known_identified",
        "room-right.jpg": "related",
        "unrelated.jpg": "new",
        "blank.png": "new",
        "tiny.png": "new",
        "corrupt.jpg": "error",
    }
    crop = rows["harbour-crop.jpg"].matches[0]
    assert (crop.signal, crop.relation, crop.series) == ("local_features", "contains", ("Harbour",))
    assert crop.known_area_share == pytest.approx(0.5, abs=0.08)
    assert len(crop.query_region) >= 3 and len(crop.known_region) >= 3
    rotated = rows["meadow-rotated.jpg"].matches[0]
    assert "rotated 10°" in rotated.transform
    pasted = rows["harbour-pasted.jpg"].matches[0]
    assert pasted.known_area_share == pytest.approx(1.0, abs=0.05) and "40% of the picture's width" in pasted.transform
    xs = [x for x, _ in pasted.query_region]
    assert min(xs) == pytest.approx(1 / 3, abs=0.03) and max(xs) == pytest.approx(1 / 3 + 0.4, abs=0.03)
    related = rows["room-right.jpg"].matches[0]
    assert (related.relation, related.series) == ("related", ("Meadow",))
    assert NO_DESCRIPTORS in (rows["blank.png"].note or "") and NO_DESCRIPTORS in (rows["tiny.png"].note or "")

    state = TriageState(tmp_path / "out" / STATE_FILE)
    try:
        paths = write_reports(state, tmp_path / "out")
    finally:
        state.close()
    report = json.loads(paths["json"].read_text())
    assert list(report["summary"])[:3] == ["known_identified", "known_unidentified", "related"]
    [room] = [entry for entry in report["files"] if entry["path"] == "room-right.jpg"]
    assert room["matches"][0]["relation"] == "related" and len(room["matches"][0]["known_region"]) >= 3
    with paths["csv"].open(newline="") as handle:
        by_path = {row["path"]: row for row in csv.DictReader(handle)}
    assert (by_path["room-right.jpg"]["status"], by_path["room-right.jpg"]["relation"]) == ("related", "related")
    html = paths["html"].read_text()
    assert html.index('id="known_identified"') < html.index('id="related"') < html.index('id="new"')
    assert "<polygon" in html and "shares a scene or objects" in html and "contains the known picture" in html


def test_no_similar_switch_leaves_the_second_pass_out(catalogue, seized, tmp_path: Path) -> None:
    triage(seized, tmp_path / "out", catalogue, workers=1, similar=False)
    statuses = {path: row.status for path, row in rows_of(tmp_path / "out").items()}
    assert statuses["harbour-crop.jpg"] == statuses["room-right.jpg"] == "new"


def test_index_persists_beside_the_catalogue_and_catches_up(catalogue, tmp_path: Path) -> None:
    path = tmp_path / "index" / "similar-index"
    first = SimilarityMatcher.open(catalogue, path)
    assert path.exists() and len(first.saved.index) > 0 and first.saved.last_row == 3
    late = textured_picture(5)
    contribute(catalogue, [save(late, tmp_path / "late" / "late.jpg")], ContributionRequest(series="Late"), workers=1)
    reopened = SimilarityMatcher.open(catalogue, path)  # maps the saved file, then reads the one new row
    assert reopened.saved.last_row == 4 and len(reopened.saved.index) > len(first.saved.index)
    answer = search_picture(reopened, jpeg_bytes(crop_area(late, 0.6)))
    assert [match.series for match in answer.matches] == [("Late",)]
    first.refresh()  # a long-lived matcher catches up too
    assert first.saved.last_row == 4


def test_region_search_finds_the_box_and_refuses_bad_input(catalogue, tmp_path: Path) -> None:
    matcher = SimilarityMatcher.open(catalogue, tmp_path / "similar-index")
    scene = pasted_into(textured_picture(2), textured_picture(42), share=0.5)
    whole = search_picture(matcher, jpeg_bytes(scene))
    boxed = search_picture(matcher, jpeg_bytes(scene), box=(213, 120, 320, 240))
    assert [match.series for match in boxed.matches] == [("Meadow",)] and boxed.matches[0].relation == "contains"
    assert whole.matches[0].series == ("Meadow",)
    x, y, w, h = 213 / 640, 120 / 480, 320 / 640, 240 / 480  # the box, in shares of the picture: where the known picture was pasted
    assert all(x - 0.02 <= px <= x + w + 0.02 and y - 0.02 <= py <= y + h + 0.02 for px, py in boxed.matches[0].query_region)
    elsewhere = search_picture(matcher, jpeg_bytes(scene), box=(0, 0, 200, 110))
    assert elsewhere.matches == ()
    assert "not inside" in (search_picture(matcher, jpeg_bytes(scene), box=(600, 400, 100, 100)).error or "")
    assert search_picture(matcher, b"\xff\xd8\xff\xe0 broken").error
    assert search_picture(matcher, jpeg_bytes(Image.new("L", (300, 300), 90))).note == NO_DESCRIPTORS


def test_a_catalogue_reopened_from_its_url_finds_the_same(catalogue, tmp_path: Path) -> None:
    url = catalogue.url.render_as_string(hide_password=False)
    engine = open_engine(url)
    try:
        matcher = SimilarityMatcher.open(engine, tmp_path / "similar-index")
        assert search_picture(matcher, jpeg_bytes(crop_area(textured_picture(1), 0.3))).matches[0].series == ("Harbour",)
    finally:
        engine.dispose()


def test_similarity_data_never_reach_hash_lists_or_exchange_exports(catalogue) -> None:
    from mediamatch.services.exchange import catalogue_records
    from mediamatch.services.hashlists import HashListError, ListFilter, read_sections

    assert all(signal != "local_features" for _, signal in read_sections(catalogue, ListFilter()))
    with pytest.raises(HashListError):
        ListFilter(signals=("local_features",))
    records = list(catalogue_records(catalogue))
    assert len(records) == 3 and all("local_features" not in repr(record) for record in records)


def test_a_still_of_a_known_video_frame_finds_the_video_with_its_time(engine, tmp_path: Path) -> None:
    """Frames of a contributed video are catalogued every 2 s with their time. (The generated
    scenes are smooth, with a few dozen keypoints: a still is found, a crop of one is not.)"""
    av = pytest.importorskip("av", reason="video support is the [video] extra")
    from mediamatch.services.samples import generated_video

    clip = generated_video(tmp_path / "known.mp4", seconds=4, fps=10, seed=31, motion="zoom")
    contribute(engine, [clip], ContributionRequest(series="Clip"), workers=1)
    with av.open(str(clip)) as container:
        frame = next(f for f in container.decode(video=0) if f.time is not None and f.time >= 2.0).to_image()
    answer = search_picture(SimilarityMatcher.open(engine, tmp_path / "similar-index"), jpeg_bytes(frame))
    assert [(match.series, match.relation, match.known_seconds) for match in answer.matches] == [(("Clip",), "contains", ((2.0, 2.0),))]


def test_a_video_showing_a_known_picture_is_known_with_the_time_it_shows_it(catalogue, tmp_path: Path) -> None:
    """A seized video's sampled frames are searched too (one every SEARCH_FEATURE_SECONDS): four
    seconds of another scene, then four seconds with the known picture pasted into it."""
    pytest.importorskip("av", reason="video support is the [video] extra")
    from mediamatch.services.samples import video_of_pictures

    host = textured_picture(43)
    showing = pasted_into(textured_picture(1), host, share=0.6)
    (tmp_path / "seized").mkdir()
    video_of_pictures(tmp_path / "seized" / "clip.mp4", [host] * 20 + [showing] * 20, fps=5)
    triage(tmp_path / "seized", tmp_path / "out", catalogue, workers=1)
    row = rows_of(tmp_path / "out")["clip.mp4"]
    assert row.status == "known_identified"
    match = row.matches[0]
    assert (match.signal, match.relation, match.series) == ("local_features", "contains", ("Harbour",))
    assert match.query_seconds and all(4.0 <= start <= end < 8.0 for start, end in match.query_seconds)


def test_a_copy_of_a_low_detail_picture_is_known_by_its_miniature(engine, tmp_path: Path) -> None:
    known = tmp_path / "known"
    contribute(engine, [save(smooth_picture(11), known / "dusk.jpg")], ContributionRequest(series="Dusk", victim_identified=True), workers=1)
    contribute(engine, [save(smooth_picture(12), known / "fog.jpg")], ContributionRequest(series="Fog"), workers=1)
    seized = tmp_path / "seized"
    seized.mkdir()
    (seized / "dusk-small.jpg").write_bytes(jpeg_bytes(resized(smooth_picture(11), 0.6), 70))
    (seized / "other-sky.jpg").write_bytes(jpeg_bytes(smooth_picture(13)))
    Image.new("L", (400, 300), 20).save(seized / "dark.png")
    triage(seized, tmp_path / "out", engine, workers=1)
    rows = rows_of(tmp_path / "out")
    assert {path: row.status for path, row in rows.items()} == {"dusk-small.jpg": "known_identified", "other-sky.jpg": "new", "dark.png": "new"}
    [match] = rows["dusk-small.jpg"].matches
    assert (match.series, match.signal, match.relation, match.inliers, match.known_area_share) == (("Dusk",), "local_features", "contains", None, 1.0)
    assert match.transform.startswith("whole picture, low detail: miniatures differ by")
    assert NO_DESCRIPTORS in (rows["dark.png"].note or "") and NO_DESCRIPTORS not in (rows["other-sky.jpg"].note or "")
    state = TriageState(tmp_path / "out" / STATE_FILE)
    try:
        html = write_reports(state, tmp_path / "out")["html"].read_text()
    finally:
        state.close()
    assert "whole picture, low detail" in html and "None keypoints" not in html


def test_miniature_index_persists_beside_the_catalogue_and_catches_up(engine, tmp_path: Path) -> None:
    contribute(engine, [save(smooth_picture(21), tmp_path / "a" / "dawn.jpg")], ContributionRequest(series="Dawn"), workers=1)
    path = tmp_path / "index" / "similar-index"
    first = SimilarityMatcher.open(engine, path)
    assert len(first.saved.miniatures) == 1 and first.saved.miniatures_path.exists()
    assert json.loads(first.saved.state.path.read_text())["miniatures"] == 1
    contribute(engine, [save(smooth_picture(22), tmp_path / "b" / "haze.jpg")], ContributionRequest(series="Haze"), workers=1)
    reopened = SimilarityMatcher.open(engine, path)  # reads the saved miniatures, then the one new row
    assert len(reopened.saved.miniatures) == 2 and reopened.saved.last_row == first.saved.last_row + 1
    assert [match.series for match in search_picture(reopened, jpeg_bytes(resized(smooth_picture(22), 0.5), 75)).matches] == [("Haze",)]
    first.refresh()  # a long-lived matcher catches up too
    assert len(first.saved.miniatures) == 2
    first.saved.miniatures_path.write_bytes(b"damaged")
    rebuilt = SimilarityMatcher.open(engine, path)  # an unreadable file: built again from the catalogue
    assert len(rebuilt.saved.miniatures) == 2
    assert [match.series for match in search_picture(rebuilt, jpeg_bytes(resized(smooth_picture(21), 0.7), 60)).matches] == [("Dawn",)]
