"""Claims on series and items: "my unit works this", who else does, and how a claim ended."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status

from mediamatch.api.deps import ObjectId, Principal, SessionDep, audit, require
from mediamatch.api.schemas_collaboration import ClaimEndIn, ClaimIn, ClaimOut, InvestigationOut
from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Permission
from mediamatch.catalog.collaboration import Actor
from mediamatch.services import investigations

router = APIRouter(prefix="/api/v1/investigations", tags=["investigations"])
Claimer = Annotated[Principal, Depends(require(Permission.CLAIM_INVESTIGATION))]
Reader = Annotated[Principal, Depends(require(Permission.SEARCH_METADATA))]


def actor(principal: Principal) -> Actor:
    """The services' view of the caller: account and agency (what decides visibility)."""
    return Actor(principal.user_id, principal.username, principal.agency_id)


@router.post("", response_model=ClaimOut)
def claim(body: ClaimIn, principal: Claimer, session: SessionDep) -> ClaimOut:
    """Claim a series or one item for the caller's agency. The answer lists the other agencies
    that already hold an open claim on the same work; they and the caller are notified."""
    try:
        outcome = investigations.claim(
            session, actor(principal), series=body.series, media_id=body.media_id, case_reference=body.case_reference, contact=body.contact
        )
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    target = ("series", body.series) if body.series is not None else ("media", body.media_id)
    audit(session, principal.event(AuditAction.INVESTIGATION_CLAIMED, *target, case=body.case_reference, overlaps=[o.agency for o in outcome.already]))
    return ClaimOut.model_validate(outcome)


@router.get("", response_model=list[InvestigationOut])
def list_investigations(principal: Reader, session: SessionDep, series: str | None = None, open_only: bool = False) -> list[InvestigationOut]:
    """Claims, oldest first, ended ones included unless `open_only` (the history): all, or those on `series` and its items."""
    try:
        found = investigations.list_investigations(session, series=series, open_only=open_only)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    audit(session, principal.event(AuditAction.SEARCH, "investigations", series or "", open_only=open_only))
    return [InvestigationOut.model_validate(record) for record in found]


@router.post("/{investigation_id}/end", response_model=InvestigationOut)
def end(investigation_id: ObjectId, body: ClaimEndIn, principal: Claimer, session: SessionDep) -> InvestigationOut:
    """End one of the agency's open claims: closed, or handed over to another agency (notified)."""
    try:
        record = investigations.end(session, investigation_id, actor(principal), body.kind, body.reason, body.handed_to)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    audit(
        session,
        principal.event(AuditAction.INVESTIGATION_ENDED, "investigation", investigation_id, kind=body.kind, reason=record.end_reason, handed_to=body.handed_to),
    )
    return InvestigationOut.model_validate(record)
