"""Pictures of known material for the pages: `<img class="mm-content">` points here.

The same reduced thumbnails and the same audit event (`view_thumbnail`, with `revealed`) as the
API's thumbnail route: a blurred view is recorded, and a reveal is a separate request that is
recorded as one. Never cached by the browser (`no-store`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.responses import Response

from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Permission
from mediamatch.media.thumbnail import ThumbnailError
from mediamatch.services.content import MAX_VIEW_SIZE, NoStoredCopy, reduced_picture
from mediamatch.store.blobs import BlobKeyError
from mediamatch.web.deps import DbSession, audit
from mediamatch.web.routing import page_router
from mediamatch.web.session import SignedIn, require_page

router = page_router()
Viewer = Annotated[SignedIn, Depends(require_page(Permission.VIEW_THUMBNAIL))]
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/content/media/{media_id}/thumbnail", response_class=Response)
def media_thumbnail(
    media_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    request: Request,
    user: Viewer,
    session: DbSession,
    reveal: bool = False,
    size: Annotated[int | None, Query(ge=64, le=MAX_VIEW_SIZE)] = None,
) -> Response:
    """The item's thumbnail at the account's thumbnail size (or `size`), blurred unless `reveal`."""
    shown = size or user.wellness.thumb_px
    try:
        jpeg = reduced_picture(session, request.app.state.blobs, media_id, shown, reveal=reveal)
    except NoStoredCopy as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except ThumbnailError:
        raise HTTPException(422, "This item has no picture to show.") from None
    except BlobKeyError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"Stored content cannot be decrypted with this server's keys: {exc}") from None
    audit(session, user.event(AuditAction.VIEW_THUMBNAIL, "media", media_id, revealed=reveal, size=shown))
    return Response(jpeg, media_type="image/jpeg", headers=NO_STORE)
