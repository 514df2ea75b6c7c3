"""Where mediamatch keeps its data when the user does not say.

Settings are read when a command runs, never at import, so tests and servers can point one
process at several databases.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

DB_ENV_VAR = "MEDIAMATCH_DB"


def data_dir() -> Path:
    """The per-user folder for the embedded catalogue (created on first use)."""
    path = Path(os.environ.get("MEDIAMATCH_HOME") or user_data_dir("mediamatch", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_url() -> str:
    """`$MEDIAMATCH_DB`, else a SQLite file in the user's data folder."""
    return os.environ.get(DB_ENV_VAR) or f"sqlite:///{data_dir() / 'catalogue.sqlite'}"
