"""Claiming a series (or one item) for an agency's investigation, and ending that claim.

Deconfliction is the point: two units unknowingly working the same child's case waste the
weeks that matter and can spoil each other's operations. So a claim is shown wherever the
material is met (triage rows and query results carry "under investigation by ... since ..."),
and a second agency claiming work another already holds is told who holds it, while both
are notified. A claim is never deleted: it ends (closed, or handed over to another agency)
with a reason, and the ended claims are the history.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mediamatch.catalog import validate
from mediamatch.catalog.collaboration import Actor, ClaimOutcome, InvestigationRecord, free_text
from mediamatch.services.catalogue_changes import catalogue_changed
from mediamatch.store.models.catalogue import Agency, MediaItem, Series, media_series
from mediamatch.store.models.collaboration import END_KINDS, Investigation
from mediamatch.store.models.server import Notification

INVESTIGATION_OVERLAP = "investigation_overlap"
INVESTIGATION_HANDED_OVER = "investigation_handed_over"
CONTACT_MAX_LENGTH = 500
REASON_MAX_LENGTH = 2000


class ClaimRefused(ValueError):
    """The claim cannot be made or ended as asked; the message says why (a ValueError from
    `free_text` says the same of a field)."""


def claim(session: Session, claimant: Actor, *, series: str | None = None, media_id: int | None = None, case_reference: str, contact: str) -> ClaimOutcome:
    """Claim `series` (by name) or the item `media_id` for the claimant's agency.

    LookupError when the series or item does not exist; ClaimRefused when both or neither are
    given, a field is invalid, or the agency already holds an open claim on it."""
    if (series is None) == (media_id is None):
        raise ClaimRefused("claim either a series or a single item")
    reference = validate.case_reference(case_reference)
    contact = free_text(contact, "contact", CONTACT_MAX_LENGTH, one_line=True)
    target_series_ids, series_id = _target(session, series, media_id)
    others = _open_claims_on(session, target_series_ids, media_id)
    if any(existing.agency_id == claimant.agency_id and existing.series_id == series_id and existing.media_id == media_id for existing in others):
        raise ClaimRefused("your agency already holds an open claim on this; end it before claiming again")
    investigation = Investigation(
        agency_id=claimant.agency_id, series_id=series_id, media_id=media_id, case_reference=reference, contact=contact,
        claimed_by=claimant.username, started_at=datetime.now(timezone.utc),
    )  # fmt: skip
    session.add(investigation)
    session.flush()
    record = as_record(session, investigation)
    already = tuple(as_record(session, existing) for existing in others if existing.agency_id != claimant.agency_id)
    notified = _notify_overlap(session, record, already, series_id)
    catalogue_changed(session)  # query results and triage rows now name the claim
    return ClaimOutcome(record, already, notified)


def _target(session: Session, series: str | None, media_id: int | None) -> tuple[set[int], int | None]:
    """The series the claimed work touches, and the series id to store (None for an item)."""
    if series is not None:
        series_id = session.scalar(select(Series.id).where(Series.name == series))
        if series_id is None:
            raise LookupError(f"no series named {series!r}")
        return {series_id}, series_id
    if session.get(MediaItem, media_id) is None:
        raise LookupError(f"no media item {media_id}")
    return set(session.scalars(select(media_series.c.series_id).where(media_series.c.media_id == media_id))), None


def _open_claims_on(session: Session, series_ids: set[int], media_id: int | None) -> list[Investigation]:
    """Open claims that overlap: on one of the series, on an item of them, or on the item itself."""
    items_of_series = select(media_series.c.media_id).where(media_series.c.series_id.in_(sorted(series_ids)))
    overlap = or_(
        Investigation.series_id.in_(sorted(series_ids)),
        Investigation.media_id.in_(items_of_series),
        *([Investigation.media_id == media_id] if media_id is not None else []),
    )
    return list(session.scalars(select(Investigation).where(Investigation.ended_at.is_(None), overlap).order_by(Investigation.started_at)))


def _notify_overlap(session: Session, new: InvestigationRecord, already: tuple[InvestigationRecord, ...], series_id: int | None) -> tuple[str, ...]:
    if not already:
        return ()
    what = f"series {new.series!r}" if new.series else f"media item {new.media_id}"
    holders = "; ".join(f"{other.agency} ({other.country}) since {other.started_at.date().isoformat()}, contact {other.contact}" for other in already)
    agencies = dict(session.execute(select(Agency.name, Agency.id).where(Agency.name.in_([o.agency for o in already]))).all())
    new_agency_id = session.scalar(select(Agency.id).where(Agency.name == new.agency))
    session.add(
        Notification(
            agency_id=new_agency_id,
            series_id=series_id,
            kind=INVESTIGATION_OVERLAP,
            message=f"Your claim on {what} overlaps work already claimed by {holders}.",
        )
    )
    for other in already:
        message = f"{new.agency} ({new.country}) claimed {what} (contact {new.contact}), which overlaps your investigation {other.case_reference}."
        session.add(Notification(agency_id=agencies[other.agency], series_id=series_id, kind=INVESTIGATION_OVERLAP, message=message))
    session.flush()
    return tuple(sorted({new.agency, *(other.agency for other in already)}))


def end(session: Session, investigation_id: int, claimant: Actor, kind: str, reason: str, handed_to: str | None = None) -> InvestigationRecord:
    """End the agency's own open claim: closed, or handed over to the agency named `handed_to`
    (which is notified and may then claim it). LookupError when there is no such claim of
    the agency's; ClaimRefused for an ended claim or a missing reason or recipient."""
    investigation = session.get(Investigation, investigation_id)
    if investigation is None or investigation.agency_id != claimant.agency_id:
        raise LookupError(f"your agency holds no investigation {investigation_id}")
    if investigation.ended_at is not None:
        raise ClaimRefused("this investigation has already ended")
    if kind not in END_KINDS:
        raise ClaimRefused(f"end a claim as one of {', '.join(END_KINDS)}")
    reason = free_text(reason, "reason", REASON_MAX_LENGTH)
    recipient = None
    if kind == "handed_over":
        if not handed_to:
            raise ClaimRefused("name the agency the investigation is handed over to")
        recipient = session.scalar(select(Agency).where(Agency.name == handed_to))
        if recipient is None or recipient.id == claimant.agency_id:
            raise ClaimRefused(f"no other agency named {handed_to!r}")
    investigation.ended_at = datetime.now(timezone.utc)
    investigation.end_kind = kind
    investigation.end_reason = reason
    investigation.ended_by = claimant.username
    investigation.handed_to_id = recipient.id if recipient else None
    session.flush()
    record = as_record(session, investigation)
    if recipient is not None:
        what = f"series {record.series!r}" if record.series else f"media item {record.media_id}"
        session.add(
            Notification(
                agency_id=recipient.id, series_id=investigation.series_id, kind=INVESTIGATION_HANDED_OVER,
                message=f"{record.agency} handed {what} over to your agency ({record.end_reason}); contact {record.contact}.",
            )
        )  # fmt: skip
    catalogue_changed(session)
    return record


def list_investigations(session: Session, *, series: str | None = None, open_only: bool = False) -> list[InvestigationRecord]:
    """Claims, oldest first, with the ended ones unless `open_only`: on `series` (and its items) when given."""
    query = select(Investigation).order_by(Investigation.started_at, Investigation.id)
    if series is not None:
        series_id = session.scalar(select(Series.id).where(Series.name == series))
        if series_id is None:
            raise LookupError(f"no series named {series!r}")
        items = select(media_series.c.media_id).where(media_series.c.series_id == series_id)
        query = query.where(or_(Investigation.series_id == series_id, Investigation.media_id.in_(items)))
    if open_only:
        query = query.where(Investigation.ended_at.is_(None))
    return [as_record(session, investigation) for investigation in session.scalars(query)]


def as_record(session: Session, investigation: Investigation) -> InvestigationRecord:
    return InvestigationRecord(
        id=investigation.id, agency=investigation.agency.name, country=investigation.agency.country,
        series=investigation.series.name if investigation.series else None, media_id=investigation.media_id,
        case_reference=investigation.case_reference, contact=investigation.contact, claimed_by=investigation.claimed_by,
        started_at=investigation.started_at, ended_at=investigation.ended_at, end_kind=investigation.end_kind,
        end_reason=investigation.end_reason, handed_to=investigation.handed_to.name if investigation.handed_to else None,
    )  # fmt: skip
