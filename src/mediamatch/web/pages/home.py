"""Home: the agency's notifications, its recent work and where work is waiting."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.responses import RedirectResponse, Response

from mediamatch.auth.permissions import Permission
from mediamatch.services.workspace import agency_overview, mark_notification_read
from mediamatch.web.deps import DbSession
from mediamatch.web.render import render
from mediamatch.web.routing import page_router
from mediamatch.web.session import PageUser, SignedIn, require_page

router = page_router()
Reader = Annotated[SignedIn, Depends(require_page(Permission.READ_NOTIFICATIONS))]


@router.get("/")
def home(request: Request, user: PageUser, session: DbSession) -> Response:
    """Notifications and counters for accounts that read them; a plain welcome otherwise
    (an auditor's or a platform's account has no agency casework)."""
    overview = (
        agency_overview(session, user.agency_id, count_pending_hits=user.may(Permission.REVIEW_HITS)) if user.may(Permission.READ_NOTIFICATIONS) else None
    )
    return render(request, "home.html.j2", overview=overview)


@router.post("/notifications/{notification_id}/read")
def read_notification(notification_id: Annotated[int, Path(ge=1, le=2**31 - 1)], user: Reader, session: DbSession) -> Response:
    """Mark one of the agency's notifications read, then back home."""
    if not mark_notification_read(session, user.agency_id, notification_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no such notification for your agency.")
    session.commit()
    return RedirectResponse("/", status_code=303)
