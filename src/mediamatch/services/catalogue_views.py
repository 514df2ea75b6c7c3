"""What the workspace's series and item pages show, as plain records, in a bounded number of
queries whatever the series' size.

A series of 10,000 items is shown a page of items at a time; the list of series counts items,
victims and agencies with one grouped query each, not one query per series. Who to contact
about a series is every agency that contributed or matched its media (`series_interest`, the
same table identification notices go to), with its country.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from mediamatch.catalog.records import SeriesDetail, SeriesSummary
from mediamatch.media.contact_sheet import contact_sheet
from mediamatch.media.thumbnail import ThumbnailError, jpeg_bytes, thumbnail
from mediamatch.services.content import NoStoredCopy, stored_copy
from mediamatch.signals.registry import hamming_signal
from mediamatch.store import repo
from mediamatch.store.blobs import BlobKeyError, EncryptedBlobStore
from mediamatch.store.models.catalogue import Agency, Case, Contribution, MediaItem, MediaSignal, Series, Victim, media_series, series_victims
from mediamatch.store.models.review import Hit
from mediamatch.store.models.server import SeriesInterest
from mediamatch.store.models.triage_runs import TriageRun, TriageRunRow

SERIES_PER_PAGE = 50
ITEMS_PER_PAGE = 60


@dataclass(frozen=True, slots=True)
class SeriesList:
    rows: tuple[SeriesSummary, ...]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True, slots=True)
class ItemCard:
    """An item as a grid shows it."""

    media_id: int
    media_type: str
    category: int | None
    baseline: bool
    width: int | None
    height: int | None
    duration: float | None
    has_file: bool  # False: known by hashes only, nothing to show


@dataclass(frozen=True, slots=True)
class AgencyContact:
    """An agency that worked on a series: whom to reach about it."""

    name: str
    country: str
    reason: str  # "contributed" or "matched"
    since: datetime


@dataclass(frozen=True, slots=True)
class SeriesPage:
    detail: SeriesDetail
    items: tuple[ItemCard, ...]
    page: int
    per_page: int
    agencies: tuple[AgencyContact, ...]

    @property
    def pages(self) -> int:
        return max(1, -(-self.detail.summary.items // self.per_page))

    @property
    def identified(self) -> bool:
        return self.detail.summary.victims_identified > 0


def list_series(session: Session, search: str = "", identified: bool | None = None, page: int = 1, per_page: int = SERIES_PER_PAGE) -> SeriesList:
    """Series whose name contains `search` (any case), optionally only those with (or without)
    an identified victim, by name, one page at a time. Items and agencies are counted for the
    page's series only, so the list costs the same however large the catalogue."""
    victims = (
        select(series_victims.c.series_id, func.count().label("n"), func.sum(case((Victim.identified.is_(True), 1), else_=0)).label("identified"))
        .join(Victim, Victim.id == series_victims.c.victim_id)
        .group_by(series_victims.c.series_id)
        .subquery()
    )
    statement = select(Series.id, Series.name, Series.created_at, victims.c.n, victims.c.identified).outerjoin(victims, victims.c.series_id == Series.id)
    if search:
        statement = statement.where(func.lower(Series.name).contains(search.lower(), autoescape=True))
    if identified is True:
        statement = statement.where(victims.c.identified > 0)
    elif identified is False:
        statement = statement.where(or_(victims.c.identified.is_(None), victims.c.identified == 0))
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    shown = session.execute(statement.order_by(Series.name).offset((page - 1) * per_page).limit(per_page)).all()
    ids = [row.id for row in shown]
    items: dict[int, int] = dict(
        session.execute(select(media_series.c.series_id, func.count()).where(media_series.c.series_id.in_(ids)).group_by(media_series.c.series_id)).all()
    )
    agencies = {
        key: count
        for key, count in session.execute(
            select(Contribution.series_id, func.count(func.distinct(Contribution.agency_id)))
            .where(Contribution.series_id.in_(ids))
            .group_by(Contribution.series_id)
        )
        if key is not None
    }
    return SeriesList(
        rows=tuple(
            SeriesSummary(row.name, items.get(row.id, 0), row.n or 0, int(row.identified or 0), agencies.get(row.id, 0), row.created_at) for row in shown
        ),
        total=total,
        page=page,
        per_page=per_page,
    )


def series_page(session: Session, name: str, page: int = 1, per_page: int = ITEMS_PER_PAGE) -> SeriesPage | None:
    """A series with one page of its items (by id: the order they were added), its victims,
    timeline and the agencies that worked on it; None when no series has this name."""
    detail = repo.series_detail(session, name)
    if detail is None:
        return None
    series_id = session.scalar(select(Series.id).where(Series.name == name))
    items = session.execute(
        select(
            MediaItem.id, MediaItem.media_type, MediaItem.category, MediaItem.baseline, MediaItem.width, MediaItem.height, MediaItem.duration, MediaItem.sha256
        )
        .join(media_series, media_series.c.media_id == MediaItem.id)
        .where(media_series.c.series_id == series_id)
        .order_by(MediaItem.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    cards = tuple(ItemCard(*row[:7], has_file=row[7] is not None) for row in items)
    agencies = session.execute(
        select(Agency.name, Agency.country, SeriesInterest.reason, SeriesInterest.first_at)
        .join(SeriesInterest, SeriesInterest.agency_id == Agency.id)
        .where(SeriesInterest.series_id == series_id)
        .order_by(SeriesInterest.first_at, Agency.name)
    )
    contacts = {row[0]: AgencyContact(*row) for row in agencies}
    # contributions made outside the server's API (the CLI, an exchange import) leave no interest
    # row: the timeline already names every contributing agency, with its first contribution
    first: dict[str, datetime] = {}
    for event in detail.timeline:
        if event.kind == "contribution" and event.agency not in contacts:
            first[event.agency] = min(first.get(event.agency, event.at), event.at)
    countries = dict(session.execute(select(Agency.name, Agency.country).where(Agency.name.in_(sorted(first)))).all()) if first else {}
    for agency, since in first.items():
        contacts[agency] = AgencyContact(agency, countries.get(agency, ""), "contributed", since)
    return SeriesPage(detail, cards, page, per_page, tuple(contacts.values()))


@dataclass(frozen=True, slots=True)
class SignalValue:
    signal: str
    value: str
    quality: int | None


@dataclass(frozen=True, slots=True)
class ContributionLine:
    agency: str
    country: str
    case: str | None
    original_name: str
    series: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class MatchedElsewhere:
    """An agency whose triage found this item, or a platform's hits on it."""

    agency: str
    how: str  # "triage" or "platform hit"
    times: int
    last: datetime | None


@dataclass(frozen=True, slots=True)
class ItemDetail:
    card: ItemCard
    sha256: str | None
    md5: str
    sha1: str
    series: tuple[str, ...]
    victim_identified: bool
    signals: tuple[SignalValue, ...]
    frame_hashes: int
    contributions: tuple[ContributionLine, ...]  # oldest first: the first is who had it first
    matched_elsewhere: tuple[MatchedElsewhere, ...]

    @property
    def is_video(self) -> bool:
        return self.card.media_type.startswith("video/") or self.frame_hashes > 0


def item_detail(session: Session, media_id: int) -> ItemDetail | None:
    """Everything the catalogue holds about one item, None when there is no such item."""
    item = session.get(MediaItem, media_id)
    if item is None:
        return None
    frame_signal = hamming_signal("video_frame").name
    signals = session.execute(
        select(MediaSignal.signal, MediaSignal.value, MediaSignal.quality)
        .where(MediaSignal.media_id == media_id, MediaSignal.signal != frame_signal)
        .order_by(MediaSignal.signal, MediaSignal.id)
    )
    frames = session.scalar(select(func.count()).where(MediaSignal.media_id == media_id, MediaSignal.signal == frame_signal)) or 0
    contributions = session.execute(
        select(Agency.name, Agency.country, Case.reference, Contribution.original_name, Series.name, Contribution.contributed_at)
        .join(Agency, Agency.id == Contribution.agency_id)
        .outerjoin(Case, Case.id == Contribution.case_id)
        .outerjoin(Series, Series.id == Contribution.series_id)
        .where(Contribution.media_id == media_id)
        .order_by(Contribution.contributed_at, Contribution.id)
    )
    detail = repo.match_details(session, [media_id])[media_id]
    return ItemDetail(
        card=ItemCard(item.id, item.media_type, item.category, item.baseline, item.width, item.height, item.duration, item.sha256 is not None),
        sha256=item.sha256,
        md5=item.md5,
        sha1=item.sha1,
        series=detail.series,
        victim_identified=detail.victim_identified,
        signals=tuple(SignalValue(*row) for row in signals),
        frame_hashes=frames,
        contributions=tuple(ContributionLine(*row) for row in contributions),
        matched_elsewhere=_matched_elsewhere(session, media_id),
    )


def _matched_elsewhere(session: Session, media_id: int) -> tuple[MatchedElsewhere, ...]:
    found: dict[tuple[str, str], MatchedElsewhere] = {}
    for agency, count, last in session.execute(
        select(Agency.name, func.count(), func.max(TriageRun.created_at))
        .join(TriageRun, TriageRun.agency_id == Agency.id)
        .join(TriageRunRow, and_(TriageRunRow.run_id == TriageRun.id, TriageRunRow.media_id == media_id))
        .group_by(Agency.name)
    ):
        found[(agency, "triage")] = MatchedElsewhere(agency, "triage", count, last)
    hits: dict[str, list[datetime]] = defaultdict(list)
    for agency, reported_at in session.execute(
        select(func.coalesce(Agency.name, Hit.source), Hit.reported_at)
        .join(MediaSignal, MediaSignal.id == Hit.signal_id)
        .outerjoin(Agency, Agency.id == Hit.agency_id)
        .where(MediaSignal.media_id == media_id)
    ):
        hits[agency].append(reported_at)
    for agency, moments in hits.items():
        found[(agency, "platform hit")] = MatchedElsewhere(agency, "platform hit", len(moments), max(moments))
    return tuple(sorted(found.values(), key=lambda entry: (entry.agency, entry.how)))


def item_contact_sheet(session: Session, blobs: EncryptedBlobStore, media_id: int, matched: Sequence[tuple[float, float]], *, reveal: bool) -> bytes:
    """A JPEG contact sheet of a known video, the `matched` time ranges framed; greyscale and
    blurred unless `reveal`. NoStoredCopy, or ThumbnailError when no frame can be shown."""
    try:
        sheet = contact_sheet(stored_copy(session, blobs, media_id), matched)
    except (NoStoredCopy, BlobKeyError):
        raise
    except Exception:  # noqa: BLE001 - a video the decoder refuses has no sheet, like a picture that is not one
        sheet = None
    if sheet is None:
        raise ThumbnailError("no frame of this video can be shown")
    return jpeg_bytes(thumbnail(jpeg_bytes(sheet), max(sheet.size), reveal=reveal))


def parse_ranges(text: str, limit: int = 50) -> tuple[tuple[float, float], ...]:
    """Time ranges written `start-end,start-end` (seconds), as the pages put them in a link;
    malformed parts are left out."""
    ranges = []
    for part in text.split(",")[:limit]:
        start, _, end = part.partition("-")
        try:
            first, last = float(start), float(end)
        except ValueError:
            continue
        if 0 <= first <= last < 1e7:
            ranges.append((first, last))
    return tuple(ranges)


def stored_media_type(session: Session, media_id: int) -> str | None:
    item = session.get(MediaItem, media_id)
    return item.media_type if item is not None else None
