"""Review: reviewers work the platform-hit queue (oldest first), each hit's platform upload and
known item side by side, labelled, blurred until revealed; confirm or reject with a reason.
Admins see error rates per indicator and per hash-list version."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Form, HTTPException, Path, Query, Request, status
from fastapi.responses import RedirectResponse, Response

from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Permission
from mediamatch.services import review
from mediamatch.store.blobs import BlobKeyError
from mediamatch.web.deps import DbSession, audit
from mediamatch.web.render import render
from mediamatch.web.routing import page_router
from mediamatch.web.session import SignedIn, require_page

router = page_router(prefix="/review")
Reviewer = Annotated[SignedIn, Depends(require_page(Permission.REVIEW_HITS))]
RatesViewer = Annotated[SignedIn, Depends(require_page(Permission.VIEW_ERROR_RATES))]
HitId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PAGE_SIZE = 10
DONE = {"confirmed": "Hit confirmed; its report record was written.", "rejected": "Hit rejected; its indicator is disputed."}


@router.get("")
def queue(request: Request, user: Reviewer, session: DbSession, offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0, done: str = "") -> Response:
    """Pending hits, oldest first, PAGE_SIZE at a time."""
    hits = review.review_queue(session, PAGE_SIZE + 1, offset)
    shown = review.hits_with_items(session, hits[:PAGE_SIZE])
    response = render(
        request, "review.html.j2", hits=shown, offset=offset, more=len(hits) > PAGE_SIZE, page_size=PAGE_SIZE, done=DONE.get(done, ""), problem=""
    )
    audit(session, user.event(AuditAction.SEARCH, "review_queue", "", limit=PAGE_SIZE, offset=offset, shown=len(shown)))
    return response


@router.get("/hits/{hit_id}/{side}.jpg", response_class=Response)
def panel(hit_id: HitId, side: Literal["upload", "known"], request: Request, user: Reviewer, session: DbSession, reveal: bool = False) -> Response:
    """One side of a hit's comparison; audited like the API's comparison (with the side)."""
    try:
        shown = review.comparison_panel(session, request.app.state.blobs, hit_id, side, reveal=reveal)
    except review.HitNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no such hit.") from None
    except BlobKeyError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"Stored content cannot be decrypted with this server's keys: {exc}") from None
    audit(session, user.event(AuditAction.VIEW_HIT_COMPARISON, "hit", hit_id, media_id=shown.media_id, uploaded=shown.uploaded, revealed=reveal, side=side))
    return Response(shown.jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post("/hits/{hit_id}/decision")
def decide(
    request: Request,
    hit_id: HitId,
    user: Reviewer,
    session: DbSession,
    decision: Annotated[Literal["confirm", "reject"], Form()],
    reason: Annotated[str, Form(max_length=2000)] = "",
    action_taken: Annotated[str, Form(max_length=2000)] = "",
    material_type: Annotated[Literal["known", "new"], Form()] = "known",
    urgent: Annotated[bool, Form()] = False,
) -> Response:
    """Confirm (writes the report record) or reject (disputes the indicator); final."""
    try:
        outcome = review.decide(session, hit_id, user.user_id, decision, reason, action_taken, material_type=material_type, urgent=urgent)
    except review.HitNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no such hit.") from None
    except review.ReviewError as exc:  # AlreadyDecided, or a rejection without a reason
        session.rollback()
        hits = review.review_queue(session, PAGE_SIZE + 1, 0)
        shown = review.hits_with_items(session, hits[:PAGE_SIZE])
        return render(
            request, "review.html.j2", status_code=400, hits=shown, offset=0, more=len(hits) > PAGE_SIZE, page_size=PAGE_SIZE, done="", problem=str(exc)
        )
    indicator = review.get_hit(session, hit_id).signal_id
    audit(session, user.event(
        AuditAction.HIT_REVIEWED, "hit", hit_id, decision=decision, indicator=indicator,
        report_id=outcome.report.id if outcome.report else None, dispute_id=outcome.dispute.id if outcome.dispute else None,
    ))  # fmt: skip
    return RedirectResponse(f"/review?done={'confirmed' if decision == 'confirm' else 'rejected'}", status_code=303)


@router.get("/error-rates")
def error_rates(request: Request, user: RatesViewer, session: DbSession) -> Response:
    """Confirmed and rejected hits per indicator (worst first) and per hash-list version."""
    return render(request, "error_rates.html.j2", rates=review.error_rates(session, limit=200))
