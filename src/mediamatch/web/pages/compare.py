"""Compare: a seized file and the known item it matched, side by side and labelled, with the
signal, the distance and how the file was transformed (mirrored, rotated), and for videos the
contact sheets with the matched time ranges framed on both sides.

A similarity match (services/similar.py) also says what it is: the file contains the known
picture or part of it ("matched region", with the share of the known picture present), or it
only shares a scene or object with it ("related", not a copy); for pictures its regions are
framed over both sides (SVG over the picture, laid by static/similar.js)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.responses import Response

from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Permission
from mediamatch.services import triage_grid
from mediamatch.signals.pdq import DIHEDRAL_LABELS
from mediamatch.web.deps import DbSession, audit
from mediamatch.web.render import render
from mediamatch.web.routing import page_router
from mediamatch.web.session import SignedIn, require_page

router = page_router()
Triager = Annotated[SignedIn, Depends(require_page(Permission.TRIAGE))]
Id = Annotated[int, Path(ge=0, le=2**31 - 1)]


def ranges_text(ranges: tuple[tuple[float, float], ...]) -> str:
    """Time ranges as a link carries them (catalogue_views.parse_ranges reads them back)."""
    return ",".join(f"{start:g}-{end:g}" for start, end in ranges)


@router.get("/triage/{run_id}/rows/{seq}/compare/{media_id}")
def compare(request: Request, run_id: Id, seq: Id, media_id: Id, user: Triager, session: DbSession) -> Response:
    """The file of a triage row beside the known item it matched."""
    try:
        run = triage_grid.get_run(session, run_id, user.agency_id)
        detail = triage_grid.row_detail(session, run_id, user.agency_id, seq)
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Your agency has no such file in its triage runs.") from None
    match = next((match for match in detail.matches if match.media_id == media_id), None)
    if match is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "This file did not match that item.")
    audit(session, user.event(AuditAction.SEARCH, "triage_row", f"{run_id}/{seq}", compared_with=media_id))
    return render(
        request,
        "compare.html.j2",
        run=run,
        detail=detail,
        match=match,
        transform=DIHEDRAL_LABELS.get(match.transform, match.transform) if match.transform else "as is",
        contributors=detail.contributors.get(media_id, ()),
        known_ranges=ranges_text(match.known_seconds),
        regions=bool(match.query_region and match.known_region) and detail.row.media_kind == "image",
        may_view=user.may(Permission.VIEW_THUMBNAIL),
        may_open_item=user.may(Permission.SEARCH_METADATA),
    )
