"""Help requests ("who recognises this?") under four eyes, their crops and answers, and the
specialists' subscriptions that decide who is told of a new request."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import Response

from mediamatch.api.deps import ObjectId, Principal, SessionDep, audit, require
from mediamatch.api.routes.clues import refused
from mediamatch.api.routes.investigations import actor
from mediamatch.api.schemas_collaboration import (
    CommentIn,
    CommentOut,
    DecisionIn,
    DecisionOut,
    HelpRequestIn,
    HelpRequestOut,
    SubscriptionIn,
    SubscriptionOut,
)
from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Permission
from mediamatch.media import thumbnail as thumbnails
from mediamatch.services import help_requests
from mediamatch.store.blobs import BlobError

router = APIRouter(prefix="/api/v1", tags=["help requests"])
Writer = Annotated[Principal, Depends(require(Permission.WRITE_CLUES))]
Reader = Annotated[Principal, Depends(require(Permission.SEARCH_METADATA))]
Approver = Annotated[Principal, Depends(require(Permission.APPROVE_HELP_REQUESTS))]
ThumbnailViewer = Annotated[Principal, Depends(require(Permission.VIEW_THUMBNAIL))]


@router.post("/help-requests", response_model=HelpRequestOut)
def ask(body: HelpRequestIn, request: Request, principal: Writer, session: SessionDep) -> HelpRequestOut:
    """Draft a help request about one of the agency's clues; a clue pinned to a box of a stored
    picture gets a crop of that box. Nothing is sent until a second person approves."""
    try:
        record = help_requests.ask(session, request.app.state.blobs, actor(principal), body.clue_id, body.question, tuple(body.countries))
    except (LookupError, ValueError) as exc:
        raise refused(exc) from None
    audit(
        session,
        principal.event(AuditAction.HELP_REQUESTED, "help_request", record.id, clue=body.clue_id, crop=record.has_crop, countries=list(record.countries)),
    )
    return HelpRequestOut.model_validate(record)


@router.get("/help-requests", response_model=list[HelpRequestOut])
def list_requests(principal: Reader, session: SessionDep) -> list[HelpRequestOut]:
    """The agency's own requests (any state) and those sent to it, newest first."""
    found = help_requests.list_requests(session, actor(principal))
    audit(session, principal.event(AuditAction.SEARCH, "help_requests", ""))
    return [HelpRequestOut.model_validate(record) for record in found]


@router.get("/help-requests/{request_id}", response_model=HelpRequestOut)
def show_request(request_id: ObjectId, principal: Reader, session: SessionDep) -> HelpRequestOut:
    try:
        record = help_requests.get_request(session, request_id, actor(principal))
    except LookupError as exc:
        raise refused(exc) from None
    audit(session, principal.event(AuditAction.SEARCH, "help_request", request_id))
    return HelpRequestOut.model_validate(record)


@router.post("/help-requests/{request_id}/decision", response_model=DecisionOut)
def decide(request_id: ObjectId, body: DecisionIn, principal: Approver, session: SessionDep) -> DecisionOut:
    """Four eyes: a second person of the asking agency (never the author) approves the request
    and its crop, which sends it, or rejects it."""
    try:
        decision = help_requests.decide(session, request_id, actor(principal), body.approve)
    except LookupError as exc:
        raise refused(exc) from None
    except ValueError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    audit(session, principal.event(AuditAction.HELP_REQUEST_DECIDED, "help_request", request_id, approved=body.approve, notified=list(decision.notified)))
    return DecisionOut.model_validate(decision)


@router.get("/help-requests/{request_id}/crop", responses={200: {"content": {"image/jpeg": {}}}})
def crop(request_id: ObjectId, request: Request, principal: ThumbnailViewer, session: SessionDep, reveal: bool = False) -> Response:
    """The request's crop as a thumbnail: greyscale and blurred unless `reveal=true`; audited."""
    try:
        data = help_requests.crop_of(session, request.app.state.blobs, request_id, actor(principal))
        picture = thumbnails.thumbnail(data, reveal=reveal)
    except LookupError as exc:
        raise refused(exc) from None
    except BlobError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"the crop cannot be read: {exc}") from None
    audit(session, principal.event(AuditAction.VIEW_THUMBNAIL, "help_request", request_id, revealed=reveal))
    return Response(thumbnails.jpeg_bytes(picture), media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.get("/help-requests/{request_id}/answers", response_model=list[CommentOut])
def answers(request_id: ObjectId, principal: Reader, session: SessionDep) -> list[CommentOut]:
    try:
        found = help_requests.answers(session, request_id, actor(principal))
    except LookupError as exc:
        raise refused(exc) from None
    audit(session, principal.event(AuditAction.SEARCH, "help_request-answers", request_id))
    return [CommentOut.model_validate(record) for record in found]


@router.post("/help-requests/{request_id}/answers", response_model=CommentOut)
def answer(request_id: ObjectId, body: CommentIn, principal: Writer, session: SessionDep) -> CommentOut:
    """Answer a request sent to the agency (the asking agency is notified), or add to one's own."""
    try:
        record = help_requests.answer(session, request_id, actor(principal), body.body)
    except (LookupError, ValueError) as exc:
        raise refused(exc) from None
    audit(session, principal.event(AuditAction.COMMENT_POSTED, "help_request", request_id, comment=record.id))
    return CommentOut.model_validate(record)


@router.post("/subscriptions", response_model=SubscriptionOut)
def subscribe(body: SubscriptionIn, principal: Writer, session: SessionDep) -> SubscriptionOut:
    """Be told (through the agency's notifications) of help requests about a country and/or a clue type."""
    try:
        record = help_requests.subscribe(session, actor(principal), body.country, body.kind)
    except ValueError as exc:
        raise refused(exc) from None
    audit(session, principal.event(AuditAction.SUBSCRIPTION_CHANGED, "subscription", record.id, country=record.country, kind=record.kind))
    return SubscriptionOut.model_validate(record)


@router.get("/subscriptions", response_model=list[SubscriptionOut])
def list_subscriptions(principal: Writer, session: SessionDep) -> list[SubscriptionOut]:
    return [SubscriptionOut.model_validate(record) for record in help_requests.subscriptions(session, actor(principal))]


@router.delete("/subscriptions/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
def unsubscribe(subscription_id: ObjectId, principal: Writer, session: SessionDep) -> None:
    try:
        help_requests.unsubscribe(session, actor(principal), subscription_id)
    except LookupError as exc:
        raise refused(exc) from None
    audit(session, principal.event(AuditAction.SUBSCRIPTION_CHANGED, "subscription", subscription_id, removed=True))
