"""The server's app factory. Nothing is built at import: `create_app(settings)` opens the
database and the encrypted store, so tests and several deployments can live in one process."""

from __future__ import annotations

import threading

from fastapi import Depends, FastAPI

from mediamatch.api.deps import RateLimiter
from mediamatch.api.limits import BodySizeLimit
from mediamatch.api.routes import admin, audit, auth, clues, hashlists, help_requests, hits, investigations, media, notifications, query, series, similar, stats
from mediamatch.api.settings import ServerSettings
from mediamatch.api.text_input import refuse_unstorable_text
from mediamatch.services.identify import InterestLedger
from mediamatch.store.blobs import EncryptedBlobStore
from mediamatch.store.db import migrate, open_engine
from mediamatch.store.keys import load_keyring
from mediamatch.web.app import install_web

ROUTERS = tuple(
    module.router for module in (auth, admin, media, query, similar, series, notifications, audit, hits, hashlists, investigations, clues, help_requests, stats)
)


def create_app(settings: ServerSettings) -> FastAPI:
    """The API over the catalogue at `settings.db_url` (migrated to the current schema)."""
    app = FastAPI(
        title="mediamatch",
        summary="A shared database of known material: contribute, query, identify, audit.",
        version="1",
        dependencies=[Depends(refuse_unstorable_text)],  # NUL and lone surrogates: 422 everywhere
        docs_url=None,  # served by the pages from vendored files (web/docs.py): no CDN
        redoc_url=None,
    )
    engine = open_engine(settings.db_url)
    migrate(engine)
    app.state.settings = settings
    app.state.engine = engine
    app.state.blobs = EncryptedBlobStore(settings.blob_root, load_keyring(settings.key_file), max_bytes=settings.max_upload_bytes)
    app.state.rate_limiter = RateLimiter()
    app.state.matcher = None  # the catalogue matcher: opened on the first query (deps.catalogue_matcher)
    app.state.matcher_opening = threading.Lock()
    app.state.similar = None  # the similarity matcher: opened on the first similarity search (routes/similar.py)
    app.state.interest = InterestLedger()
    for router in ROUTERS:
        app.include_router(router)
    install_web(app)  # the browser workspace at /, beside /api/v1
    # Multipart framing adds a little to the files themselves; the routes enforce the exact limit.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes + 1024 * 1024)

    @app.get("/healthz", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    return app
