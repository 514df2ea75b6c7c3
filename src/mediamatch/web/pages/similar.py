"""Region search in the browser: an investigator uploads a picture, marks the part to look for
(a box drawn with the mouse or the keyboard, or typed as x, y, width, height), and gets the
catalogued pictures and video frames that contain it or share its scene, ranked, each blurred
and with the matched region framed.

The search is the API's (`POST /api/v1/query/similar`): the same service function
(`services.similar.search_picture`), the server's one similarity matcher (`app.state.similar`,
shared with the API route) and the same audit event. The uploaded picture is searched, never
stored; the page never shows it back (the browser previews it itself, blurred)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, File, Form, Request, UploadFile, status
from fastapi.responses import Response

from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Permission
from mediamatch.services.shared_matchers import similarity_matcher_of
from mediamatch.services.similar import DEFAULT_LIMIT, PictureSearch, SimilarityMatcher, search_picture
from mediamatch.signals.pdq import DIHEDRAL_LABELS
from mediamatch.web.deps import DbSession, audit
from mediamatch.web.render import render
from mediamatch.web.routing import page_router
from mediamatch.web.session import SignedIn, require_page

router = page_router()
Investigator = Annotated[SignedIn, Depends(require_page(Permission.SEARCH_SIMILAR))]
Pixel = Annotated[int | None, Form(ge=0, le=100_000)]
MEANINGS = {
    "contains": "Contains the known picture or part of it (a copy: crop, resize, rotation or paste)",
    "related": "Shares a scene or object with the known picture (not a copy)",
}


def similarity_matcher(request: Request) -> SimilarityMatcher:
    """The server's one similarity matcher (the API's too), opened on first use."""
    return similarity_matcher_of(request.app.state)


def transform_label(transform: str) -> str:
    return DIHEDRAL_LABELS.get(transform, transform) if transform else "as is"


def _page(request: Request, user: SignedIn, answer: PictureSearch | None = None, box: dict[str, int | None] | None = None, code: int = 200) -> Response:
    return render(
        request,
        "similar.html.j2",
        status_code=code,
        answer=answer,
        box=box or {"x": None, "y": None, "w": None, "h": None},
        meanings=MEANINGS,
        transform_label=transform_label,
        may_view=user.may(Permission.VIEW_THUMBNAIL),
        may_open_item=user.may(Permission.SEARCH_METADATA),
    )


@router.get("/similar")
def similar_form(request: Request, user: Investigator) -> Response:
    """The upload form with the box to draw."""
    return _page(request, user)


@router.post("/similar")
async def similar_search(
    request: Request,
    user: Investigator,
    session: DbSession,
    file: Annotated[UploadFile, File()],
    x: Pixel = None,
    y: Pixel = None,
    w: Pixel = None,
    h: Pixel = None,
) -> Response:
    """Search the catalogue for the uploaded picture, or the box of it when all four fields are set."""
    fields = {"x": x, "y": y, "w": w, "h": h}
    given = [value for value in fields.values() if value is not None]
    if given and len(given) < 4:
        return _page(request, user, PictureSearch(error="give all four of x, y, width and height, or none to search the whole picture"), fields, 422)
    limit = request.app.state.settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        return _page(request, user, PictureSearch(error=f"pictures are limited to {limit:,} bytes"), fields, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    region = (x, y, w, h) if x is not None and y is not None and w is not None and h is not None else None
    answer = search_picture(similarity_matcher(request), data, region, DEFAULT_LIMIT)
    box_text = ",".join(str(value) for value in region) if region else ""
    audit(session, user.event(AuditAction.SEARCH, "similar", "", box=box_text, found=len(answer.matches)))
    return _page(request, user, answer, fields, 422 if answer.error else 200)
