"""Signing in and out (`web.session` holds the rules)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from mediamatch.web.deps import DbSession
from mediamatch.web.render import render
from mediamatch.web.routing import page_router
from mediamatch.web.session import SIGN_IN_FAILED, PageUser, safe_next, sign_in, sign_out

router = page_router()


def _form(request: Request, status_code: int = 200, failed: str = "", username: str = "", next_path: str = "/") -> Response:
    hours = int(request.app.state.settings.session_ttl.total_seconds() // 3600)
    return render(request, "login.html.j2", status_code=status_code, failed=failed, username=username, next=safe_next(next_path), session_hours=hours)


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    """The sign-in form."""
    return _form(request, next_path=next)


@router.post("/login")
def login(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the password; on success go where the person was headed."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if sign_in(request, session, username, password, response):
        return response
    return _form(request, 401, SIGN_IN_FAILED, username, next)


@router.post("/logout")
def logout(request: Request, user: PageUser, session: DbSession) -> Response:
    """End the page session (its token is revoked)."""
    response = RedirectResponse("/login", status_code=303)
    sign_out(request, session, user, response)
    return response
