"""All table modules, imported so `Base.metadata` describes the whole schema."""

from mediamatch.store.models import audit, auth, catalogue, hashlists, review, server, similarity  # noqa: F401
from mediamatch.store.models.base import Base

__all__ = ["Base"]
