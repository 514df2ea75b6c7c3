"""Errors as pages: a browser gets a 403 or 404 page, a sign-in redirect, or a form's own
message; an API client keeps getting JSON.

One handler serves both because FastAPI has one handler per exception type: it answers JSON
(FastAPI's own handler) for paths under `/api/`, the OpenAPI schema and `/healthz`, and HTML
everywhere else.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from mediamatch.web.render import render
from mediamatch.web.session import SignInRequired, recognise

JSON_PREFIXES = ("/api/", "/openapi.json", "/healthz")
TITLES = {
    400: "This request cannot be answered",
    401: "Sign-in required",
    403: "Not open to your role",
    404: "Page not found",
    405: "Not allowed here",
    413: "Too large",
    422: "Check what you entered",
    429: "Slow down",
}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith(JSON_PREFIXES)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if wants_json(request):
        return await http_exception_handler(request, exc)
    if exc.status_code in (404, 405):  # no page dependency ran: recognise the account for the navigation
        await run_in_threadpool(recognise, request)  # a database read: off the event loop
    title = TITLES.get(exc.status_code, "Something went wrong")
    message = exc.detail if exc.status_code != 404 or exc.detail != "Not Found" else "There is no page at this address."
    response = render(request, "error.html.j2", status_code=exc.status_code, title=title, message=str(message))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def invalid_input(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if wants_json(request):
        return await request_validation_exception_handler(request, exc)
    fields = sorted({str(error["loc"][-1]) for error in exc.errors() if error.get("loc")})
    return render(request, "error.html.j2", status_code=400, title=TITLES[400], message=f"Missing or invalid: {', '.join(fields) or 'the request'}.")


async def sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    if request.headers.get("HX-Request"):  # htmx follows no redirect of a fragment: ask it to load the page
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    return RedirectResponse(f"/login?next={_quoted(exc.next_path)}", status_code=303)


def _quoted(path: str) -> str:
    return quote(path, safe="/")
