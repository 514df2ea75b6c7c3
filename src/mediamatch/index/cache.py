"""A PDQ index kept in a file beside what it was built from, so a restart maps it instead of
building it again.

Both long-lived matchers need this: the catalogue matcher (an index of millions of catalogue
rows: reading them all takes minutes) and the hash-list matcher (16 table sorts of every
hash: seconds at 10M). The file is the index/persist.py format; beside it, its state file
(index/state_file.py) says what the index was built from (`key`: e.g. which catalogue, or
which list's SHA-256) plus whatever the owner needs to catch up (e.g. the last catalogue row it
holds), and the number of hashes, which must agree with the index file.

How a cache is used: `load(key)` gives the saved index when it was built from `key` (else
None: missing, built from something else, damaged or half replaced); the owner then catches
it up (adds what is newer) or builds it anew, and `save()`s it. Saving runs in a background
thread, because writing the tables (640 MB at 10M hashes) takes as long as building them and
the matcher can answer meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

from mediamatch.index.hamming import PDQIndex
from mediamatch.index.persist import IndexFileError, load_index, save_index
from mediamatch.index.state_file import StateFile

SAVER_THREAD = "save-index-cache"
_COUNT = "count"
_saving: dict[Path, threading.Lock] = {}
_saving_guard = threading.Lock()


class IndexCache:
    """The saved index at `path` and its state file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.state = StateFile(path)

    def load(self, key: Mapping[str, object]) -> tuple[PDQIndex, dict[str, object]] | None:
        """(index, state) when the saved index was built from `key` (every item of `key` is in
        its state) and holds the number of hashes its state says; else None."""
        state = self.state.read(key)
        if state is None:
            return None
        try:
            index = load_index(self.path)
        except (OSError, ValueError, IndexFileError):
            return None  # no usable saved index: the owner builds one
        if state.get(_COUNT) != len(index):
            return None
        return index, state

    def save(self, index: PDQIndex, state: Mapping[str, object]) -> threading.Thread:
        """Save `index` with `state` in a background thread (returned, already started).

        The index's pending additions are merged now; the thread writes the merged arrays,
        which later additions replace rather than change, so the owner may keep using and
        growing `index` meanwhile. Not a daemon: a process that exits still finishes the file."""
        index.merge()
        snapshot = PDQIndex()
        snapshot.ids, snapshot.hashes, snapshot.order, snapshot.offsets = index.ids, index.hashes, index.order, index.offsets
        saved_state = {**state, _COUNT: len(snapshot)}
        thread = threading.Thread(target=self._write, args=(snapshot, saved_state), name=SAVER_THREAD)
        thread.start()
        return thread

    def _write(self, index: PDQIndex, state: dict[str, object]) -> None:
        with _lock_for(self.path):  # two saves of one file in this process: one after the other
            self.state.replace(lambda: save_index(index, self.path), state)


def wait_for_saves() -> None:
    """Wait until every background save has finished (for tools and tests that read the files)."""
    for thread in threading.enumerate():
        if thread.name == SAVER_THREAD:
            thread.join()


def _lock_for(path: Path) -> threading.Lock:
    with _saving_guard:
        return _saving.setdefault(path.resolve(), threading.Lock())
