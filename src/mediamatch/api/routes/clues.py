"""Clues pinned to series and pictures, their history, discussion threads, and the search
over clues, comments and series. A clue another agency keeps to itself is answered as not
existing on every route (the services decide, not the routes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from mediamatch.api.deps import Limit, ObjectId, Principal, SessionDep, audit, require
from mediamatch.api.routes.investigations import actor
from mediamatch.api.schemas_collaboration import ClueEditIn, ClueIn, ClueKind, ClueOut, ClueRevisionOut, CommentIn, CommentOut, SearchHitOut
from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Permission
from mediamatch.catalog.collaboration import Box
from mediamatch.services import clues
from mediamatch.services.search import SearchFilters, search

router = APIRouter(prefix="/api/v1", tags=["clues"])
Writer = Annotated[Principal, Depends(require(Permission.WRITE_CLUES))]
Reader = Annotated[Principal, Depends(require(Permission.SEARCH_METADATA))]


def refused(exc: Exception) -> HTTPException:
    """A service's refusal as an HTTP answer: not found (or not visible) 404, invalid 422, not yours 403."""
    if isinstance(exc, LookupError):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    if isinstance(exc, clues.NotYourClue):
        return HTTPException(status.HTTP_403_FORBIDDEN, str(exc))
    return HTTPException(422, str(exc))


@router.post("/clues", response_model=ClueOut)
def add_clue(body: ClueIn, principal: Writer, session: SessionDep) -> ClueOut:
    """Pin a clue to a series, a picture of it, a box of that picture or a time range of a video."""
    box = Box(**body.box.model_dump()) if body.box else None
    given = clues.ClueInput(
        series=body.series, kind=body.kind, text=body.text, media_id=body.media_id, box=box, time_start=body.time_start,
        time_end=body.time_end, country=body.country, confidence=body.confidence, visibility=body.visibility,
    )  # fmt: skip
    try:
        record = clues.add_clue(session, actor(principal), given)
    except (LookupError, ValueError) as exc:
        raise refused(exc) from None
    audit(session, principal.event(AuditAction.CLUE_CREATED, "clue", record.id, series=record.series, media_id=record.media_id, visibility=record.visibility))
    return ClueOut.model_validate(record)


@router.get("/clues", response_model=list[ClueOut])
def list_clues(series: str, principal: Reader, session: SessionDep) -> list[ClueOut]:
    """The clues of a series that the caller's agency may see."""
    try:
        found = clues.list_clues(session, series, actor(principal))
    except LookupError as exc:
        raise refused(exc) from None
    audit(session, principal.event(AuditAction.SEARCH, "clues", series))
    return [ClueOut.model_validate(record) for record in found]


@router.get("/clues/{clue_id}", response_model=ClueOut)
def show_clue(clue_id: ObjectId, principal: Reader, session: SessionDep) -> ClueOut:
    try:
        record = clues.get_clue(session, clue_id, actor(principal))
    except LookupError as exc:
        raise refused(exc) from None
    audit(session, principal.event(AuditAction.SEARCH, "clue", clue_id))
    return ClueOut.model_validate(record)


@router.patch("/clues/{clue_id}", response_model=ClueOut)
def edit_clue(clue_id: ObjectId, body: ClueEditIn, principal: Writer, session: SessionDep) -> ClueOut:
    """Change the agency's own clue; the previous state is kept (`/history`) and audited."""
    changes: dict[str, object] = {name: getattr(body, name) for name in body.model_fields_set}
    if "box" in changes and body.box is not None:
        changes["box"] = Box(**body.box.model_dump())
    try:
        record, old = clues.edit_clue(session, clue_id, actor(principal), changes)
    except (LookupError, ValueError) as exc:
        raise refused(exc) from None
    if old:
        audit(session, principal.event(AuditAction.CLUE_EDITED, "clue", clue_id, old=old, new={name: str(getattr(record, name)) for name in old}))
    return ClueOut.model_validate(record)


@router.delete("/clues/{clue_id}", response_model=ClueOut)
def delete_clue(clue_id: ObjectId, principal: Writer, session: SessionDep) -> ClueOut:
    """Delete the agency's own clue: gone from lists and search, its history kept."""
    try:
        record = clues.delete_clue(session, clue_id, actor(principal))
    except (LookupError, ValueError) as exc:
        raise refused(exc) from None
    audit(session, principal.event(AuditAction.CLUE_DELETED, "clue", clue_id, series=record.series))
    return ClueOut.model_validate(record)


@router.get("/clues/{clue_id}/history", response_model=list[ClueRevisionOut])
def clue_history(clue_id: ObjectId, principal: Reader, session: SessionDep) -> list[ClueRevisionOut]:
    """The clue's earlier states, oldest first."""
    try:
        found = clues.history(session, clue_id, actor(principal))
    except LookupError as exc:
        raise refused(exc) from None
    audit(session, principal.event(AuditAction.SEARCH, "clue-history", clue_id))
    return [ClueRevisionOut.model_validate(record) for record in found]


@router.get("/clues/{clue_id}/comments", response_model=list[CommentOut])
def clue_thread(clue_id: ObjectId, principal: Reader, session: SessionDep) -> list[CommentOut]:
    try:
        found = clues.thread(session, actor(principal), clue_id=clue_id)
    except LookupError as exc:
        raise refused(exc) from None
    audit(session, principal.event(AuditAction.SEARCH, "clue-comments", clue_id))
    return [CommentOut.model_validate(record) for record in found]


@router.post("/clues/{clue_id}/comments", response_model=CommentOut)
def comment_on_clue(clue_id: ObjectId, body: CommentIn, principal: Writer, session: SessionDep) -> CommentOut:
    try:
        record = clues.add_comment(session, actor(principal), body.body, clue_id=clue_id)
    except (LookupError, ValueError) as exc:
        raise refused(exc) from None
    audit(session, principal.event(AuditAction.COMMENT_POSTED, "clue", clue_id, comment=record.id))
    return CommentOut.model_validate(record)


@router.get("/series/{name}/comments", response_model=list[CommentOut])
def series_thread(name: str, principal: Reader, session: SessionDep) -> list[CommentOut]:
    try:
        found = clues.thread(session, actor(principal), series=name)
    except LookupError as exc:
        raise refused(exc) from None
    audit(session, principal.event(AuditAction.SEARCH, "series-comments", name))
    return [CommentOut.model_validate(record) for record in found]


@router.post("/series/{name}/comments", response_model=CommentOut)
def comment_on_series(name: str, body: CommentIn, principal: Writer, session: SessionDep) -> CommentOut:
    try:
        record = clues.add_comment(session, actor(principal), body.body, series=name)
    except (LookupError, ValueError) as exc:
        raise refused(exc) from None
    audit(session, principal.event(AuditAction.COMMENT_POSTED, "series", name, comment=record.id))
    return CommentOut.model_validate(record)


@router.get("/search", response_model=list[SearchHitOut])
def search_text(
    principal: Reader,
    session: SessionDep,
    q: Annotated[str, Query(min_length=1, max_length=500, description="Words that must all occur.")],
    country: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
    kind: ClueKind | None = None,
    agency: Annotated[str | None, Query(max_length=200)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Limit = 50,
) -> list[SearchHitOut]:
    """Search clues, comments and series text the caller's agency may see, newest first."""
    filters = SearchFilters(country=country.upper() if country else None, kind=kind, agency=agency, since=since, until=until)
    found = search(session, actor(principal), q, filters, limit)
    audit(session, principal.event(AuditAction.SEARCH, "text", "", q=q, country=country, kind=kind, agency=agency, hits=len(found)))
    return [SearchHitOut.model_validate(hit) for hit in found]
