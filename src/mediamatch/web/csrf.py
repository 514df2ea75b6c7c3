"""Cross-site request forgery protection for every page that changes something.

Each form carries a token (`{{ csrf_input() }}`) that is an HMAC, under a key the server
makes at start-up, of the browser's session cookie; before sign-in, of a random "seed" cookie
set with the sign-in form. A page request other than GET/HEAD/OPTIONS must return the token,
in the `csrf_token` form field or the `X-CSRF-Token` header (static/mm.js sets it on every
htmx request), or it is refused with a 403 page. Another site can make the browser send the
cookie (it cannot here: SameSite=Strict) but cannot read a page to learn the token, so the
two locks are independent.

Why an HMAC of the cookie rather than a token stored server-side: it needs no table and no
per-session state, and it dies with the session it is bound to. A restart changes the key,
so forms open across a restart must be reloaded: acceptable for a server that restarts rarely.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import HTTPException, Request, status
from markupsafe import Markup, escape

from mediamatch.web.session import SESSION_COOKIE

SEED_COOKIE = "mm_csrf_seed"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REFUSED = "This form has expired or did not come from this site. Reload the page and try again."


def new_key() -> bytes:
    """The server's CSRF key, made once per app (`install_web`)."""
    return secrets.token_bytes(32)


def _binding(request: Request) -> str | None:
    """What the token is bound to: the session cookie, else the pre-sign-in seed cookie (or
    the seed this response is about to set)."""
    return request.cookies.get(SESSION_COOKIE) or request.cookies.get(SEED_COOKIE) or getattr(request.state, "new_csrf_seed", None)


def token_for(request: Request) -> str:
    """The token this browser's forms must carry; starts a seed cookie when there is no
    session yet (`render` sets it on the response)."""
    binding = _binding(request)
    if binding is None:
        binding = request.state.new_csrf_seed = secrets.token_urlsafe(32)
    return hmac.new(request.app.state.csrf_key, binding.encode(), hashlib.sha256).hexdigest()


def hidden_input(request: Request) -> Markup:
    """The form field for templates: `{{ csrf_input() }}`."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, escape(token_for(request)))


async def verify_csrf(request: Request) -> None:
    """Refuse (403) a state-changing page request without this browser's token. A dependency
    of every page router (`web.routing.page_router`)."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(FIELD)
        sent = value if isinstance(value, str) else None
    binding = request.cookies.get(SESSION_COOKIE) or request.cookies.get(SEED_COOKIE)
    if not sent or binding is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, REFUSED)
    expected = hmac.new(request.app.state.csrf_key, binding.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sent):
        raise HTTPException(status.HTTP_403_FORBIDDEN, REFUSED)
