"""Contributing media and viewing it. Content is stored encrypted; a view returns a blurred
greyscale thumbnail unless the full picture is asked for explicitly, and every view is audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile, status
from fastapi.responses import Response

from mediamatch.api.deps import ObjectId, Principal, SessionDep, audit, require
from mediamatch.api.schemas import ContributionOut, MediaMetadataIn, MediaMetadataOut
from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Permission
from mediamatch.catalog.hashes import BytesSource
from mediamatch.catalog.records import Category
from mediamatch.media import thumbnail as thumbnails
from mediamatch.services.contribute import ContributionRequest, checked_request, contribute_uploads
from mediamatch.services.metadata import MetadataCorrection, NotAContributor, correct_metadata
from mediamatch.store.blobs import BlobKeyError, BlobNotFound
from mediamatch.store.models.catalogue import MediaItem

router = APIRouter(prefix="/api/v1/media", tags=["media"])
Contributor = Annotated[Principal, Depends(require(Permission.CONTRIBUTE_MEDIA))]
ThumbnailViewer = Annotated[Principal, Depends(require(Permission.VIEW_THUMBNAIL))]
ContentViewer = Annotated[Principal, Depends(require(Permission.VIEW_CONTENT))]
Editor = Annotated[Principal, Depends(require(Permission.EDIT_METADATA))]


async def read_uploads(request: Request, files: list[UploadFile]) -> list[BytesSource]:
    settings = request.app.state.settings
    if len(files) > settings.max_files_per_upload:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"at most {settings.max_files_per_upload} files per request")
    sources, total = [], 0
    for upload in files:
        data = await upload.read(settings.max_upload_bytes + 1)
        total += len(data)
        if total > settings.max_upload_bytes:
            raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"uploads are limited to {settings.max_upload_bytes:,} bytes per request")
        sources.append(BytesSource((upload.filename or "upload")[:500], data))
    return sources


@router.post("", response_model=list[ContributionOut])
async def contribute_media(
    request: Request,
    principal: Contributor,
    session: SessionDep,
    files: Annotated[list[UploadFile], File(description="Known media to contribute.")],
    series: Annotated[str, Form(min_length=1, max_length=200)],
    category: Annotated[int, Form(ge=0, le=4)] = int(Category.CHILD_ABUSE_MATERIAL),
    baseline: Annotated[bool, Form()] = False,
    victim_identified: Annotated[bool, Form()] = False,
    case: Annotated[str | None, Form(max_length=200)] = None,
) -> list[ContributionOut]:
    """Contribute files to a series for the caller's agency. The answer says, per file, whether it
    was already known, from which agency and case, and whether its victim is identified."""
    try:
        contribution = checked_request(
            ContributionRequest(series=series, category=category, baseline=baseline, victim_identified=victim_identified, agency=principal.agency, case=case)
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    sources = await read_uploads(request, files)
    outcomes = contribute_uploads(request.app.state.engine, session, sources, contribution, principal.agency_id, request.app.state.blobs)
    added = sum(o.status == "added" for o in outcomes)
    audit(session, principal.event(AuditAction.UPLOAD, "series", contribution.series, files=len(sources), added=added))
    return [
        ContributionOut(
            file=o.path,
            status=o.status,  # type: ignore[arg-type]
            media_id=o.media_id,
            sha256=o.sha256,
            known_from=list(o.known_from),
            victim_identified=o.victim_identified,
            error=o.error,
        )
        for o in outcomes
    ]


@router.patch("/{media_id}", response_model=MediaMetadataOut)
def edit_metadata(media_id: ObjectId, body: MediaMetadataIn, principal: Editor, session: SessionDep) -> MediaMetadataOut:
    """Correct an item's category or Baseline flag, or add it to a series. Only an agency that
    contributed the item may; the audit event keeps the old and new values."""
    correction = MetadataCorrection(category=body.category, baseline=body.baseline, add_series=body.add_series)
    try:
        item = correct_metadata(session, media_id, principal.agency_id, correction)
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such media item") from None
    except NotAContributor as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    if item.changes:
        audit(session, principal.event(AuditAction.METADATA_CHANGE, "media", media_id, **item.changes))
    return MediaMetadataOut(media_id=item.media_id, category=item.category, baseline=item.baseline, series=list(item.series))


def _content(request: Request, session: SessionDep, media_id: int) -> bytes:
    item = session.get(MediaItem, media_id)
    if item is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such media item")
    if item.sha256 is None:  # imported from another system's hash list: there is no file
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no stored copy of this item (known by hashes only)")
    try:
        return request.app.state.blobs.get(item.sha256)
    except BlobNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no stored copy of this item (contributed as hashes only)") from None
    except BlobKeyError as exc:  # a deployment fault, said plainly: the keyring does not fit the store
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"stored content cannot be decrypted with this server's keys: {exc}") from None


@router.get("/{media_id}/thumbnail", responses={200: {"content": {"image/jpeg": {}}}})
def thumbnail(media_id: ObjectId, request: Request, principal: ThumbnailViewer, session: SessionDep, reveal: bool = False) -> Response:
    """A 256-px thumbnail, greyscale and blurred unless `reveal=true`; both are audited."""
    data = _content(request, session, media_id)
    try:
        picture = thumbnails.thumbnail(data, reveal=reveal)
    except thumbnails.ThumbnailError:
        raise HTTPException(422, "this item has no picture to show") from None
    audit(session, principal.event(AuditAction.VIEW_THUMBNAIL, "media", media_id, revealed=reveal))
    return Response(thumbnails.jpeg_bytes(picture), media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.get("/{media_id}/content", responses={200: {"content": {"application/octet-stream": {}}}})
def content(media_id: ObjectId, request: Request, principal: ContentViewer, session: SessionDep) -> Response:
    """The full, decrypted original. Investigators only; audited."""
    data = _content(request, session, media_id)
    audit(session, principal.event(AuditAction.VIEW_CONTENT, "media", media_id, bytes=len(data)))
    return Response(
        data, media_type="application/octet-stream", headers={"Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="media-{media_id}"'}
    )
