"""What every page handler shares with the API without importing it: one database session per
request and the audit step that commits it.

The web front end cannot import `mediamatch.api` (the API's app factory installs the pages, so
the import would go both ways); these are the page-side twins of `api.deps.get_session` and
`api.deps.audit`, over the same `session_scope` and the same audit trail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from mediamatch.audit.events import AuditEvent
from mediamatch.audit.trail import record
from mediamatch.store.db import session_scope


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One unit of work per page request. Async for the reason `api.deps.get_session` gives:
    its teardown then never waits for a worker thread."""
    with session_scope(request.app.state.engine) as session:
        yield session


DbSession = Annotated[Session, Depends(get_session)]


def audit(session: Session, event: AuditEvent) -> None:
    """Record `event` and commit it with the page's work, as the handler's last step."""
    record(session, event)
    session.commit()


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""
