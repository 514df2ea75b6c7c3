"""Similarity search: which catalogued pictures and video frames contain a picture, a region of
it, or share its scene (investigators); and the second pass of remote triage, which sends local
features, never pictures."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile, status

from mediamatch.api.deps import Principal, SessionDep, audit, require
from mediamatch.api.routes.media import read_uploads
from mediamatch.api.schemas_similar import SimilarBatch, SimilarMatchOut, SimilarResult
from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Permission
from mediamatch.catalog.hashes import Features
from mediamatch.services.shared_matchers import similarity_matcher_of
from mediamatch.services.similar import SimilarityMatcher, search_picture

router = APIRouter(prefix="/api/v1", tags=["query"])
Investigator = Annotated[Principal, Depends(require(Permission.SEARCH_SIMILAR))]


def similarity_matcher(request: Request) -> SimilarityMatcher:
    """The server's one similarity matcher, opened on first use and kept current like the
    catalogue matcher (services/catalogue_changes.py)."""
    return similarity_matcher_of(request.app.state)


SimilarityMatcherDep = Annotated[SimilarityMatcher, Depends(similarity_matcher)]


def parse_box(text: str | None) -> tuple[int, int, int, int] | None:
    if text is None or not text.strip():
        return None
    parts = text.split(",")
    if len(parts) != 4 or not all(part.strip().isdigit() for part in parts):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "box: expected x,y,w,h as four whole numbers of pixels")
    x, y, w, h = (int(part) for part in parts)
    return x, y, w, h


@router.post("/query/similar", response_model=SimilarResult)
async def query_similar(
    request: Request,
    principal: Investigator,
    session: SessionDep,
    matcher: SimilarityMatcherDep,
    file: Annotated[UploadFile, File(description="The picture to search by; searched here, never stored.")],
    box: Annotated[str | None, Form(max_length=64, description="Only this region: x,y,w,h in the picture's pixels.")] = None,
    limit: Annotated[int, Form(ge=1, le=1000)] = 20,
) -> SimilarResult:
    """Every catalogued picture or video frame that the uploaded picture (or the `box` region of
    it) contains or shares a scene with, ranked, with the transform and the matched regions."""
    region = parse_box(box)
    [source] = await read_uploads(request, [file])
    answer = search_picture(matcher, source.data, region, limit)
    audit(session, principal.event(AuditAction.SEARCH, "similar", "", box=box or "", found=len(answer.matches)))
    return SimilarResult(label=source.name, matches=[SimilarMatchOut.of(match) for match in answer.matches], error=answer.error, note=answer.note)


@router.post("/query/similar/features", response_model=list[SimilarResult])
def query_similar_features(body: SimilarBatch, principal: Investigator, session: SessionDep, matcher: SimilarityMatcherDep) -> list[SimilarResult]:
    """Search pictures (or a video's sampled frames) by their local features, as remote triage
    sends them for files that matched no hash."""
    results = []
    for item in body.items:
        features = [Features(packed.signal, packed.packed(), packed.timestamp) for packed in item.features]
        matches = matcher.matches(features, session)
        results.append(SimilarResult(label=item.label, matches=[SimilarMatchOut.of(match) for match in matches]))
    audit(session, principal.event(AuditAction.SEARCH, "similar-features", "", count=len(results), found=sum(bool(r.matches) for r in results)))
    return results
