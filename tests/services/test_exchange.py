"""The exchange service's category rules on SQLite and PostgreSQL: a record that states no
category is imported uncategorised and never reaches a platform's hash list; `default_category`
fills in only records that state none, only when given; an uncategorised item takes the first
category stated later (by a record, or by the contributor of its file); triage reports say
"uncategorised"."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import sqlalchemy as sa

from mediamatch.interop.records import ExchangeRecord
from mediamatch.services.contribute import ContributionRequest, contribute
from mediamatch.services.exchange import ExportRequest, ImportRequest, export_file, import_file, import_records
from mediamatch.services.hashlists import ListFilter, read_sections, set_consent
from mediamatch.services.matching import CatalogueMatcher
from mediamatch.services.samples import generated_picture
from mediamatch.services.triage import STATE_FILE, TriageState, triage
from mediamatch.services.triage_report import write_reports
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import MediaItem, MediaSignal

CONTEXT_20 = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"
MD5 = [f"{n:032x}" for n in range(1, 10)]
EVERY_CATEGORY = ListFilter(categories=(1, 2, 3, 4), signals=("md5",))


def categories(engine: sa.Engine) -> dict[str, int | None]:
    with session_scope(engine) as session:
        return {md5: category for md5, category in session.execute(sa.select(MediaItem.md5, MediaItem.category))}  # noqa: C416 - dict() would read a Result as a mapping


def listed_md5s(engine: sa.Engine, list_filter: ListFilter = EVERY_CATEGORY) -> set[str]:
    ids = set(read_sections(engine, list_filter)[("entries", "md5")].ids.tolist())
    with session_scope(engine) as session:
        return set(session.scalars(sa.select(MediaSignal.value).where(MediaSignal.id.in_(ids))))


def test_records_without_a_category_stay_out_of_every_hash_list(engine: sa.Engine, tmp_path: Path) -> None:
    """A writer that leaves out Category for category 0 (non-pertinent) must not put those
    files on a platform's list as abuse material."""
    path = tmp_path / "set.json"
    path.write_text(json.dumps({"@odata.context": CONTEXT_20, "value": [
        {"MD5": MD5[0], "Category": 1}, {"MD5": MD5[1]}, {"MD5": MD5[2], "Category": None}, {"MD5": MD5[3], "Category": 0},
    ]}))  # fmt: skip
    summary = import_file(engine, path, "vics", ImportRequest(agency="Sharing unit"))
    assert (summary.imported, summary.uncategorised, summary.error_count) == (4, 2, 0)
    assert categories(engine) == {MD5[0]: 1, MD5[1]: None, MD5[2]: None, MD5[3]: 0}
    with session_scope(engine) as session:
        set_consent(session, "Sharing unit", True, actor="admin", actor_agency="Hotline")
    assert listed_md5s(engine) == {MD5[0]}
    assert listed_md5s(engine, ListFilter(signals=("md5",))) == {MD5[0]}


def test_the_default_category_fills_in_only_records_that_state_none(engine: sa.Engine) -> None:
    records = [ExchangeRecord(md5=MD5[0], category=3), ExchangeRecord(md5=MD5[1]), ExchangeRecord(md5=MD5[2], category=0)]
    summary = import_records(engine, records, ImportRequest(agency="US unit", default_category=2))
    assert (summary.imported, summary.uncategorised) == (3, 0)
    assert categories(engine) == {MD5[0]: 3, MD5[1]: 2, MD5[2]: 0}


def test_an_uncategorised_item_takes_the_first_category_stated_later(engine: sa.Engine, tmp_path: Path) -> None:
    picture = tmp_path / "scene.jpg"
    generated_picture(7, (160, 120)).save(picture, "JPEG", quality=90)
    picture_md5 = hashlib.md5(picture.read_bytes()).hexdigest()
    first = import_records(
        engine, [ExchangeRecord(md5=MD5[0]), ExchangeRecord(md5=MD5[1], category=2), ExchangeRecord(md5=picture_md5)], ImportRequest(agency="A")
    )
    assert (first.imported, first.uncategorised) == (3, 2)
    again = import_records(
        engine,
        [ExchangeRecord(md5=MD5[0], category=4), ExchangeRecord(md5=MD5[1], category=1), ExchangeRecord(md5=MD5[0], category=1)],
        ImportRequest(agency="B"),
    )
    assert (again.merged, again.uncategorised) == (3, 0)
    assert categories(engine)[MD5[0]] == 4 and categories(engine)[MD5[1]] == 2  # the first stated category stays

    outcomes = contribute(engine, [picture], ContributionRequest(series="Lark", category=3, agency="NL unit"), workers=1)
    assert [outcome.error for outcome in outcomes] == [None]
    assert categories(engine)[picture_md5] == 3  # the contributor of the file categorised it


def test_an_uncategorised_item_is_exported_without_a_category(engine: sa.Engine, tmp_path: Path) -> None:
    import_records(engine, [ExchangeRecord(md5=MD5[0]), ExchangeRecord(md5=MD5[1], category=0)], ImportRequest(agency="A"))
    for fmt, options in (("vics", {"vics-version": "1.3"}), ("vics", {}), ("csv", {})):
        out = tmp_path / f"out-{fmt}-{len(options)}"
        assert export_file(engine, out, ExportRequest(format=fmt, options=options)).written == 2
        text = out.read_text()
        if fmt == "vics":
            media = {entry["MD5"].lower(): entry for entry in json.loads(text)["value"]}
            assert "Category" not in media[MD5[0]] and media[MD5[1]]["Category"] == 0
        else:
            assert text.splitlines()[1:] == [f"1,{MD5[0]},,,,,,false", f"2,{MD5[1]},,,,,0,false"]


def test_triage_reports_an_uncategorised_item_as_uncategorised(engine: sa.Engine, tmp_path: Path) -> None:
    seized = tmp_path / "seized"
    seized.mkdir()
    generated_picture(11, (160, 120)).save(seized / "found.jpg", "JPEG", quality=90)
    import_records(engine, [ExchangeRecord(md5=hashlib.md5((seized / "found.jpg").read_bytes()).hexdigest())], ImportRequest(agency="A"))
    out = tmp_path / "triage"
    triage(seized, out, engine, workers=1, matcher=CatalogueMatcher.open(engine, cache=tmp_path / "pdq-index"))
    state = TriageState(out / STATE_FILE)
    try:
        paths = write_reports(state, out)
    finally:
        state.close()
    [row] = json.loads(paths["json"].read_text())["files"]
    assert [(match["category"], match["category_label"]) for match in row["matches"]] == [(None, "uncategorised")]
    assert "uncategorised" in paths["html"].read_text()
