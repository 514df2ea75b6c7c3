"""`mediamatch clues export` and `mediamatch stats`: what leaves with a series, and the figures as CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from mediamatch.catalog.collaboration import Box
from mediamatch.cli.main import app
from mediamatch.services import clues, investigations
from mediamatch.store.db import session_scope
from mediamatch.store.models.audit import AuditEventRow
from tests.collaboration_fixtures import SERIES, small_catalogue


@pytest.fixture
def db_file(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'catalogue.sqlite'}"


def test_clues_export_writes_shared_notes_and_vics_comments_but_never_own_agency_clues(db_file: str, tmp_path: Path) -> None:
    from mediamatch.store.db import migrate, open_engine

    engine = open_engine(db_file)
    migrate(engine)
    catalogue = small_catalogue(engine, tmp_path)
    a, b = catalogue.actors["A"], catalogue.actors["B"]
    with session_scope(engine) as session:
        pinned = clues.add_clue(
            session, a, clues.ClueInput(SERIES, "object", "Type J socket", media_id=catalogue.media_ids[0], box=Box(1, 2, 30, 40), country="CH")
        )
        clues.edit_clue(session, pinned.id, a, {"confidence": 90})
        clues.add_comment(session, b, "seen in Basel", clue_id=pinned.id)
        clues.add_clue(session, a, clues.ClueInput(SERIES, "language", "private dialect note", visibility="agency"))
        clues.add_clue(session, b, clues.ClueInput(SERIES, "landscape", "alpine view"))
        clues.add_comment(session, b, "series-wide remark", series=SERIES)
        claim = investigations.claim(session, a, series=SERIES, case_reference="NL-1", contact="desk").investigation
        investigations.end(session, claim.id, a, "closed", "victim identified")
    engine.dispose()

    result = CliRunner().invoke(app, ["clues", "export", SERIES, "--out", str(tmp_path / "notes.json"), "--vics", str(tmp_path / "lark.json"), "--db", db_file])
    assert result.exit_code == 0, result.output
    notes = json.loads((tmp_path / "notes.json").read_text())
    assert (notes["format"], notes["version"], notes["series"]) == ("mediamatch-series-notes", 1, SERIES)
    assert [clue["text"] for clue in notes["clues"]] == ["Type J socket", "alpine view"]
    assert "private dialect note" not in (tmp_path / "notes.json").read_text() + (tmp_path / "lark.json").read_text()
    first = notes["clues"][0]
    assert first["box"] == {"left": 1, "top": 2, "width": 30, "height": 40} and first["confidence"] == 90
    assert [r["before"]["confidence"] for r in first["revisions"]] == [50] and [c["body"] for c in first["comments"]] == ["seen in Basel"]
    assert [c["body"] for c in notes["comments"]] == ["series-wide remark"]
    assert [(i["agency"], i["end_kind"], i["end_reason"]) for i in notes["investigations"]] == [("Unit NL", "closed", "victim identified")]
    media = json.loads((tmp_path / "lark.json").read_text())["value"]
    comments = [m.get("Comments") for m in media]
    assert len(media) == 2 and comments.count(None) == 1
    assert next(c for c in comments if c).startswith("[object, CH, 90%, box 1,2,30x40] Type J socket (Unit NL, ")
    engine = sa.create_engine(db_file)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(AuditEventRow).where(AuditEventRow.action == "export")) == 1
    missing = CliRunner().invoke(app, ["clues", "export", "No such series", "--out", str(tmp_path / "x.json"), "--db", db_file])
    assert missing.exit_code == 2 and "no series" in missing.output


def test_stats_as_csv(db_file: str, tmp_path: Path) -> None:
    from mediamatch.store.db import migrate, open_engine

    engine = open_engine(db_file)
    migrate(engine)
    small_catalogue(engine, tmp_path)
    engine.dispose()
    result = CliRunner().invoke(app, ["stats", "--csv", "--db", db_file])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["statistic", "month", "label", "country", "count"] and [row[0] for row in rows[1:]] == ["series_added"]
    assert CliRunner().invoke(app, ["stats", "--csv", "--json", "--db", db_file]).exit_code == 2
    table = CliRunner().invoke(app, ["stats", "--db", db_file])
    assert table.exit_code == 0 and "series_added" in table.output
