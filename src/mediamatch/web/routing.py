"""The one way to make a router of pages, so no page can forget CSRF or answer JSON."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from mediamatch.web.csrf import verify_csrf


def page_router(**options: Any) -> APIRouter:
    """An APIRouter whose routes answer HTML, stay out of the OpenAPI schema, and refuse any
    state-changing request without the CSRF token (`web.csrf`). Each module in `web/pages/`
    exposes one as `router`; `install_web` includes them all."""
    return APIRouter(dependencies=[Depends(verify_csrf)], default_response_class=HTMLResponse, include_in_schema=False, **options)
