"""An item of the catalogue: the full view (an audited reveal), its signals, its contributions
(who had it first), where else it was matched, and for a video the video itself (muted and
paused by default, for investigators) and its contact sheet."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.responses import Response

from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Permission
from mediamatch.catalog.records import category_label
from mediamatch.media.thumbnail import ThumbnailError
from mediamatch.services.catalogue_views import item_contact_sheet, item_detail, parse_ranges, stored_media_type
from mediamatch.services.content import NoStoredCopy, stored_copy
from mediamatch.store.blobs import BlobKeyError
from mediamatch.web.deps import DbSession, audit
from mediamatch.web.render import render
from mediamatch.web.routing import page_router
from mediamatch.web.session import SignedIn, require_page

router = page_router()
Reader = Annotated[SignedIn, Depends(require_page(Permission.SEARCH_METADATA))]
Viewer = Annotated[SignedIn, Depends(require_page(Permission.VIEW_THUMBNAIL))]
ContentViewer = Annotated[SignedIn, Depends(require_page(Permission.VIEW_CONTENT))]
MediaId = Annotated[int, Path(ge=1, le=2**31 - 1)]
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/items/{media_id}")
def item_page(request: Request, media_id: MediaId, user: Reader, session: DbSession) -> Response:
    """Everything the catalogue holds about one item."""
    detail = item_detail(session, media_id)
    if detail is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no such item in the catalogue.")
    audit(session, user.event(AuditAction.SEARCH, "media", media_id))
    return render(
        request,
        "item.html.j2",
        item=detail,
        category_label=category_label,
        may_view=user.may(Permission.VIEW_THUMBNAIL),
        may_play=user.may(Permission.VIEW_CONTENT),
    )


@router.get("/items/{media_id}/video", response_class=Response)
def item_video(request: Request, media_id: MediaId, user: ContentViewer, session: DbSession) -> Response:
    """The stored video, for the item page's player (investigators only); audited."""
    try:
        data = stored_copy(session, request.app.state.blobs, media_id)
    except NoStoredCopy as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except BlobKeyError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"Stored content cannot be decrypted with this server's keys: {exc}") from None
    media_type = stored_media_type(session, media_id) or "application/octet-stream"
    audit(session, user.event(AuditAction.VIEW_CONTENT, "media", media_id, bytes=len(data), played=True))
    return Response(data, media_type=media_type if media_type.startswith("video/") else "application/octet-stream", headers=NO_STORE)


@router.get("/items/{media_id}/sheet", response_class=Response)
def item_sheet(request: Request, media_id: MediaId, user: Viewer, session: DbSession, matched: str = "", reveal: bool = False) -> Response:
    """The contact sheet of a known video, `matched` ranges (`start-end,…` seconds) framed;
    blurred unless `reveal`, audited either way."""
    try:
        jpeg = item_contact_sheet(session, request.app.state.blobs, media_id, parse_ranges(matched), reveal=reveal)
    except NoStoredCopy as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except ThumbnailError as exc:
        raise HTTPException(422, str(exc)) from None
    except BlobKeyError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"Stored content cannot be decrypted with this server's keys: {exc}") from None
    audit(session, user.event(AuditAction.VIEW_THUMBNAIL, "media", media_id, revealed=reveal, contact_sheet=True))
    return Response(jpeg, media_type="image/jpeg", headers=NO_STORE)
