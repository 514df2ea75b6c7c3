"""The server's one catalogue matcher and one similarity matcher, shared by the API's routes and
the browser workspace's pages.

Each is opened on first use (from the index saved beside the catalogue, caught up) and kept in
the server's state, so a page and an API call of the same process search the same index and
see the same catalogue changes (services/catalogue_changes.py). The front ends cannot import
each other's helpers (api imports web), so the one way to reach them lives here.
"""

from __future__ import annotations

import threading
from typing import Protocol

from sqlalchemy import Engine

from mediamatch.services.matching import CatalogueMatcher
from mediamatch.services.similar import SimilarityMatcher


class MatcherHolder(Protocol):
    """Where a server keeps its matchers (the FastAPI app's state)."""

    engine: Engine
    matcher: CatalogueMatcher | None
    similar: SimilarityMatcher | None
    matcher_opening: threading.Lock


def catalogue_matcher_of(holder: MatcherHolder) -> CatalogueMatcher:
    """The server's catalogue matcher, opened once even when two first queries come at once."""
    with holder.matcher_opening:
        if holder.matcher is None:
            holder.matcher = CatalogueMatcher.open(holder.engine)
    return holder.matcher


def similarity_matcher_of(holder: MatcherHolder) -> SimilarityMatcher:
    """The server's similarity matcher, opened once like the catalogue matcher."""
    with holder.matcher_opening:
        if holder.similar is None:
            holder.similar = SimilarityMatcher.open(holder.engine)
    return holder.similar
