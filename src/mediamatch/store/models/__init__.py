"""All table modules, imported so `Base.metadata` describes the whole schema."""

from mediamatch.store.models import audit  # noqa: F401
from mediamatch.store.models import auth  # noqa: F401
from mediamatch.store.models import catalogue  # noqa: F401
from mediamatch.store.models import hashlists  # noqa: F401
from mediamatch.store.models import review  # noqa: F401
from mediamatch.store.models import server  # noqa: F401
from mediamatch.store.models.base import Base

__all__ = ["Base"]
