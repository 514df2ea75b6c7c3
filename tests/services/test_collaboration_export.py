"""A series' clues leave in VICS `Comments` and come back in: the round trip from one
catalogue to another loses nothing the format carries."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import sqlalchemy as sa

from mediamatch.auth.permissions import Role
from mediamatch.catalog.collaboration import Actor, Box
from mediamatch.interop.vics import read_vics
from mediamatch.services import clues
from mediamatch.services.collaboration_export import write_series_vics
from mediamatch.services.exchange import ExportRequest, ImportRequest, export_file, import_file
from mediamatch.store import repo
from mediamatch.store.db import migrate, open_engine, session_scope
from mediamatch.store.models.auth import User
from mediamatch.store.models.catalogue import MediaItem
from tests.collaboration_fixtures import NO_LOGIN, SERIES, small_catalogue


def records_of(path: Path) -> dict[str, dict[str, object]]:
    """Every field the VICS reader takes from a file, by MD5 (the position in the file aside)."""
    with path.open("rb") as stream:
        found = [dataclasses.asdict(record) for record in read_vics(stream)]
    return {str(fields["md5"]): {name: value for name, value in fields.items() if name != "position"} for fields in found}


def test_clues_pinned_to_pictures_travel_in_vics_comments_and_come_back(engine: sa.Engine, tmp_path: Path) -> None:
    sender = small_catalogue(engine, tmp_path)
    a = sender.actors["A"]
    pinned = sender.media_ids[0]
    with session_scope(engine) as session:
        clues.add_clue(
            session, a, clues.ClueInput(SERIES, "object", "Type J wall socket", media_id=pinned, box=Box(10, 20, 30, 40), country="CH", confidence=70)
        )
        clues.add_clue(session, a, clues.ClueInput(SERIES, "language", "Swiss German on a poster", media_id=pinned))
        clues.add_clue(session, a, clues.ClueInput(SERIES, "product", "unit's own lead", media_id=pinned, visibility="agency"))
        clues.add_clue(session, a, clues.ClueInput(SERIES, "landscape", "alpine lake, whole series"))
    sent = tmp_path / "sent.json"
    assert write_series_vics(engine, SERIES, sent) == 2

    sent_records = records_of(sent)
    comments = {md5: fields["comments"] for md5, fields in sent_records.items()}
    pinned_md5 = next(md5 for md5, text in comments.items() if text)
    lines = str(comments[pinned_md5]).splitlines()
    assert len(lines) == 2 and lines[0].startswith("[object, CH, 70%, box 10,20,30x40] Type J wall socket (Unit NL, ")
    assert lines[1].startswith("[language, 50%] Swiss German on a poster (Unit NL, ")
    assert sorted(comments.values(), key=bool) == [None, comments[pinned_md5]]  # own-agency and series-level clues stay home

    receiver = open_engine(f"sqlite:///{tmp_path / 'receiver.sqlite'}")
    migrate(receiver)
    summary = import_file(receiver, sent, "vics", ImportRequest(agency="Unit DE", country="DE"))
    assert (summary.imported, summary.errors) == (2, [])
    returned = tmp_path / "returned.json"
    export_file(receiver, returned, ExportRequest(format="vics", series=SERIES))
    assert records_of(returned) == sent_records  # every field, the clue lines in Comments included

    with session_scope(receiver) as session:  # the receiver adds its own clue: what came in stays beside it
        agency = repo.get_or_create_agency(session, "Unit DE", "DE")
        user = User(agency=agency, username="investigator@d", password_hash=NO_LOGIN, role=Role.INVESTIGATOR)
        session.add(user)
        session.flush()
        item_id = session.scalar(sa.select(MediaItem.id).where(MediaItem.md5 == pinned_md5))
        clues.add_clue(session, Actor(user.id, user.username, agency.id), clues.ClueInput(SERIES, "clothing", "school uniform, green", media_id=item_id))
    onward = tmp_path / "onward.json"
    write_series_vics(receiver, SERIES, onward)
    receiver.dispose()
    onward_lines = str(records_of(onward)[pinned_md5]["comments"]).splitlines()
    assert len(onward_lines) == 3 and onward_lines[:2] == lines and onward_lines[2].startswith("[clothing, 50%] school uniform, green (Unit DE, ")
    assert json.loads(onward.read_text(encoding="utf-8"))["value"][0]["MD5"]  # still a VICS file
