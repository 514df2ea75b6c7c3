"""Installing the browser workspace into the server's app: pages at `/` beside `/api/v1`.

Every module in `web/pages/` exposes a `router` made with `web.routing.page_router`; they are
found by listing the package, so adding a page area is adding a module (and its nav entry in
`web/nav.py`), without editing this file.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from mediamatch.web import csrf, errors, pages
from mediamatch.web.docs import install_docs
from mediamatch.web.headers import SecurityHeaders
from mediamatch.web.session import SignInRequired

STATIC = Path(__file__).parent / "static"


def page_routers() -> list[APIRouter]:
    """The `router` of every module in `web/pages/`, in name order."""
    found = []
    for module in sorted(pkgutil.iter_modules(pages.__path__), key=lambda m: m.name):
        found.append(importlib.import_module(f"{pages.__name__}.{module.name}").router)
    return found


def install_web(app: FastAPI) -> None:
    """Add the pages, their static files, the offline docs page, HTML error pages and the
    security headers to `app` (built by `api.app.create_app`)."""
    app.state.csrf_key = csrf.new_key()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in page_routers():
        app.include_router(router)
    install_docs(app)
    app.add_exception_handler(HTTPException, errors.http_error)
    app.add_exception_handler(RequestValidationError, errors.invalid_input)
    app.add_exception_handler(SignInRequired, errors.sign_in_required)
    app.add_middleware(SecurityHeaders)
