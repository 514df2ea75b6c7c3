"""Telling the long-lived catalogue matchers of this process that the catalogue changed.

A server keeps one `CatalogueMatcher` for its whole life (its PDQ index takes long to build);
it must catch up after media are added and forget the item details it cached after an
identification or a correction. The services that make such changes (contributing,
importing, marking identified, correcting metadata) call `catalogue_changed`; every matcher
opened on the same catalogue is then invalidated and catches up before its next answer. No
front end has to remember to do it, and a process without a live matcher (a CLI command)
pays nothing.

Matchers are held weakly: one that is no longer used is simply forgotten.

Other processes learn of a change through a stamp file beside the catalogue (or its index
cache): every change writes a new random stamp, and a `ChangeWatch` compares it before each
answer (one small file read, no database round trip). That is how the worker processes of
`mediamatch serve --workers N`, each with its own matcher, see what another worker (or a
`mediamatch db add` on the same machine) changed.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from pathlib import Path
from typing import Protocol
from weakref import WeakSet

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from mediamatch.config import data_dir


class Invalidatable(Protocol):
    def invalidate(self) -> None: ...


_listeners: dict[str, WeakSet[Invalidatable]] = {}
_guard = threading.Lock()


def catalogue_key(engine: Engine) -> str:
    """Which catalogue an engine reaches (two engines on one database share the key)."""
    return engine.url.render_as_string(hide_password=False)


def follow_changes(engine: Engine, listener: Invalidatable) -> None:
    """Invalidate `listener` whenever the catalogue behind `engine` changes."""
    with _guard:
        _listeners.setdefault(catalogue_key(engine), WeakSet()).add(listener)


def catalogue_changed(where: Engine | Session) -> None:
    """The catalogue behind `where` changed. Given a session, the matchers are invalidated once
    its transaction commits: invalidated earlier, one could catch up before the change is
    visible and then miss it."""
    if isinstance(where, Session):
        bind = where.get_bind()
        engine = bind if isinstance(bind, Engine) else bind.engine
        event.listen(where, "after_commit", lambda _: _invalidate(engine), once=True)
    else:
        _invalidate(where)


def _invalidate(engine: Engine) -> None:
    with _guard:
        listeners = list(_listeners.get(catalogue_key(engine), ()))
    for listener in listeners:
        listener.invalidate()
    if (stamp := change_stamp_path(engine)) is not None:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        fresh = stamp.with_name(f"{stamp.name}.{secrets.token_hex(4)}.tmp")
        fresh.write_text(secrets.token_hex(16))
        os.replace(fresh, stamp)  # readers see the old stamp or the new one, never half of one


def change_stamp_path(engine: Engine) -> Path | None:
    """The stamp file of the catalogue behind `engine`; None for one in memory (one process only)."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return Path(f"{url.database}.changed") if url.database and url.database != ":memory:" else None
    return data_dir() / "index-cache" / f"{hashlib.sha256(catalogue_key(engine).encode()).hexdigest()[:16]}.changed"


class ChangeWatch:
    """Whether another process changed the catalogue since this watch last looked."""

    def __init__(self, engine: Engine) -> None:
        self.path = change_stamp_path(engine)
        self.seen = self._read()

    def _read(self) -> str:
        if self.path is None:
            return ""
        try:
            return self.path.read_text()
        except OSError:
            return ""

    def changed(self) -> bool:
        now = self._read()
        moved, self.seen = now != self.seen, now
        return moved
