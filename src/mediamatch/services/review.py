"""Platform hits and their human review: report, queue, decide, measure.

A platform that matches an upload against our hash list reports the hit here; it waits for a
person. Nothing is reported onwards before a reviewer has looked: a confirmed hit produces a
`HitReport`, a rejected one disputes the indicator, which keeps it out of later hash lists and
counts towards its false-positive rate. Every front end (API, CLI, the stream watcher) calls
these functions, so the rules live here once.

Retries are harmless: the same hash on the same indicator under the same reference, from the
same agency (or, for an in-house detector with no agency, the same source), is one hit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from PIL import Image
from sqlalchemy import Integer, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from mediamatch.media.hashing import hash_bytes
from mediamatch.media.thumbnail import ThumbnailError, jpeg_bytes, placeholder, side_by_side, thumbnail
from mediamatch.signals.registry import find_signal, get_signal
from mediamatch.store.blobs import BlobNotFound, EncryptedBlobStore
from mediamatch.store.models.auth import User
from mediamatch.store.models.catalogue import Agency, MediaItem, MediaSignal
from mediamatch.store.models.review import DECISIONS, MATERIAL_TYPES, Hit, HitReport, HitReview, IndicatorDispute

PLATFORM_SOURCE = "platform"
MAX_REFERENCE = 500
MAX_LIST_NAME = 200
MAX_SOURCE = 32
MAX_TEXT = 2000  # a reviewer's reason or action note
# Signals `hash_bytes` computes from one file (a field of its record of the same name).


class ReviewError(Exception):
    """A hit could not be reported or decided; the message says why."""


class InvalidHit(ReviewError, ValueError):
    """The report itself is wrong (unknown indicator, malformed hash, missing reporter)."""


class HitNotFound(ReviewError, LookupError):
    """No hit with this id."""


class AlreadyDecided(ReviewError):
    """The hit was decided before; a decision is final."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What one decision wrote: the review, and the report (confirm) or the dispute (reject).

    `dispute` is None after a rejection when the indicator was already disputed."""

    review: HitReview
    report: HitReport | None = None
    dispute: IndicatorDispute | None = None


@dataclass(frozen=True, slots=True)
class Rate:
    """Decided hits of one indicator or one list, and the share of them that were wrong."""

    confirmed: int
    rejected: int

    @property
    def false_positive_rate(self) -> float | None:
        decided = self.confirmed + self.rejected
        return self.rejected / decided if decided else None


@dataclass(frozen=True, slots=True)
class IndicatorRate:
    signal_id: int
    signal: str
    disputed: bool
    rate: Rate


@dataclass(frozen=True, slots=True)
class ListRate:
    list_name: str | None  # None: hits reported without naming a list
    list_version: int | None
    rate: Rate


@dataclass(frozen=True, slots=True)
class ErrorRates:
    indicators: list[IndicatorRate]
    lists: list[ListRate]


def _text(value: str | None, field: str, limit: int, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise InvalidHit(f"{field} is required")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidHit(f"{field} must be a non-empty string")
    if len(value) > limit:
        raise InvalidHit(f"{field} is {len(value)} characters; at most {limit}")
    return value


def _canonical_value(indicator: MediaSignal, signal: str, value: str) -> tuple[str, int | None]:
    """Their hash in canonical form, checked against the indicator's signal type, and the
    signal's bit length (None for a signal this process has no class for: kept opaque)."""
    if signal != indicator.signal:
        raise InvalidHit(f"indicator {indicator.id} is a {indicator.signal} hash, not {signal}")
    try:
        signal_type = get_signal(signal)
    except KeyError:
        return str(_text(value, "value", 128, required=True)).strip().lower(), None
    try:
        return signal_type.validate(value), signal_type.bits
    except ValueError as exc:
        raise InvalidHit(str(exc)) from None


def _existing(session: Session, key: dict[str, object]) -> Hit | None:
    conditions = [getattr(Hit, column) == value for column, value in key.items() if value is not None]
    conditions += [getattr(Hit, column).is_(None) for column, value in key.items() if value is None]
    return session.scalars(select(Hit).where(*conditions).order_by(Hit.id).limit(1)).first()


def report_hit(
    session: Session,
    *,
    signal: str,
    value: str,
    signal_id: int,
    distance: int,
    reference: str,
    agency_id: int | None,
    account_id: int | None,
    source: str = PLATFORM_SOURCE,
    list_name: str | None = None,
    list_version: int | None = None,
    stream_time: float | None = None,
    source_label: str | None = None,
) -> Hit:
    """Record a hit as pending review, or return the hit already recorded for the same report.

    A platform's report must name its agency; an in-house detector (`source="watch"`) may
    report without one. Raises `InvalidHit` for anything that cannot be stored as given.
    """
    _text(source, "source", MAX_SOURCE, required=True)
    if source == PLATFORM_SOURCE and agency_id is None:
        raise InvalidHit("a platform's hit must name the reporting agency")
    _text(reference, "reference", MAX_REFERENCE, required=True)
    _text(list_name, "list_name", MAX_LIST_NAME)
    _text(source_label, "source_label", MAX_TEXT)
    if list_version is not None and list_version < 1:
        raise InvalidHit(f"list_version must be 1 or more, not {list_version}")
    if stream_time is not None and not (math.isfinite(stream_time) and stream_time >= 0):
        raise InvalidHit(f"stream_time must be a finite number of seconds >= 0, not {stream_time}")
    indicator = session.get(MediaSignal, signal_id)
    if indicator is None:
        raise InvalidHit(f"no indicator {signal_id}")
    value, bits = _canonical_value(indicator, signal, value)
    if distance < 0 or (bits is not None and distance > bits):
        raise InvalidHit(f"distance {distance} is outside 0..{bits} for {signal}")
    key: dict[str, object] = {"agency_id": agency_id, "source": source, "signal_id": signal_id, "signal": signal, "value": value, "reference": reference}
    found = _existing(session, key)
    if found is not None:
        return found
    hit = Hit(
        account_id=account_id, distance=distance, list_name=list_name, list_version=list_version,
        stream_time=stream_time, source_label=source_label, reported_at=datetime.now(timezone.utc),
        status="pending", **key,
    )  # fmt: skip
    try:
        with session.begin_nested():  # two retries racing on PostgreSQL: the loser reads the winner's row
            session.add(hit)
    except IntegrityError:
        found = _existing(session, key)
        if found is None:
            raise
        return found
    return hit


def review_queue(session: Session, limit: int = 100, offset: int = 0) -> Sequence[Hit]:
    """Pending hits, oldest first, with their indicator and reporting agency loaded."""
    return session.scalars(
        select(Hit)
        .options(joinedload(Hit.indicator), joinedload(Hit.agency))
        .where(Hit.status == "pending")
        .order_by(Hit.reported_at, Hit.id)
        .limit(limit)
        .offset(offset)
    ).all()


def open_dispute(session: Session, signal_id: int) -> IndicatorDispute | None:
    return session.scalars(select(IndicatorDispute).where(IndicatorDispute.signal_id == signal_id, IndicatorDispute.resolved_at.is_(None)).limit(1)).first()


def decide(
    session: Session,
    hit_id: int,
    reviewer: int,
    decision: str,
    reason: str,
    action_taken: str,
    *,
    material_type: str = "known",
    urgent: bool = False,
) -> Decision:
    """Confirm (writes the report) or reject (disputes the indicator) a pending hit, once.

    `reviewer` is the deciding account's user id. A rejection needs a reason: it is what the
    dispute says to whoever resolves it.
    """
    if decision not in DECISIONS:
        raise ReviewError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    if material_type not in MATERIAL_TYPES:
        raise ReviewError(f"material_type must be one of {', '.join(MATERIAL_TYPES)}, not {material_type!r}")
    _text(reason, "reason", MAX_TEXT, required=decision == "reject")
    _text(action_taken, "action_taken", MAX_TEXT)
    # Row lock on PostgreSQL (SQLite's BEGIN IMMEDIATE already serialises writers), so two
    # reviewers deciding at once see each other's decision instead of both passing the check.
    hit = session.scalars(select(Hit).where(Hit.id == hit_id).with_for_update()).first()
    if hit is None:
        raise HitNotFound(f"no hit {hit_id}")
    if hit.status != "pending":
        previous = session.scalars(select(HitReview).where(HitReview.hit_id == hit_id)).first()
        when = f" on {previous.decided_at:%Y-%m-%d %H:%M} UTC" if previous else ""
        raise AlreadyDecided(f"hit {hit_id} was already {hit.status}{when}; a decision is final")
    now = datetime.now(timezone.utc)
    review = HitReview(hit_id=hit.id, reviewer_id=reviewer, decision=decision, reason=reason or "", action_taken=action_taken or "", decided_at=now)
    session.add(review)
    report = dispute = None
    if decision == "confirm":
        hit.status = "confirmed"
        report = _report(hit, reviewer, action_taken or "", material_type, urgent, now)
        session.add(report)
    else:
        hit.status = "rejected"
        if open_dispute(session, hit.signal_id) is None:
            dispute = IndicatorDispute(signal_id=hit.signal_id, hit_id=hit.id, reason=reason, disputed_at=now, disputed_by=reviewer)
            session.add(dispute)
    try:
        session.flush()
    except IntegrityError:  # the unique review per hit: someone else decided it a moment ago
        raise AlreadyDecided(f"hit {hit_id} was decided by someone else just now; a decision is final") from None
    return Decision(review=review, report=report, dispute=dispute)


def _report(hit: Hit, reviewer: int, action_taken: str, material_type: str, urgent: bool, now: datetime) -> HitReport:
    provider: Agency | None = hit.agency
    return HitReport(
        hit_id=hit.id,
        provider_agency_id=hit.agency_id,
        provider_name=provider.name if provider else hit.source,
        provider_country=provider.country if provider else None,
        provider_reference=hit.reference,
        hit_at=hit.reported_at,
        stream_time=hit.stream_time,
        signal=hit.signal,
        value=hit.value,
        signal_id=hit.signal_id,
        distance=hit.distance,
        material_type=material_type,
        content_available=hit.content_sha256 is not None,
        action_taken=action_taken,
        urgent=urgent,
        reviewer_id=reviewer,
        created_at=now,
    )


def error_rates(session: Session, limit: int | None = None) -> ErrorRates:
    """Confirmed and rejected hits per indicator (worst first) and per hash list version.

    Only decided hits count: a pending hit says nothing yet about whether the indicator is
    right. `limit` bounds the indicator rows (the lists are few)."""
    confirmed = func.sum(case((Hit.status == "confirmed", 1), else_=0), type_=Integer)
    rejected = func.sum(case((Hit.status == "rejected", 1), else_=0), type_=Integer)
    decided = Hit.status.in_(("confirmed", "rejected"))
    disputed = select(IndicatorDispute.id).where(IndicatorDispute.signal_id == Hit.signal_id, IndicatorDispute.resolved_at.is_(None)).exists()
    per_indicator = (
        select(Hit.signal_id, MediaSignal.signal, confirmed.label("confirmed"), rejected.label("rejected"), disputed.label("disputed"))
        .join(MediaSignal, MediaSignal.id == Hit.signal_id)
        .where(decided)
        .group_by(Hit.signal_id, MediaSignal.signal)
        .order_by(rejected.desc(), Hit.signal_id)
        .limit(limit)
    )
    per_list = (
        select(Hit.list_name, Hit.list_version, confirmed.label("confirmed"), rejected.label("rejected"))
        .where(decided)
        .group_by(Hit.list_name, Hit.list_version)
        .order_by(Hit.list_name.nulls_last(), Hit.list_version.nulls_last())
    )
    return ErrorRates(
        indicators=[IndicatorRate(row.signal_id, row.signal, bool(row.disputed), Rate(row.confirmed, row.rejected)) for row in session.execute(per_indicator)],
        lists=[ListRate(row.list_name, row.list_version, Rate(row.confirmed, row.rejected)) for row in session.execute(per_list)],
    )


class ContentConflict(ReviewError):
    """The hit takes no content now: it was decided, or its content was uploaded before."""


class ContentTooLarge(ReviewError):
    """The upload is larger than the encrypted store takes."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """The review's side-by-side picture of one hit, and what the audit event records."""

    jpeg: bytes
    media_id: int
    uploaded: bool


def get_hit(session: Session, hit_id: int) -> Hit:
    hit = session.get(Hit, hit_id)
    if hit is None:
        raise HitNotFound(f"no hit {hit_id}")
    return hit


def agency_hits(
    session: Session, agency_id: int, *, status: str | None = None, reference: str | None = None, limit: int = 100, offset: int = 0
) -> Sequence[Hit]:
    """One agency's hits, newest first, optionally of one status or one reference."""
    query = select(Hit).where(Hit.agency_id == agency_id).order_by(Hit.id.desc()).limit(limit).offset(offset)
    if status:
        query = query.where(Hit.status == status)
    if reference is not None:
        query = query.where(Hit.reference == reference)
    return session.scalars(query).all()


def hits_with_items(session: Session, hits: Sequence[Hit]) -> list[tuple[Hit, MediaItem]]:
    """Each hit with the catalogue item its indicator belongs to (series loaded), for review."""
    media_ids = {hit.indicator.media_id for hit in hits}
    items = {item.id: item for item in session.scalars(select(MediaItem).options(selectinload(MediaItem.series)).where(MediaItem.id.in_(sorted(media_ids))))}
    return [(hit, items[hit.indicator.media_id]) for hit in hits]


def hit_reports(session: Session, limit: int = 100, offset: int = 0) -> list[tuple[HitReport, str]]:
    """Report records of confirmed hits, newest first, with the deciding reviewer's username."""
    rows = session.execute(
        select(HitReport, User.username).join(User, User.id == HitReport.reviewer_id).order_by(HitReport.id.desc()).limit(limit).offset(offset)
    ).all()
    return [(report, username) for report, username in rows]


def attach_content(session: Session, store: EncryptedBlobStore, hit_id: int, agency_id: int, data: bytes) -> Hit:
    """Store the platform's copy of the matched item (encrypted) on its own pending hit, once.

    Another agency's hit is reported as missing (HitNotFound); the upload must not be empty
    and must hash to the reported hash (InvalidHit otherwise), so a misrouted file is never
    kept. `data` may be read one byte past the store's limit, to tell that it is too large."""
    hit = session.get(Hit, hit_id)
    if hit is None or hit.agency_id != agency_id:  # another platform's hit does not exist for the caller
        raise HitNotFound(f"no hit {hit_id}")
    if hit.status != "pending":
        raise ContentConflict(f"hit {hit_id} is already {hit.status}; content is only taken before the review")
    if hit.content_sha256 is not None:
        raise ContentConflict(f"content for hit {hit_id} was already uploaded")
    if not data:
        raise InvalidHit("the upload is empty")
    if len(data) > store.max_bytes:
        raise ContentTooLarge(f"uploads are limited to {store.max_bytes:,} bytes")
    check_upload_matches(hit, data)
    hit.content_sha256 = store.put(data)
    return hit


def check_upload_matches(hit: Hit, data: bytes) -> None:
    """Refuse (InvalidHit) an upload whose own hash is not within the signal's threshold of
    the reported hash, so a misrouted file (another user's content) is never kept. Signals not
    computed from a single file here (video frame hashes) are not checked."""
    declared = find_signal(hit.signal)
    if declared is None or declared.computes_from not in ("bytes", "luma"):  # `hash_bytes` computes these from one file
        return
    record = hash_bytes(data, "upload")
    computed = record.value(hit.signal)
    if computed is None:
        raise InvalidHit(f"no {hit.signal} hash can be computed from the upload ({record.error or 'not an image'})")
    distance = declared.distance(computed, hit.value)
    if distance > declared.default_threshold:
        raise InvalidHit(f"the upload's {hit.signal} is {distance} bits from the reported hash (at most {declared.default_threshold}): not the matched item")


def comparison(session: Session, store: EncryptedBlobStore, hit_id: int, *, reveal: bool = False) -> Comparison:
    """The platform's upload (left, if any) beside our known item (right), each a thumbnail,
    greyscale and blurred unless `reveal`. BlobKeyError when the store's keys do not fit."""
    hit = get_hit(session, hit_id)
    item = session.get(MediaItem, hit.indicator.media_id)
    assert item is not None  # media_signals.media_id is a non-null foreign key
    panels = (_panel(store, hit.content_sha256, reveal, "no upload"), _panel(store, item.sha256, reveal, "no stored copy"))
    return Comparison(jpeg_bytes(side_by_side(panels, reveal=reveal)), item.id, hit.content_sha256 is not None)


#: The two sides of a comparison, as the pages label them: the platform's upload and our known item.
SIDES = ("upload", "known")


def comparison_panel(session: Session, store: EncryptedBlobStore, hit_id: int, side: str, *, reveal: bool = False) -> Comparison:
    """One side of `comparison` as its own picture (`side` in SIDES), so a page can show the
    two labelled and reveal each on its own: greyscale and blurred unless `reveal`."""
    if side not in SIDES:
        raise ReviewError(f"side must be one of {', '.join(SIDES)}, not {side!r}")
    hit = get_hit(session, hit_id)
    item = session.get(MediaItem, hit.indicator.media_id)
    assert item is not None  # media_signals.media_id is a non-null foreign key
    panel = _panel(store, hit.content_sha256, reveal, "no upload") if side == "upload" else _panel(store, item.sha256, reveal, "no stored copy")
    return Comparison(jpeg_bytes(panel), item.id, hit.content_sha256 is not None)


def _panel(store: EncryptedBlobStore, address: str | None, reveal: bool, missing: str) -> Image.Image:
    """One side of the comparison: the stored item as a thumbnail, or a labelled blank."""
    if address is None:
        return placeholder(missing)
    try:
        return thumbnail(store.get(address), reveal=reveal)
    except BlobNotFound:
        return placeholder(missing)
    except ThumbnailError:
        return placeholder("not a picture")
