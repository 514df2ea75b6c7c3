"""Where mediamatch keeps its data when the user does not say.

Settings are read when a command runs, never at import, so tests and servers can point one
process at several databases.
"""

from __future__ import annotations

import hashlib
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


def url_key(url: str) -> str:
    """A short fixed-length key of a database URL: names an index file, and says in its state
    which catalogue the index was built from."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def index_file_for(url: str, suffix: str) -> Path:
    """Where an index built from the catalogue at `url` is kept between runs (`suffix` says which
    index): beside a SQLite file, else in the user's data folder under a key of the URL."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url.removeprefix("sqlite:///") + suffix)
    return data_dir() / "index-cache" / f"{url_key(url)}{suffix}"
