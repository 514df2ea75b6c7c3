"""Telling the long-lived catalogue matchers of this process that the catalogue changed.

A server keeps one `CatalogueMatcher` for its whole life (its PDQ index takes long to build);
it must catch up after media are added and forget the item details it cached after an
identification or a correction. The services that make such changes (contributing,
importing, marking identified, correcting metadata) call `catalogue_changed`; every matcher
opened on the same catalogue is then invalidated and catches up before its next answer. No
front end has to remember to do it, and a process without a live matcher (a CLI command)
pays nothing.

Matchers are held weakly: one that is no longer used is simply forgotten.
"""

from __future__ import annotations

import threading
from typing import Protocol
from weakref import WeakSet

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session


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
