"""Audit: the trail with filters and paging, its export, and the chain's verification. Reading
the trail is itself audited, as in the API."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import Response

from mediamatch.audit.events import AuditAction
from mediamatch.audit.export import write_jsonl
from mediamatch.audit.trail import AuditFilter, iter_events, query, verify
from mediamatch.auth.permissions import Permission
from mediamatch.web.deps import DbSession, audit
from mediamatch.web.render import render
from mediamatch.web.routing import page_router
from mediamatch.web.session import SignedIn, require_page

router = page_router(prefix="/audit")
Auditor = Annotated[SignedIn, Depends(require_page(Permission.READ_AUDIT))]
Exporter = Annotated[SignedIn, Depends(require_page(Permission.EXPORT_AUDIT))]
PAGE_SIZE = 50
Text = Annotated[str, Query(max_length=200)]


def _filter(actor: str, agency: str, action: str, since: datetime | None, until: datetime | None) -> AuditFilter:
    """The trail's filter from the form; times without a zone (the browser's datetime-local) are UTC."""
    since, until = (_utc(moment) for moment in (since, until))
    actions = (AuditAction(action),) if action in set(AuditAction) else ()
    return AuditFilter(actor=actor.strip() or None, agency=agency.strip() or None, actions=actions, since=since, until=until)


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


@router.get("")
def trail(
    request: Request,
    user: Auditor,
    session: DbSession,
    actor: Text = "",
    agency: Text = "",
    action: Text = "",
    since: datetime | None = None,
    until: datetime | None = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    check: bool = False,
) -> Response:
    """Events matching the filters, newest first; with `check`, the whole chain verified."""
    # First, while this request holds no transaction: verifying reads the trail through its own
    # connection, which would wait behind this session's open transaction on SQLite.
    verified = verify(request.app.state.engine) if check else None
    where = _filter(actor, agency, action, since, until)
    rows = query(session, where, limit=PAGE_SIZE + 1, offset=offset, newest_first=True)
    filters = {"actor": actor, "agency": agency, "action": action, "since": since.isoformat() if since else "", "until": until.isoformat() if until else ""}
    response = render(
        request, "audit.html.j2", rows=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE, offset=offset, page_size=PAGE_SIZE,
        filters=filters, actions=list(AuditAction), verified=verified, may_export=user.may(Permission.EXPORT_AUDIT),
    )  # fmt: skip
    audit(session, user.event(AuditAction.SEARCH, "audit", "", actor=actor, agency=agency, filter_action=action, offset=offset, verified=check))
    return response


@router.get("/export", response_class=Response)
def export(
    user: Exporter, session: DbSession, actor: Text = "", agency: Text = "", action: Text = "", since: datetime | None = None, until: datetime | None = None
) -> Response:
    """The matching events as JSON lines with their hashes (re-verifiable offline), as a download."""
    out = io.StringIO()
    count = write_jsonl(iter_events(session, _filter(actor, agency, action, since, until)), out)
    audit(session, user.event(AuditAction.EXPORT, "audit", "", events=count))
    return Response(
        out.getvalue(), media_type="application/x-ndjson", headers={"Content-Disposition": 'attachment; filename="audit.jsonl"', "Cache-Control": "no-store"}
    )
