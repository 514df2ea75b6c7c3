"""Contributing real image files: distinct content is stored once, a repeat upload becomes
contributions that say who had it first, a corrupt file is reported without stopping the rest,
nothing is created for an upload of which nothing could be stored, and a re-run after an
interruption records no file twice.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from mediamatch.catalog.hashes import BytesSource
from mediamatch.services import contribute as contribute_module
from mediamatch.services.contribute import ContributionRequest, contribute
from mediamatch.store import repo
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import Agency, Case, Contribution, MediaItem, MediaSignal, Series, Victim


def make_jpegs(folder: Path, count: int) -> list[Path]:
    """Small, distinct JPEGs: gradients with a per-file offset so every file has its own bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        image = Image.new("RGB", (64, 48))
        image.putdata([((x * 4 + i * 37) % 256, (y * 5) % 256, (x * y + i * 11) % 256) for y in range(48) for x in range(64)])
        path = folder / f"img{i}.jpg"
        image.save(path, "JPEG", quality=90)
        paths.append(path)
    return paths


def counts(engine: sa.Engine) -> tuple[int, int]:
    with session_scope(engine) as session:
        items = session.scalar(sa.select(sa.func.count()).select_from(MediaItem))
        contributions = session.scalar(sa.select(sa.func.count()).select_from(Contribution))
    return items or 0, contributions or 0


def test_contributing_the_same_files_twice_stores_each_once(engine: sa.Engine, tmp_path: Path) -> None:
    files = make_jpegs(tmp_path / "upload", 3)
    first = contribute(engine, files, ContributionRequest(series="Sunrise", agency="nl-police", case="NL-1"), workers=1)
    assert [o.status for o in first] == ["added"] * 3
    assert [o.path for o in first] == [str(f) for f in files]  # input order
    assert [o.sha256 for o in first] == [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
    assert all(o.known_from == () and not o.victim_identified for o in first)
    assert counts(engine) == (3, 3)

    second = contribute(engine, files, ContributionRequest(series="Sunrise", agency="de-bka", case="DE-7", victim_identified=True), workers=2)
    assert [o.status for o in second] == ["known"] * 3
    assert [o.media_id for o in second] == [o.media_id for o in first]
    assert all(o.known_from == ("nl-police (NL-1)",) and o.victim_identified for o in second)
    assert counts(engine) == (3, 6)
    with session_scope(engine) as session:
        pdq_rows = session.scalars(sa.select(MediaSignal).where(MediaSignal.signal == "pdq")).all()
        assert len(pdq_rows) == 3 and all(len(row.value) == 64 and row.quality is not None for row in pdq_rows)
        item = session.get(MediaItem, first[0].media_id)
        assert item is not None and (item.width, item.height, item.media_type) == (64, 48, "image/jpeg")
        [summary] = repo.list_series(session)
        assert (summary.name, summary.items, summary.agencies, summary.victims_identified) == ("Sunrise", 3, 2, 1)


def test_a_corrupt_file_is_an_error_outcome_and_the_rest_are_stored(engine: sa.Engine, tmp_path: Path) -> None:
    good = make_jpegs(tmp_path, 2)
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(good[0].read_bytes()[:200])  # a JPEG header with its image data cut off
    missing = tmp_path / "missing.jpg"
    outcomes = contribute(engine, [good[0], corrupt, missing, good[1]], ContributionRequest(series="Mixed", category=2, baseline=True), workers=1)
    assert [o.status for o in outcomes] == ["added", "error", "error", "added"]
    assert outcomes[1].path == str(corrupt) and outcomes[1].error and outcomes[1].media_id is None
    assert outcomes[2].error == "file not found"
    assert counts(engine) == (2, 2)
    with session_scope(engine) as session:
        stored = repo.lookup_exact(session, "sha256", [hashlib.sha256(corrupt.read_bytes()).hexdigest()])
        assert stored == {}  # the corrupt file's digest never entered the catalogue
        details = repo.match_details(session, [outcomes[0].media_id, outcomes[3].media_id])  # type: ignore[list-item]
        assert all(d.category == 2 and d.baseline and d.series == ("Mixed",) for d in details.values())


def test_outcomes_are_reported_as_they_are_stored_across_batches(engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contribute_module, "COMMIT_EVERY", 2)
    files = make_jpegs(tmp_path, 3)
    sources = [*files, BytesSource(name="archive.zip/img0.jpg", data=files[0].read_bytes())]
    seen: list[str] = []
    outcomes = contribute(engine, sources, ContributionRequest(series="Batched"), workers=1, on_outcome=lambda o: seen.append(o.status))
    assert seen == [o.status for o in outcomes] == ["added", "added", "added", "known"]
    assert outcomes[3].media_id == outcomes[0].media_id and outcomes[3].known_from == ("local",)
    assert counts(engine) == (3, 4)


def test_an_unknown_category_is_refused_before_anything_is_stored(engine: sa.Engine, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        contribute(engine, make_jpegs(tmp_path, 1), ContributionRequest(series="Bad", category=5), workers=1)
    assert counts(engine) == (0, 0)


def test_a_contribution_of_which_nothing_could_be_stored_creates_no_series_agency_or_case(engine: sa.Engine, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    request = ContributionRequest(series="Empty", agency="nl-police", country="NL", case="NL-9", victim_identified=True)
    assert [o.status for o in contribute(engine, [corrupt, tmp_path / "missing.jpg"], request, workers=1)] == ["error", "error"]
    with session_scope(engine) as session:
        assert session.scalars(sa.select(Series.name)).all() == []
        assert session.scalars(sa.select(Agency.name)).all() == []
        assert session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(Victim)) == 0


def test_a_rerun_after_an_interruption_records_each_file_once(engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contribute_module, "COMMIT_EVERY", 2)
    files = make_jpegs(tmp_path, 5)
    request = ContributionRequest(series="Kestrel", agency="nl-police", case="NL-1")
    real_hash_many = contribute_module.hash_many

    def killed_after_three(*args, **kwargs):  # type: ignore[no-untyped-def]
        for n, record in enumerate(real_hash_many(*args, **kwargs), start=1):
            if n == 4:
                raise KeyboardInterrupt  # stopped while hashing the second batch's second file
            yield record

    monkeypatch.setattr(contribute_module, "hash_many", killed_after_three)
    with pytest.raises(KeyboardInterrupt):
        contribute(engine, files, request, workers=1)
    assert counts(engine) == (2, 2)  # the first batch was committed
    monkeypatch.setattr(contribute_module, "hash_many", real_hash_many)

    rerun = contribute(engine, files, request, workers=1)
    assert [o.status for o in rerun] == ["known", "known", "added", "added", "added"]
    assert counts(engine) == (5, 5)
    assert [o.status for o in contribute(engine, files, request, workers=1)] == ["known"] * 5
    assert counts(engine) == (5, 5)

    # Genuinely new contributions still count: another case, another series, another agency, another file name.
    contribute(engine, files[:1], ContributionRequest(series="Kestrel", agency="nl-police", case="NL-2"), workers=1)
    contribute(engine, files[:1], ContributionRequest(series="Osprey", agency="nl-police", case="NL-1"), workers=1)
    contribute(engine, files[:1], ContributionRequest(series="Kestrel", agency="de-bka", case="NL-1"), workers=1)
    contribute(engine, [BytesSource(name="renamed.jpg", data=files[0].read_bytes())], request, workers=1)
    assert counts(engine) == (5, 9)
