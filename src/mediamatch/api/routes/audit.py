"""The audit trail, for auditors: filter, export, verify. Reading it is itself audited."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from mediamatch.api.deps import Limit, Offset, Principal, SessionDep, audit, require
from mediamatch.api.schemas import AuditEventOut, VerifyOut
from mediamatch.audit.events import AuditAction
from mediamatch.audit.export import write_jsonl
from mediamatch.audit.trail import AuditFilter, iter_events, query, verify
from mediamatch.auth.permissions import Permission

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
Auditor = Annotated[Principal, Depends(require(Permission.READ_AUDIT))]
Exporter = Annotated[Principal, Depends(require(Permission.EXPORT_AUDIT))]


def _filter(actor: str | None, agency: str | None, action: list[AuditAction] | None, since: datetime | None, until: datetime | None) -> AuditFilter:
    return AuditFilter(actor=actor, agency=agency, actions=tuple(action or ()), since=since, until=until)


@router.get("/events", response_model=list[AuditEventOut])
def events(
    principal: Auditor,
    session: SessionDep,
    actor: str | None = None,
    agency: str | None = None,
    action: Annotated[list[AuditAction] | None, Query()] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[AuditEventOut]:
    """Events matching the filters, newest first."""
    rows = query(session, _filter(actor, agency, action, since, until), limit=limit, offset=offset, newest_first=True)
    audit(session, principal.event(AuditAction.SEARCH, "audit", "", actor=actor, agency=agency, limit=limit))
    return [
        AuditEventOut(
            seq=r.seq,
            at=r.at,
            actor=r.actor,
            agency=r.agency,
            action=r.action,
            object_type=r.object_type,
            object_id=r.object_id,
            detail=r.detail,
            source_ip=r.source_ip,
        )
        for r in rows
    ]


@router.get("/export", responses={200: {"content": {"application/x-ndjson": {}}}})
def export(
    principal: Exporter, session: SessionDep, actor: str | None = None, agency: str | None = None, since: datetime | None = None, until: datetime | None = None
) -> Response:
    """All matching events as JSON lines, with their hashes (re-verifiable offline)."""
    out = io.StringIO()
    count = write_jsonl(iter_events(session, _filter(actor, agency, None, since, until)), out)
    audit(session, principal.event(AuditAction.EXPORT, "audit", "", events=count))
    return Response(out.getvalue(), media_type="application/x-ndjson")


@router.get("/verify", response_model=VerifyOut)
def verify_chain(request: Request, principal: Auditor) -> VerifyOut:
    """Check the whole hash chain; names the first edited, deleted or reordered row."""
    result = verify(request.app.state.engine)
    return VerifyOut(ok=result.ok, checked=result.checked, first_bad_seq=result.first_bad_seq, reason=result.reason or None)
