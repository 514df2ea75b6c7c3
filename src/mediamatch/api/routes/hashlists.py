"""Published hash lists for platform accounts: which versions exist, and the signed files.

A platform downloads the full list once and then each version's delta; it verifies both with
the operator's public key, so this route only has to serve the bytes that were published (it
refuses a file whose size changed since). Every download is an audit event."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.responses import FileResponse
from pydantic import BaseModel
from sqlalchemy import select

from mediamatch.api.deps import ObjectId, Principal, SessionDep, audit, require
from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Permission
from mediamatch.services.hashlists import published_versions
from mediamatch.store.models.hashlists import HashListVersion

router = APIRouter(prefix="/api/v1/hashlists", tags=["hashlists"])
Downloader = Annotated[Principal, Depends(require(Permission.DOWNLOAD_HASHLIST))]
MEDIA_TYPE = "application/vnd.mediamatch.hashlist"


class HashListVersionOut(BaseModel):
    name: str
    version: int
    created_at: datetime
    counts: dict[str, int]
    key_id: str
    sha256: str
    size: int
    delta_sha256: str | None
    delta_size: int | None


@router.get("", response_model=list[HashListVersionOut])
def list_versions(principal: Downloader, session: SessionDep) -> list[HashListVersionOut]:
    """Every published version, newest first within each list, with the SHA-256 of its file
    and of its delta from the version before."""
    return [
        HashListVersionOut(
            name=row.name,
            version=row.version,
            created_at=row.created_at,
            counts=json.loads(row.counts),
            key_id=row.key_id,
            sha256=row.sha256,
            size=row.size,
            delta_sha256=row.delta_sha256,
            delta_size=row.delta_size,
        )
        for row in published_versions(session)
    ]


@router.get("/{name}/{version}", response_class=FileResponse)
def download(name: str, version: ObjectId, principal: Downloader, session: SessionDep) -> FileResponse:
    """The signed list file of one version."""
    row = _published(session, name, version)
    return _serve(session, principal, row, "full", row.path, row.sha256, row.size)


@router.get("/{name}/{version}/delta", response_class=FileResponse)
def download_delta(name: str, version: ObjectId, principal: Downloader, session: SessionDep) -> FileResponse:
    """The signed delta from the version before to this one."""
    row = _published(session, name, version)
    if row.delta_path is None or row.delta_sha256 is None or row.delta_size is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"version {version} of {name!r} was published without a delta; download the full list")
    return _serve(session, principal, row, "delta", row.delta_path, row.delta_sha256, row.delta_size)


def _published(session: SessionDep, name: str, version: int) -> HashListVersion:
    row = session.scalar(select(HashListVersion).where(HashListVersion.name == name, HashListVersion.version == version))
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no published version {version} of a list named {name!r}")
    return row


def _serve(session: SessionDep, principal: Principal, row: HashListVersion, part: str, path: str, sha256: str, size: int) -> FileResponse:
    file = Path(path)
    try:
        actual = file.stat().st_size
    except OSError:
        raise HTTPException(status.HTTP_410_GONE, f"the {part} file of {row.name} v{row.version} is no longer on the server") from None
    if actual != size:
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, f"the {part} file of {row.name} v{row.version} changed since it was published; re-export it")
    audit(session, principal.event(AuditAction.HASHLIST_DOWNLOADED, "hashlist", f"{row.name}/{row.version}", part=part, sha256=sha256))
    suffix = ".delta" if part == "delta" else ""
    return FileResponse(file, media_type=MEDIA_TYPE, filename=f"{row.name}-v{row.version}.mmhl{suffix}", headers={"X-Content-SHA256": sha256})
