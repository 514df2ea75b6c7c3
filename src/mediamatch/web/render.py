"""Rendering a page: one Jinja environment (autoescaped) and the context every template gets.

`render(request, "page.html.j2", **context)` adds the signed-in account (`user`, set by the
`PageUser` dependency), its navigation entries (`nav`), its wellness settings (`wellness`)
and the CSRF helpers (`csrf_input()`, `csrf_token()`), and sets the pre-sign-in CSRF seed
cookie when this response started one.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from mediamatch.services.wellness import DEFAULT
from mediamatch.web import csrf
from mediamatch.web.nav import visible


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("mediamatch.web", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,  # a misspelt variable fails the test that renders the page
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """`template` rendered for this request's account as an HTML response."""
    user = getattr(request.state, "page_user", None)
    page = (
        environment()
        .get_template(template)
        .render(
            request=request,
            user=user,
            nav=visible(user.role) if user else [],
            wellness=user.wellness if user else DEFAULT,
            csrf_input=lambda: csrf.hidden_input(request),
            csrf_token=lambda: csrf.token_for(request),
            **context,
        )
    )
    response = HTMLResponse(page, status_code=status_code)
    seed = getattr(request.state, "new_csrf_seed", None)
    if seed is not None:
        response.set_cookie(csrf.SEED_COOKIE, seed, httponly=True, samesite="strict", path="/", secure=request.url.scheme == "https")
    return response
