"""The OpenAPI docs page, served from vendored Swagger UI files (no CDN), so `/docs` works on
a network without internet and under the pages' Content-Security-Policy (no inline script:
static/docs.js starts Swagger UI)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from mediamatch.web.render import render


def install_docs(app: FastAPI) -> None:
    """Serve `/docs` (FastAPI's own docs routes must be switched off: `docs_url=None`)."""

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs(request: Request) -> HTMLResponse:
        return render(request, "docs.html.j2", openapi_url=app.openapi_url or "/openapi.json")
