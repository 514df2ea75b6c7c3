"""What an account's home page shows: its agency's notifications, its agency's recent work,
and the counts that say where work is waiting.

One read per page view, for the browser workspace; the API offers the same facts resource by
resource (notifications, hits). Everything is scoped to the caller's agency: one agency never
sees another's notifications or work here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mediamatch.store import repo
from mediamatch.store.models.catalogue import Contribution, Series, Victim
from mediamatch.store.models.review import Hit
from mediamatch.store.models.server import Notification, SeriesInterest


@dataclass(frozen=True, slots=True)
class NotificationView:
    id: int
    kind: str
    series: str | None
    message: str
    created_at: datetime
    read: bool


@dataclass(frozen=True, slots=True)
class RecentSeries:
    """A series the agency contributed to, with how many files and when it last did."""

    name: str
    files: int
    last_at: datetime
    victim_identified: bool


@dataclass(frozen=True, slots=True)
class Overview:
    notifications: list[NotificationView]
    recent_work: list[RecentSeries]
    unread: int
    series_held: int  # series the agency contributed to or matched (its interest, as notifications use it)
    series_identified: int  # of those, with an identified victim
    files_contributed: int
    hits_pending: int | None  # None: not counted for this account (it does not review)


def agency_overview(session: Session, agency_id: int, *, count_pending_hits: bool, limit: int = 10) -> Overview:
    """The home page of an account of `agency_id`; pending platform hits are counted only
    for those who review them."""
    notifications = [
        NotificationView(n.id, n.kind, name, n.message, n.created_at, n.read_at is not None)
        for n, name in session.execute(
            select(Notification, Series.name)
            .outerjoin(Series, Series.id == Notification.series_id)
            .where(Notification.agency_id == agency_id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    ]
    unread = session.scalar(select(func.count()).where(Notification.agency_id == agency_id, Notification.read_at.is_(None))) or 0
    held = set(session.scalars(select(SeriesInterest.series_id).where(SeriesInterest.agency_id == agency_id)))
    held |= set(session.scalars(select(Contribution.series_id).where(Contribution.agency_id == agency_id, Contribution.series_id.is_not(None)).distinct()))
    identified = repo.series_with_identified(session, held, Victim)
    work = session.execute(
        select(Series.id, Series.name, func.count(Contribution.id), func.max(Contribution.contributed_at))
        .join(Contribution, Contribution.series_id == Series.id)
        .where(Contribution.agency_id == agency_id)
        .group_by(Series.id, Series.name)
        .order_by(func.max(Contribution.contributed_at).desc())
        .limit(limit)
    ).all()
    work_identified = repo.series_with_identified(session, [row[0] for row in work], Victim)
    recent = [RecentSeries(name, files, _aware(last), series_id in work_identified) for series_id, name, files, last in work]
    files = session.scalar(select(func.count(func.distinct(Contribution.media_id))).where(Contribution.agency_id == agency_id)) or 0
    pending = (session.scalar(select(func.count()).select_from(Hit).where(Hit.status == "pending")) or 0) if count_pending_hits else None
    return Overview(notifications, recent, unread, len(held), len(identified), files, pending)


def mark_notification_read(session: Session, agency_id: int, notification_id: int) -> bool:
    """Mark one of the agency's notifications read; False when the agency has no such one."""
    notification = session.get(Notification, notification_id)
    if notification is None or notification.agency_id != agency_id:
        return False
    notification.read_at = notification.read_at or datetime.now(timezone.utc)
    return True


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive times for these columns: they were stored as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
