"""All table modules, imported so `Base.metadata` describes the whole schema."""

from mediamatch.store.models import audit, auth, catalogue, collaboration, enrolment, exchange, hashlists, review, server, similarity, triage_runs, wellness  # noqa: F401
from mediamatch.store.models.base import Base

__all__ = ["Base"]
