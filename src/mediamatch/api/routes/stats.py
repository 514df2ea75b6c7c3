"""Statistics: series added, victims identified, time to identification, matches, open investigations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from mediamatch.api.deps import Principal, SessionDep, audit, require
from mediamatch.api.schemas_collaboration import StatisticsOut
from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Permission
from mediamatch.services.stats import statistics

router = APIRouter(prefix="/api/v1/stats", tags=["statistics"])
Statistician = Annotated[Principal, Depends(require(Permission.READ_STATISTICS))]


@router.get("", response_model=StatisticsOut)
def read_statistics(principal: Statistician, session: SessionDep) -> StatisticsOut:
    """Counts by month, agency and country; no content, no case detail."""
    figures = statistics(session)
    audit(session, principal.event(AuditAction.SEARCH, "statistics", ""))
    return StatisticsOut.model_validate(figures)
