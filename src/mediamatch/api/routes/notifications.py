"""An agency's notifications (e.g. a victim of a series it worked on was identified)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from sqlalchemy import select

from mediamatch.api.deps import Limit, ObjectId, Offset, Principal, SessionDep, require
from mediamatch.api.schemas import NotificationOut
from mediamatch.auth.permissions import Permission
from mediamatch.store.models.catalogue import Series
from mediamatch.store.models.server import Notification

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
Reader = Annotated[Principal, Depends(require(Permission.READ_NOTIFICATIONS))]


@router.get("", response_model=list[NotificationOut])
def list_notifications(principal: Reader, session: SessionDep, unread: bool = False, limit: Limit = 100, offset: Offset = 0) -> list[NotificationOut]:
    """The caller's agency's notifications, newest first."""
    query = (
        select(Notification, Series.name)
        .outerjoin(Series, Series.id == Notification.series_id)
        .where(Notification.agency_id == principal.agency_id)
        .order_by(Notification.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if unread:
        query = query.where(Notification.read_at.is_(None))
    return [
        NotificationOut(id=n.id, kind=n.kind, series=name, message=n.message, created_at=n.created_at, read=n.read_at is not None)
        for n, name in session.execute(query)
    ]


@router.post("/{notification_id}/read", status_code=status.HTTP_204_NO_CONTENT)
def mark_read(notification_id: ObjectId, principal: Reader, session: SessionDep) -> None:
    """Mark one of the agency's notifications read."""
    notification = session.get(Notification, notification_id)
    if notification is None or notification.agency_id != principal.agency_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such notification")
    notification.read_at = notification.read_at or datetime.now(timezone.utc)
