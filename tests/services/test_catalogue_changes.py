"""catalogue_changed: every live matcher of the changed catalogue is invalidated, and a change
made in a session only once it is committed.

Why after the commit: a matcher invalidated while the change is still uncommitted could catch
up at once, see nothing new, and then never learn of the change.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from mediamatch.catalog.hashes import HashRecord
from mediamatch.media.hashing import hash_source
from mediamatch.services.catalogue_changes import ChangeWatch, catalogue_changed, follow_changes
from mediamatch.services.matching import CatalogueMatcher
from mediamatch.services.samples import generated_picture
from mediamatch.store.db import migrate, open_engine


class Listener:
    def __init__(self) -> None:
        self.invalidated = 0

    def invalidate(self) -> None:
        self.invalidated += 1


def test_listeners_of_the_same_catalogue_are_invalidated(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    first, second, other = Listener(), Listener(), Listener()
    follow_changes(create_engine(url), first)
    follow_changes(create_engine(url), second)  # another engine on the same database
    follow_changes(create_engine(f"sqlite:///{tmp_path / 'b.sqlite'}"), other)
    catalogue_changed(create_engine(url))
    assert (first.invalidated, second.invalidated, other.invalidated) == (1, 1, 0)


def test_a_session_change_invalidates_on_commit_only(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'c.sqlite'}")
    listener = Listener()
    follow_changes(engine, listener)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    with Session(engine) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        catalogue_changed(session)
        assert listener.invalidated == 0
        session.rollback()  # nothing changed; the next commit stands for the change
        assert listener.invalidated == 0
        session.execute(text("INSERT INTO t VALUES (2)"))
        session.commit()
        assert listener.invalidated == 1
        session.execute(text("INSERT INTO t VALUES (3)"))
        session.commit()
        assert listener.invalidated == 1  # once per change, not on every later commit


def test_listeners_are_held_weakly(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'd.sqlite'}")
    kept, dropped = Listener(), Listener()
    follow_changes(engine, kept)
    follow_changes(engine, dropped)
    del dropped
    gc.collect()
    catalogue_changed(engine)  # the dropped one is simply gone
    assert kept.invalidated == 1


def test_a_matcher_sees_what_another_process_added(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """How the workers of `serve --workers N` stay current: each keeps its own matcher, and a
    change made by another process reaches it through the catalogue's change stamp."""
    monkeypatch.setenv("MEDIAMATCH_HOME", str(tmp_path / "home"))
    picture = tmp_path / "known.jpg"
    generated_picture(4, (320, 240)).save(picture, "JPEG", quality=92)
    pdq = hash_source(picture).value("pdq")
    engine = open_engine(db_url)
    migrate(engine)
    matcher = CatalogueMatcher.open(engine)
    by_pdq = [HashRecord(path="near", signals={"pdq": pdq}, qualities={"pdq": 100})]
    assert matcher.match(by_pdq) == [[]]
    other = subprocess.run(
        [sys.executable, "-c", "from mediamatch.cli.main import app; app()", "db", "add", str(picture), "--series", "Lark", "--db", db_url],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert other.returncode == 0, other.stderr
    assert [[match.series for match in matches] for matches in matcher.match(by_pdq)] == [[("Lark",)]]
    assert not ChangeWatch(engine).changed()  # nothing new since
    engine.dispose()
