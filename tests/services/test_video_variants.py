"""Video variants match by default: the same footage at another frame rate, letterboxed or
pillarboxed, smaller and grey, with a logo, is the known video, and unrelated footage is not.

Generated footage (services/samples.py `restyled_video`) on SQLite and PostgreSQL, then Meta's
ThreatExchange sample videos where ../shared/testdata has them: `chair-19-sd-bar` (another frame
rate) and `pattern-sd-grey-bar` (bars, SD, grey), which triage at one frame per second did not
find before, and the large-logo cuts; `doorknob` is never the chair or the pattern.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

pytest.importorskip("av", reason="video support is the [video] extra")

from mediamatch.services.contribute import ContributionRequest, contribute
from mediamatch.services.matching import CatalogueMatcher
from mediamatch.services.samples import generated_video, restyled_video
from mediamatch.services.triage import KNOWN_UNIDENTIFIED, NEW, STATE_FILE, TriageRow, TriageState, triage
from mediamatch.store.db import migrate, open_engine
from mediamatch.store.models.catalogue import MediaSignal

SAMPLE_VIDEOS = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "threatexchange" / "tmk" / "sample-videos"


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A known video, and a seized folder of its variants beside unrelated footage."""
    root = tmp_path_factory.mktemp("variants")
    seized = root / "seized"
    seized.mkdir()
    # Seed 15: footage whose left and bottom halves have detail (PDQ quality >= 50) in every
    # sampled frame, which a logo over the top right leaves to be matched. (Where those halves
    # are flat, nothing unspoiled is left to match: gen-large-logo in BENCHMARKS.md.)
    source = generated_video(root / "source.mp4", seconds=8, seed=15)
    known = restyled_video(source, root / "known.mp4")
    restyled_video(source, seized / "24fps.mp4", fps=24)
    restyled_video(source, seized / "letterboxed-25fps.mp4", fps=25, size=(640, 480))
    restyled_video(source, seized / "pillarboxed.mp4", picture=(480, 360))
    restyled_video(source, seized / "sd-grey.mp4", size=(320, 180), grey=True)
    restyled_video(source, seized / "logo.mp4", logo=0.12)
    generated_video(seized / "unrelated.mp4", seconds=8, seed=18)
    restyled_video(seized / "unrelated.mp4", seized / "unrelated-letterboxed.mp4", size=(640, 480))
    return known, seized


def triaged(engine: sa.Engine, seized: Path, out: Path) -> dict[str, TriageRow]:
    triage(seized, out, engine, workers=1, matcher=CatalogueMatcher.open(engine, cache=out.parent / f"{out.name}-index"))
    state = TriageState(out / STATE_FILE)
    rows = {row.path: row for row in state.rows()}
    state.close()
    return rows


def test_variants_of_a_known_video_are_known_and_unrelated_footage_is_new(footage: tuple[Path, Path], engine: sa.Engine, tmp_path: Path) -> None:
    known, seized = footage
    [outcome] = contribute(engine, [known], ContributionRequest(series="Kestrel"), workers=1)
    rows = triaged(engine, seized, tmp_path / "out")
    for name in ("24fps.mp4", "letterboxed-25fps.mp4", "pillarboxed.mp4", "sd-grey.mp4", "logo.mp4"):
        assert rows[name].status == KNOWN_UNIDENTIFIED, (name, rows[name])
        [match] = rows[name].matches
        assert match.media_id == outcome.media_id and match.signal == "vpdq"
        assert max(match.query_share or 0, match.known_share or 0) >= 0.8, (name, match)
    assert rows["unrelated.mp4"].status == NEW and rows["unrelated-letterboxed.mp4"].status == NEW


def test_a_letterboxed_known_video_is_found_by_its_copy_without_bars(footage: tuple[Path, Path], engine: sa.Engine, tmp_path: Path) -> None:
    known, seized = footage
    contribute(engine, [seized / "letterboxed-25fps.mp4"], ContributionRequest(series="Kestrel"), workers=1)
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "plain.mp4").write_bytes(known.read_bytes())
    assert triaged(engine, copy, tmp_path / "out")["plain.mp4"].status == KNOWN_UNIDENTIFIED


def test_frame_variants_are_stored_but_never_leave_as_reference_hashes(footage: tuple[Path, Path], engine: sa.Engine) -> None:
    known, _ = footage
    contribute(engine, [known], ContributionRequest(series="Kestrel"), workers=1)
    with sa.orm.Session(engine) as session:
        signals = set(session.scalars(sa.select(MediaSignal.signal).distinct()))
    # Hash lists and exchange exports select rows by registered signal name: "vpdq" only.
    assert {"vpdq", "vpdq-top", "vpdq-bottom", "vpdq-left", "vpdq-right"} <= signals


@pytest.fixture(scope="module")
def samples() -> Path:
    if not SAMPLE_VIDEOS.is_dir():
        pytest.skip(f"{SAMPLE_VIDEOS} is absent (the ThreatExchange sample videos; see ../shared/testdata/README.md)")
    return SAMPLE_VIDEOS


def test_sample_videos_of_one_scene_are_known_against_another_and_doorknob_never(samples: Path, tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'catalogue.sqlite'}")
    migrate(engine)
    chair = contribute(engine, [samples / "chair-22-sd-sepia-bar.mp4"], ContributionRequest(series="chair"), workers=1)[0].media_id
    pattern = contribute(engine, [samples / "pattern-hd-no-bar.mp4"], ContributionRequest(series="pattern"), workers=1)[0].media_id
    seized = tmp_path / "seized"
    seized.mkdir()
    for name in ("chair-19-sd-bar", "chair-22-with-large-logo-bar", "pattern-sd-grey-bar", "pattern-sd-with-large-logo-bar", "doorknob-hd-no-bar"):
        (seized / f"{name}.mp4").write_bytes((samples / f"{name}.mp4").read_bytes())
    rows = triaged(engine, seized, tmp_path / "out")
    engine.dispose()
    found = {name: [match.media_id for match in row.matches] for name, row in rows.items()}
    assert found == {
        "chair-19-sd-bar.mp4": [chair],
        "chair-22-with-large-logo-bar.mp4": [chair],
        "pattern-sd-grey-bar.mp4": [pattern],
        "pattern-sd-with-large-logo-bar.mp4": [pattern],
        "doorknob-hd-no-bar.mp4": [],
    }
