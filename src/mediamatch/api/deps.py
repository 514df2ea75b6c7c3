"""Typed dependencies every route uses: the database session, the authenticated principal,
and the permission check that is the only way a route is protected.

`require(permission)` returns a dependency object that remembers its permission, so the
authorisation test can read from the routes themselves which permission each one needs.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, status
from sqlalchemy.orm import Session

from mediamatch.audit.events import AuditAction, AuditEvent
from mediamatch.audit.trail import record
from mediamatch.auth.errors import AuthError
from mediamatch.auth.permissions import Permission, Role, allowed
from mediamatch.auth.tokens import authenticate_token
from mediamatch.services.matching import CatalogueMatcher
from mediamatch.services.shared_matchers import catalogue_matcher_of
from mediamatch.store.db import session_scope

SESSION_COOKIE = "mm_session"


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One unit of work per request (`session_scope`): committed when the route returns,
    rolled back on error.

    Async on purpose: the teardown then runs on the event loop. A sync generator's teardown
    needs a free worker thread, and under load every worker can be waiting on a lock that only
    this teardown's commit would release (observed with 200 concurrent clients)."""
    with session_scope(request.app.state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def catalogue_matcher(request: Request) -> CatalogueMatcher:
    """The server's one catalogue matcher, opened on first use (from the index saved beside
    the catalogue, caught up). It stays current by itself: the services that change the
    catalogue invalidate it (see services/catalogue_changes.py)."""
    return catalogue_matcher_of(request.app.state)


CatalogueMatcherDep = Annotated[CatalogueMatcher, Depends(catalogue_matcher)]

# Bounds every back end can store (PostgreSQL INTEGER is 32-bit): a larger id or offset from a
# request is refused as invalid input instead of failing inside the database.
ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, in which capacity, from where."""

    user_id: int
    username: str
    agency_id: int
    agency: str
    role: Role
    source_ip: str

    def event(self, action: AuditAction, object_type: str = "", object_id: object = "", **detail: object) -> AuditEvent:
        return AuditEvent(
            actor=self.username, agency=self.agency, action=action, object_type=object_type,
            object_id=str(object_id), detail=detail, source_ip=self.source_ip,
        )  # fmt: skip


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(SESSION_COOKIE)


def current_principal(request: Request, session: SessionDep) -> Principal:
    token = bearer_token(request)
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "authentication required", headers={"WWW-Authenticate": "Bearer"})
    try:
        user = authenticate_token(session, token, datetime.now(timezone.utc))
    except AuthError as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    principal = Principal(user.id, user.username, user.agency_id, user.agency.name, Role(user.role), client_ip(request))
    # Commit the token's last-use stamp now: on SQLite an open write would hold the database's
    # one write lock for the whole request, and services that open their own unit of work
    # (contributions, verifying the audit chain) would wait on it. The commit also hands the
    # connection back to the pool while the request waits for a worker thread to run its next
    # dependency: held across that wait, 200 concurrent clients left every thread waiting for
    # a connection and every connection waiting for a thread (measured with bench_server).
    session.commit()
    request.app.state.rate_limiter.check(principal.user_id, request.app.state.settings.requests_per_minute)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


class require:  # noqa: N801 - reads as a sentence in route signatures: Depends(require(...))
    """A dependency that lets the call through only when the caller's role holds `permission`."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __call__(self, principal: CurrentPrincipal) -> Principal:
        if not allowed(principal.role, self.permission):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"the {principal.role} role may not {self.permission.replace('_', ' ')}")
        return principal


class RateLimiter:
    """Requests per account per minute, sliding window, in this process."""

    def __init__(self) -> None:
        self.calls: dict[int, deque[float]] = defaultdict(deque)

    def check(self, account: int, per_minute: int) -> None:
        now = time.monotonic()
        window = self.calls[account]
        while window and now - window[0] > 60:
            window.popleft()
        if len(window) >= per_minute:
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "rate limit reached; retry in a minute", headers={"Retry-After": "60"})
        window.append(now)


def audit(session: Session, event: AuditEvent) -> None:
    """Record `event` and commit it together with the route's work, as the route's last step.

    Committing here, in the route's own thread, keeps the audit chain's lock (held from the
    append to the commit) short: left to the session's teardown, a commit can wait for a free
    worker thread while every worker waits for that lock."""
    record(session, event)
    session.commit()
