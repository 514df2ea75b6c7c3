"""Marking a series' victim identified, and telling every agency that worked on it.

ICSE's promise is that nobody keeps working a case another country has solved. So when an
agency marks a victim identified, every other agency that contributed media of the series, or
matched media of it, gets a notification (listed in the API, and POSTed to its webhook when it
configured one).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

import httpx
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from mediamatch.services.catalogue_changes import catalogue_changed
from mediamatch.services.webhooks import WebhookPolicy, WebhookRefused, post_json
from mediamatch.store import repo
from mediamatch.store.models.catalogue import Agency, Series
from mediamatch.store.models.server import AgencyWebhook, Notification, SeriesInterest

VICTIM_IDENTIFIED = "victim_identified"
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    """A webhook call to make once the transaction that wrote the notification has committed."""

    url: str
    payload: dict[str, object]


@dataclass(frozen=True, slots=True)
class IdentifyOutcome:
    series: str
    notified: tuple[str, ...]  # agency names
    deliveries: tuple[Delivery, ...]


def note_interest(session: Session, agency_id: int, series_ids: set[int], reason: str) -> set[int]:
    """Remember that `agency_id` holds or matched media of these series (first reason kept).
    Returns the series ids that were already recorded (committed by earlier requests)."""
    if not series_ids:
        return set()
    known = set(
        session.scalars(select(SeriesInterest.series_id).where(SeriesInterest.agency_id == agency_id, SeriesInterest.series_id.in_(sorted(series_ids))))
    )
    fresh = series_ids - known  # the usual case writes nothing, so queries do not queue on row locks
    if fresh:
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        rows = [{"agency_id": agency_id, "series_id": series_id, "reason": reason, "first_at": datetime.now(timezone.utc)} for series_id in sorted(fresh)]
        session.execute(insert(SeriesInterest).values(rows).on_conflict_do_nothing())
    return known


class InterestLedger:
    """`note_interest` that skips the database for pairs it has seen stored.

    A server notes interest on every matching query, and an agency matches the same series
    again and again: once a pair is seen committed it needs no further lookup (interest is
    never withdrawn). Pairs this process inserts are remembered only when a later lookup finds
    them, so a rolled-back insert is never taken for a stored one."""

    def __init__(self) -> None:
        self._stored: set[tuple[int, int]] = set()

    def note(self, session: Session, agency_id: int, series_ids: set[int], reason: str) -> None:
        unseen = {series_id for series_id in series_ids if (agency_id, series_id) not in self._stored}
        self._stored.update((agency_id, series_id) for series_id in note_interest(session, agency_id, unseen, reason))


def mark_identified(session: Session, series_name: str, agency: Agency, when: datetime | None = None) -> IdentifyOutcome:
    """Mark the series' victim identified by `agency` and notify the other interested agencies."""
    series = session.scalar(select(Series).where(Series.name == series_name))
    if series is None:
        raise LookupError(f"no series named {series_name!r}")
    when = when or datetime.now(timezone.utc)
    repo.mark_series_victim_identified(session, series, agency, when=when)
    interested = session.execute(
        select(Agency.id, Agency.name, AgencyWebhook.url)
        .join(SeriesInterest, SeriesInterest.agency_id == Agency.id)
        .outerjoin(AgencyWebhook, AgencyWebhook.agency_id == Agency.id)
        .where(SeriesInterest.series_id == series.id, Agency.id != agency.id)
        .order_by(Agency.name)
    ).all()
    message = f"The victim of series {series.name!r} was identified by {agency.name} ({agency.country}) on {when.date().isoformat()}."
    deliveries = []
    for agency_id, _, url in interested:
        session.add(Notification(agency_id=agency_id, series_id=series.id, kind=VICTIM_IDENTIFIED, message=message, created_at=when))
        if url:
            deliveries.append(
                Delivery(url, {"kind": VICTIM_IDENTIFIED, "series": series.name, "identified_by": agency.name, "at": when.isoformat(), "message": message})
            )
    session.flush()
    catalogue_changed(session)  # matches must now say the victim is identified
    return IdentifyOutcome(series.name, tuple(name for _, name, _ in interested), tuple(deliveries))


def deliver(delivery: Delivery, policy: WebhookPolicy) -> None:
    """POST one notification, if its URL still passes the webhook checks; a receiver that is
    down or refused misses the call, not the notification (it stays listed for the agency).
    Run after the commit that wrote the notification (a background task of the request)."""
    try:
        post_json(delivery.url, delivery.payload, policy)
    except WebhookRefused as exc:
        log.warning("webhook not called: %s", exc)
    except httpx.HTTPError as exc:
        log.info("webhook call failed: %s", exc)
