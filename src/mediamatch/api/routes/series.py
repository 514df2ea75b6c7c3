"""Series pages and the victim-identification workflow."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request, status
from sqlalchemy import select

from mediamatch.api.deps import Limit, Offset, Principal, SessionDep, audit, require
from mediamatch.api.schemas import IdentifyOut, SeriesDetailOut, SeriesOut, TimelineOut
from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Permission
from mediamatch.services.identify import deliver, mark_identified
from mediamatch.store import repo
from mediamatch.store.models.catalogue import Agency

router = APIRouter(prefix="/api/v1/series", tags=["series"])
Reader = Annotated[Principal, Depends(require(Permission.SEARCH_METADATA))]
Identifier = Annotated[Principal, Depends(require(Permission.MARK_IDENTIFIED))]


@router.get("", response_model=list[SeriesOut])
def list_series(principal: Reader, session: SessionDep, limit: Limit = 100, offset: Offset = 0) -> list[SeriesOut]:
    """Series with their item, victim and agency counts."""
    audit(session, principal.event(AuditAction.SEARCH, "series", "", limit=limit, offset=offset))
    rows = repo.list_series(session)[offset : offset + limit]
    return [SeriesOut(name=s.name, items=s.items, victims=s.victims, victims_identified=s.victims_identified, agencies=s.agencies) for s in rows]


@router.get("/{name}", response_model=SeriesDetailOut)
def show_series(name: str, principal: Reader, session: SessionDep) -> SeriesDetailOut:
    """One series with the timeline of contributions and identifications."""
    detail = repo.series_detail(session, name)
    if detail is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no series named {name!r}")
    audit(session, principal.event(AuditAction.SEARCH, "series", name))
    summary = detail.summary
    return SeriesDetailOut(
        name=summary.name, items=summary.items, victims=summary.victims, victims_identified=summary.victims_identified, agencies=summary.agencies,
        timeline=[TimelineOut(at=e.at, kind=e.kind, agency=e.agency, detail=e.detail) for e in detail.timeline],
    )  # fmt: skip


@router.post("/{name}/identified", response_model=IdentifyOut)
def identified(name: str, request: Request, principal: Identifier, session: SessionDep, tasks: BackgroundTasks) -> IdentifyOut:
    """Mark the series' victim identified by the caller's agency; every other agency that
    contributed or matched media of the series is notified (API list and webhook)."""
    agency = session.scalar(select(Agency).where(Agency.id == principal.agency_id))
    try:
        outcome = mark_identified(session, name, agency)  # type: ignore[arg-type]
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    audit(session, principal.event(AuditAction.IDENTIFY, "series", name, notified=list(outcome.notified)))
    policy = request.app.state.settings.webhook_policy()
    for delivery in outcome.deliveries:
        tasks.add_task(deliver, delivery, policy)  # runs after the response, i.e. after the commit
    return IdentifyOut(series=outcome.series, notified=list(outcome.notified))
