"""The state file beside an index saved next to what it was built from: `<index file>.json`.

Every index kept beside a catalogue or a list (the PDQ index cache, the descriptor, miniature
and embedding indexes) must know at start whether its file is the one it would build: the state
says what it was built from (`key`: which catalogue, which list) and what its owner needs to
catch up (the last catalogue row held, how many entries the file holds, checked against it).
The state is removed before the index files are replaced and written after them, so a crash or
a concurrent reader never pairs a state with other files; a failed write (a read-only folder)
leaves no state, and only costs the next start a rebuild.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

from mediamatch.atomic import atomic_write


class StateFile:
    """The state of the index saved at `index_path`."""

    def __init__(self, index_path: Path) -> None:
        self.index_path = index_path
        self.path = index_path.with_name(index_path.name + ".json")

    def read(self, key: Mapping[str, object]) -> dict[str, object] | None:
        """The state when every item of `key` is in it; None when it is missing, damaged or
        describes an index built from something else."""
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(state, dict) or any(state.get(name) != value for name, value in key.items()):
            return None
        return state

    def replace(self, write_files: Callable[[], None], state: Mapping[str, object]) -> None:
        """Remove the state, write the index files (`write_files`), then write `state`."""
        try:
            self.index_path.parent.mkdir(parents=True, exist_ok=True)
            self.path.unlink(missing_ok=True)
            write_files()
            atomic_write(self.path, json.dumps(dict(state)))
        except OSError:
            pass  # e.g. a read-only folder: the next start builds again
