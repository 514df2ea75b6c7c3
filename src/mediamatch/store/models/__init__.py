"""All table modules, imported so `Base.metadata` describes the whole schema."""

from mediamatch.store.models import (  # noqa: F401
    audit,
    auth,
    catalogue,
    collaboration,
    embeddings,
    enrolment,
    exchange,
    hashlists,
    review,
    server,
    similarity,
    triage_runs,
    wellness,
)
from mediamatch.store.models.base import Base

__all__ = ["Base"]
