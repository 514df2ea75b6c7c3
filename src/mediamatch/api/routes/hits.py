"""Platform hits and their human review.

Platforms report matches (`POST /hits`), may then upload the matched item (stored encrypted,
only to a hit of their own agency) and read back each hit's status; they never see another
platform's hits, our series or the review. Reviewers work the queue, look at a side-by-side
comparison (greyscale and blurred unless they ask otherwise; every view audited) and decide.
Admins see error rates; reviewers and investigators read the report records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from mediamatch.api.deps import Limit, ObjectId, Offset, Principal, SessionDep, audit, require
from mediamatch.api.schemas_review import (
    DecisionIn,
    DecisionOut,
    ErrorRatesOut,
    HitBatch,
    HitDetailOut,
    HitReportOut,
    IndicatorOut,
    IndicatorRateOut,
    ListRateOut,
    PlatformHitOut,
)
from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Permission
from mediamatch.services import review
from mediamatch.store.blobs import BlobKeyError
from mediamatch.store.models.review import Hit

router = APIRouter(prefix="/api/v1", tags=["hits"])
Reporter = Annotated[Principal, Depends(require(Permission.REPORT_HITS))]
Reviewer = Annotated[Principal, Depends(require(Permission.REVIEW_HITS))]
RatesViewer = Annotated[Principal, Depends(require(Permission.VIEW_ERROR_RATES))]
ReportReader = Annotated[Principal, Depends(require(Permission.READ_HIT_REPORTS))]
HitStatus = Literal["pending", "confirmed", "rejected"]


def _platform_view(hit: Hit) -> PlatformHitOut:
    return PlatformHitOut(id=hit.id, reference=hit.reference, status=hit.status)  # type: ignore[arg-type]


@router.post("/hits", response_model=list[PlatformHitOut])
def report_hits(body: HitBatch, principal: Reporter, session: SessionDep) -> list[PlatformHitOut]:
    """Report up to 1,000 matches at once; each waits for human review. Reporting the same
    hash, indicator and reference again returns the hit already recorded. One bad item refuses
    the whole batch (nothing is stored) with the item's position in the message."""
    hits = []
    for position, item in enumerate(body.hits):
        try:
            hits.append(review.report_hit(
                session, signal=item.signal, value=item.value, signal_id=item.indicator_id, distance=item.distance,
                reference=item.reference, agency_id=principal.agency_id, account_id=principal.user_id,
                list_name=item.list_name, list_version=item.list_version, stream_time=item.stream_time,
            ))  # fmt: skip
        except review.InvalidHit as exc:
            raise HTTPException(422, f"hit {position}: {exc}") from None
    session.flush()
    audit(session, principal.event(AuditAction.HIT_REPORTED, "hits", "", count=len(hits), hit_ids=sorted({hit.id for hit in hits})))
    return [_platform_view(hit) for hit in hits]


@router.get("/hits", response_model=list[PlatformHitOut])
def own_hits(
    principal: Reporter,
    session: SessionDep,
    status_filter: Annotated[HitStatus | None, Query(alias="status")] = None,
    reference: Annotated[str | None, Query(max_length=500)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[PlatformHitOut]:
    """The caller's agency's hits, newest first, with their review status."""
    hits = review.agency_hits(session, principal.agency_id, status=status_filter, reference=reference, limit=limit, offset=offset)
    return [_platform_view(hit) for hit in hits]


@router.put("/hits/{hit_id}/content", response_model=PlatformHitOut)
async def upload_content(
    hit_id: ObjectId,
    request: Request,
    principal: Reporter,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="The item the platform matched.")],
) -> PlatformHitOut:
    """Upload the matched item for the reviewer's comparison, once, while the hit is pending.
    It is stored encrypted and must hash to the hash the platform reported."""
    store = request.app.state.blobs
    data = await file.read(store.max_bytes + 1)
    try:
        hit = review.attach_content(session, store, hit_id, principal.agency_id, data)
    except review.HitNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such hit") from None
    except review.ContentConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except review.ContentTooLarge as exc:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, str(exc)) from None
    except review.InvalidHit as exc:
        raise HTTPException(422, str(exc)) from None
    audit(session, principal.event(AuditAction.HIT_CONTENT_UPLOADED, "hit", hit_id, sha256=hit.content_sha256, bytes=len(data)))
    return _platform_view(hit)


def _details(session: Session, hits: Sequence[Hit]) -> list[HitDetailOut]:
    return [
        HitDetailOut(
            id=hit.id, status=hit.status, reported_at=hit.reported_at,  # type: ignore[arg-type]
            provider=hit.agency.name if hit.agency else hit.source, source=hit.source, source_label=hit.source_label,
            reference=hit.reference, signal=hit.signal, value=hit.value,
            indicator=IndicatorOut(id=hit.indicator.id, signal=hit.indicator.signal, value=hit.indicator.value),
            distance=hit.distance, list_name=hit.list_name, list_version=hit.list_version, stream_time=hit.stream_time,
            content_uploaded=hit.content_sha256 is not None, category=item.category, baseline=item.baseline,
            series=sorted(series.name for series in item.series),
        )
        for hit, item in review.hits_with_items(session, hits)
    ]  # fmt: skip


def _hit(session: Session, hit_id: int) -> Hit:
    try:
        return review.get_hit(session, hit_id)
    except review.HitNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such hit") from None


@router.get("/review/queue", response_model=list[HitDetailOut])
def queue(principal: Reviewer, session: SessionDep, limit: Limit = 50, offset: Offset = 0) -> list[HitDetailOut]:
    """Pending hits, oldest first."""
    hits = review.review_queue(session, limit, offset)
    details = _details(session, hits)
    audit(session, principal.event(AuditAction.SEARCH, "review_queue", "", limit=limit, offset=offset, shown=len(details)))
    return details


@router.get("/hits/error-rates", response_model=ErrorRatesOut)
def error_rates(principal: RatesViewer, session: SessionDep, limit: Limit = 100) -> ErrorRatesOut:
    """Confirmed and rejected hits per indicator (the `limit` worst) and per hash list version."""
    rates = review.error_rates(session, limit=limit)

    def counts(rate: review.Rate) -> dict[str, object]:
        return {"confirmed": rate.confirmed, "rejected": rate.rejected, "false_positive_rate": rate.false_positive_rate}

    return ErrorRatesOut(
        indicators=[IndicatorRateOut(indicator_id=r.signal_id, signal=r.signal, disputed=r.disputed, **counts(r.rate)) for r in rates.indicators],  # type: ignore[arg-type]
        lists=[ListRateOut(list_name=r.list_name, list_version=r.list_version, **counts(r.rate)) for r in rates.lists],  # type: ignore[arg-type]
    )


@router.get("/hits/reports", response_model=list[HitReportOut])
def reports(principal: ReportReader, session: SessionDep, limit: Limit = 100, offset: Offset = 0) -> list[HitReportOut]:
    """Report records of confirmed hits, newest first."""
    rows = review.hit_reports(session, limit, offset)
    out = [
        HitReportOut(
            id=r.id,
            hit_id=r.hit_id,
            provider=r.provider_name,
            provider_country=r.provider_country,
            provider_reference=r.provider_reference,
            hit_at=r.hit_at,
            stream_time=r.stream_time,
            signal=r.signal,
            value=r.value,
            indicator_id=r.signal_id,
            distance=r.distance,
            material_type=r.material_type,  # type: ignore[arg-type]
            content_available=r.content_available,
            action_taken=r.action_taken,
            urgent=r.urgent,
            reviewer=username,
            created_at=r.created_at,
        )
        for r, username in rows
    ]
    audit(session, principal.event(AuditAction.SEARCH, "hit_reports", "", limit=limit, offset=offset, shown=len(out)))
    return out


@router.get("/hits/{hit_id}", response_model=HitDetailOut)
def hit_detail(hit_id: ObjectId, principal: Reviewer, session: SessionDep) -> HitDetailOut:
    """One hit as a reviewer sees it."""
    detail = _details(session, [_hit(session, hit_id)])[0]
    audit(session, principal.event(AuditAction.SEARCH, "hit", hit_id))
    return detail


@router.get("/hits/{hit_id}/comparison.jpg", responses={200: {"content": {"image/jpeg": {}}}})
def comparison(hit_id: ObjectId, request: Request, principal: Reviewer, session: SessionDep, reveal: bool = False) -> Response:
    """The platform's upload (left, if any) beside our known item (right), each 256 px,
    greyscale and blurred unless `reveal=true`. Every view is audited, revealed ones marked."""
    try:
        shown = review.comparison(session, request.app.state.blobs, hit_id, reveal=reveal)
    except review.HitNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such hit") from None
    except BlobKeyError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"stored content cannot be decrypted with this server's keys: {exc}") from None
    audit(session, principal.event(AuditAction.VIEW_HIT_COMPARISON, "hit", hit_id, media_id=shown.media_id, uploaded=shown.uploaded, revealed=reveal))
    return Response(shown.jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post("/hits/{hit_id}/decision", response_model=DecisionOut)
def decision(hit_id: ObjectId, body: DecisionIn, principal: Reviewer, session: SessionDep) -> DecisionOut:
    """Confirm (writes the report record) or reject (disputes the indicator); final."""
    try:
        outcome = review.decide(
            session, hit_id, principal.user_id, body.decision, body.reason, body.action_taken,
            material_type=body.material_type, urgent=body.urgent,
        )  # fmt: skip
    except review.HitNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such hit") from None
    except review.AlreadyDecided as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except review.ReviewError as exc:
        raise HTTPException(422, str(exc)) from None
    result = DecisionOut(
        hit_id=hit_id, status="confirmed" if body.decision == "confirm" else "rejected",
        report_id=outcome.report.id if outcome.report else None, dispute_id=outcome.dispute.id if outcome.dispute else None,
    )  # fmt: skip
    indicator = _hit(session, hit_id).signal_id
    audit(session, principal.event(
        AuditAction.HIT_REVIEWED, "hit", hit_id, decision=body.decision, indicator=indicator,
        report_id=result.report_id, dispute_id=result.dispute_id,
    ))  # fmt: skip
    return result
