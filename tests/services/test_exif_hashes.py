"""A picture that EXIF orientation turns: its PDQ as stored leaves the catalogue (exports, hash
lists), its PDQ as displayed is stored beside it and searched, and a match says which matched."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from mediamatch.catalog.hashes import DISPLAYED
from mediamatch.interop.csvlists import read_csv_list
from mediamatch.media.hashing import hash_bytes, hash_source
from mediamatch.services.contribute import ContributionRequest, contribute
from mediamatch.services.exchange import ExportRequest, export_file
from mediamatch.services.hashlists import ListFilter, read_sections, set_consent
from mediamatch.services.matching import CatalogueMatcher
from mediamatch.services.samples import generated_picture
from mediamatch.signals.pdq import PDQSignal
from mediamatch.store import repo
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import MediaSignal

PDQ = PDQSignal.name


def jpeg(image: Image.Image, orientation: int | None = None) -> bytes:
    buffer = io.BytesIO()
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    image.save(buffer, "JPEG", quality=92, exif=exif)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same photo three ways: stored sideways with orientation 6 (a phone photo), re-saved
    upright without EXIF (what an app that applies the orientation writes), and an unrelated one."""
    folder = tmp_path_factory.mktemp("exif")
    upright = generated_picture(11, (640, 480))
    files = {
        "phone.jpg": jpeg(upright.transpose(Image.Transpose.ROTATE_90), orientation=6),
        "upright.jpg": jpeg(upright),
        "other.jpg": jpeg(generated_picture(12, (640, 480))),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: folder / name for name in files}


def test_a_turned_picture_is_hashed_as_stored_and_as_displayed(pictures: dict[str, Path]) -> None:
    phone, upright = hash_source(pictures["phone.jpg"]), hash_source(pictures["upright.jpg"])
    assert (phone.width, phone.height) == (640, 480)  # the displayed size
    shown, quality = phone.displayed[PDQ]
    assert PDQSignal.distance(shown, upright.value(PDQ) or "") <= 8 and quality == phone.quality(PDQ)
    assert PDQSignal.distance(phone.value(PDQ) or "", upright.value(PDQ) or "") > 60  # as stored: sideways
    assert not upright.displayed and phone.to_json()[f"{PDQ}_displayed"] == shown


def test_both_hashes_are_stored_only_the_stored_one_is_exported(engine: sa.Engine, pictures: dict[str, Path], tmp_path: Path) -> None:
    contribute(engine, [pictures["phone.jpg"]], ContributionRequest(series="Lark"), workers=1)
    phone = hash_source(pictures["phone.jpg"])
    with session_scope(engine) as session:
        rows = session.execute(sa.select(MediaSignal.value, MediaSignal.displayed).where(MediaSignal.signal == PDQ)).all()
        assert sorted(rows, key=lambda row: row[1]) == [(phone.value(PDQ), False), (phone.displayed[PDQ][0], True)]
        media_id, stored_row = session.execute(sa.select(MediaSignal.media_id, MediaSignal.id).where(MediaSignal.value == phone.value(PDQ))).one()
        assert repo.indicator_ids(session, [(media_id, PDQ, None)]) == {(media_id, PDQ, None): stored_row}  # what hash lists publish
    export_file(engine, tmp_path / "list.txt", ExportRequest(format="csv", options={"csv-layout": "signals"}))
    exported = [record.pdq for record in read_csv_list(io.StringIO((tmp_path / "list.txt").read_text())) if getattr(record, PDQ, None)]
    assert exported == [phone.value(PDQ)]
    with session_scope(engine) as session:
        set_consent(session, repo.DEFAULT_AGENCY, True, actor="op", actor_agency="Hotline")
    section = read_sections(engine, ListFilter(signals=(PDQ,)))[("entries", PDQ)]
    assert [bytes(row).hex() for row in section.hashes] == [phone.value(PDQ)] and section.ids.tolist() == [stored_row]


def test_searches_use_both_and_say_which_matched(engine: sa.Engine, pictures: dict[str, Path], tmp_path: Path) -> None:
    contribute(engine, [pictures["upright.jpg"]], ContributionRequest(series="Lark"), workers=1)
    matcher = CatalogueMatcher.open(engine, cache=tmp_path / "index")
    phone, upright, other = (hash_bytes(pictures[name].read_bytes(), name) for name in ("phone.jpg", "upright.jpg", "other.jpg"))
    found = matcher.match([phone, upright, other])
    assert [len(matches) for matches in found] == [1, 1, 0]
    assert found[0][0].transform == DISPLAYED and found[0][0].distance <= 8  # the phone photo matched as displayed
    assert found[1][0].transform == "" and found[1][0].distance == 0

    contribute(engine, [pictures["phone.jpg"]], ContributionRequest(series="Wren"), workers=1)
    matcher.invalidate()
    # the upright copy now also finds the phone photo, by its stored displayed hash (one hash, no flips)
    single = matcher.match([hash_bytes(pictures["upright.jpg"].read_bytes(), "upright.jpg")])[0]
    assert {tuple(match.series) for match in single} == {("Lark",), ("Wren",)}
