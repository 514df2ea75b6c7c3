"""Catalogue queries: small functions over a Session, returning catalogue records.

Every signal of a media item, the cryptographic ones included, is a row in `media_signals`,
so indexes are built and exact lookups run the same way for any signal type.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TypeVar

from sqlalchemy import and_, func, or_, select, union_all
from sqlalchemy.orm import Session

from mediamatch.catalog.collaboration import investigation_label
from mediamatch.catalog.hashes import HashRecord
from mediamatch.catalog.records import MatchDetail, SeriesDetail, SeriesSummary, TimelineEvent
from mediamatch.signals.registry import all_signals, hamming_signal
from mediamatch.signals.vpdq import variant_signal
from mediamatch.store.models.catalogue import (
    Agency,
    Case,
    Contribution,
    MediaItem,
    MediaSignal,
    Offender,
    Series,
    Victim,
    media_series,
    media_victims,
    series_offenders,
    series_victims,
)
from mediamatch.store.models.collaboration import Investigation

DEFAULT_AGENCY = "local"
# The catalogue's identity of a media item is its SHA-256 (media_items.sha256); its MD5 and
# SHA-1 are columns too, since hash sets exchanged between agencies are keyed by them.
IDENTITY_SIGNAL = "sha256"
ITEM_DIGESTS = ("md5", "sha1")
_Person = TypeVar("_Person", Victim, Offender)


def get_or_create_agency(session: Session, name: str | None, country: str = "XX") -> Agency:
    name = name or DEFAULT_AGENCY
    agency = session.scalar(select(Agency).where(Agency.name == name))
    if agency is None:
        agency = Agency(name=name, country=country.upper()[:2])
        session.add(agency)
        session.flush()
    return agency


def get_or_create_case(session: Session, agency: Agency, reference: str | None) -> Case | None:
    if not reference:
        return None
    case = session.scalar(select(Case).where(Case.agency_id == agency.id, Case.reference == reference))
    if case is None:
        case = Case(agency_id=agency.id, reference=reference)
        session.add(case)
        session.flush()
    return case


def get_or_create_series(session: Session, name: str, notes: str = "") -> Series:
    series = session.scalar(select(Series).where(Series.name == name))
    if series is None:
        series = Series(name=name, notes=notes)
        session.add(series)
        session.flush()
    return series


@dataclass(frozen=True, slots=True)
class AddedMedia:
    media_id: int
    created: bool
    earlier: tuple[str, ...]  # "agency (case)" of contributions made before this one


def add_media(
    session: Session,
    record: HashRecord,
    *,
    series: Series,
    agency: Agency,
    case: Case | None,
    category: int,
    baseline: bool,
) -> AddedMedia:
    """Store a hashed file as a media item (once per SHA-256) and record this contribution.

    A hash-only item (imported from another system's list) with the same MD5/SHA-1 is the same
    file: it is completed with this file's hashes rather than duplicated."""
    sha256 = record.value(IDENTITY_SIGNAL)
    if record.error or not sha256:
        raise ValueError(f"cannot store {record.path}: {record.error or 'no SHA-256'}")
    md5, sha1 = (record.value(name) for name in ITEM_DIGESTS)
    item = find_item(session, sha256=sha256, md5=md5, sha1=sha1)
    created = item is None
    earlier: tuple[str, ...] = ()
    if item is None:
        item = MediaItem(
            sha256=sha256,
            md5=md5 or "",
            sha1=sha1 or "",
            media_type=record.media_type or "application/octet-stream",
            size=record.size or 0,
            width=record.width,
            height=record.height,
            duration=record.duration,
            category=category,
            baseline=baseline,
        )
        session.add(item)
        session.flush()
        for name, value, quality, displayed in _record_signals(record):
            session.add(MediaSignal(media_id=item.id, signal=name, value=value, quality=quality, displayed=displayed))
        _add_frames(session, item.id, record)
    else:
        earlier = describe_contributions(session, item.id)
        item.baseline = item.baseline or baseline
        if item.category is None:  # an uncategorised import: the contributor of the file categorises it
            item.category = category
        if item.sha256 is None:
            _complete_hash_only(session, item, record)
    if series not in item.series:
        item.series.append(series)
    session.add(
        Contribution(
            media_id=item.id,
            agency_id=agency.id,
            case_id=case.id if case else None,
            series_id=series.id,
            original_name=original_name(record.path),
        )
    )
    session.flush()
    return AddedMedia(item.id, created, earlier)


def original_name(path: str) -> str:
    """What a contribution keeps of a file's path: its name, never the folders above it."""
    return path.rsplit("/", 1)[-1]


def has_media(session: Session) -> bool:
    """Whether the catalogue holds any item at all (an empty one makes every file `new`)."""
    return session.scalar(select(MediaItem.id).limit(1)) is not None


def find_item(session: Session, *, sha256: str | None = None, md5: str | None = None, sha1: str | None = None) -> MediaItem | None:
    """The item these hashes name: the one with this SHA-256, else one found by MD5 or SHA-1
    whose other known hashes do not disagree (an MD5 collision is another file)."""
    if sha256 and (item := session.scalar(select(MediaItem).where(MediaItem.sha256 == sha256))):
        return item
    for column, value in ((MediaItem.md5, md5), (MediaItem.sha1, sha1)):
        if value:
            query = select(MediaItem).where(column == value).order_by(MediaItem.id)
            if sha256:  # any item with a SHA-256 has another one: only hash-only items can agree
                query = query.where(MediaItem.sha256.is_(None))
            for item in session.scalars(query):
                if hashes_agree((item.sha256, item.md5, item.sha1), (sha256, md5, sha1)):
                    return item
    return None


def hashes_agree(mine: tuple[str | None, ...], theirs: tuple[str | None, ...]) -> bool:
    """No digest known on both sides differs (SHA-256, MD5, SHA-1 in the same order on both):
    the hashes may describe the same file."""
    return all(not a or not b or a == b for a, b in zip(mine, theirs, strict=True))


def _complete_hash_only(session: Session, item: MediaItem, record: HashRecord) -> None:
    """The file of an item known until now by hashes only: fill in what hashing it told us."""
    item.sha256 = record.value(IDENTITY_SIGNAL)
    item.md5, item.sha1 = (getattr(item, name) or record.value(name) or "" for name in ITEM_DIGESTS)
    item.media_type = record.media_type or item.media_type
    item.size = record.size or item.size
    item.width, item.height, item.duration = record.width, record.height, record.duration
    item.file_available = None  # now answered by the catalogue itself: it has the file's hashes
    for name, value, quality, displayed in _record_signals(record):
        add_signal(session, item.id, name, value, quality, displayed=displayed)
    _add_frames(session, item.id, record)


def _record_signals(record: HashRecord) -> Iterator[tuple[str, str, int | None, bool]]:
    """(signal, value, quality, displayed) of each registered signal the record holds, in
    registry order: the value as stored, then that of the picture as displayed where EXIF turns it."""
    for signal in all_signals():
        if value := record.value(signal.name):
            yield signal.name, value, record.quality(signal.name), False
            if shown := record.displayed.get(signal.name):
                yield signal.name, shown[0], shown[1], True


def _add_frames(session: Session, media_id: int, record: HashRecord) -> None:
    """A video's frame hashes as rows of the frame signal, and their variants as rows of theirs
    (signals/vpdq.py `variant_signal`): each distinct hash once, at its first time."""
    frame_signal = hamming_signal("video_frame").name
    seen: set[tuple[str, str]] = set()
    for frame in record.frames:
        for variant, value, quality in (("", frame.pdq, frame.quality), *frame.variants):
            signal = variant_signal(frame_signal, variant)
            if (signal, value) not in seen:
                seen.add((signal, value))
                session.add(MediaSignal(media_id=media_id, signal=signal, value=value, quality=quality, timestamp=frame.timestamp))


@dataclass(frozen=True, slots=True)
class FrameRow:
    """Where a stored frame hash sits: which video, how far into it."""

    media_id: int
    timestamp: float


def frame_rows(session: Session, row_ids: Iterable[int]) -> dict[int, FrameRow]:
    """The video and time of each frame-hash row, in one query per 500 rows."""
    wanted = sorted(set(row_ids))
    found: dict[int, FrameRow] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(select(MediaSignal.id, MediaSignal.media_id, MediaSignal.timestamp).where(MediaSignal.id.in_(wanted[start : start + 500])))
        for row_id, media_id, timestamp in rows:
            found[row_id] = FrameRow(media_id, timestamp or 0.0)
    return found


def usable_frame_times(session: Session, media_ids: Iterable[int], signals: Iterable[str], min_quality: int) -> dict[int, set[float]]:
    """The distinct times of each video's frame hashes (rows of `signals`) that are good enough
    to match: what "which share of the known video was found" counts against."""
    wanted = sorted(set(media_ids))
    times: dict[int, set[float]] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(MediaSignal.media_id, MediaSignal.timestamp)
            .where(
                MediaSignal.signal.in_(list(signals)),
                MediaSignal.media_id.in_(wanted[start : start + 500]),
                func.coalesce(MediaSignal.quality, 100) >= min_quality,
            )
            .distinct()
        )
        for media_id, timestamp in rows:
            times.setdefault(media_id, set()).add(timestamp or 0.0)
    return times


def indicator_ids(session: Session, matches: Iterable[tuple[int, str, float | None]]) -> dict[tuple[int, str, float | None], int]:
    """The indicator (the `media_signals` row a hash list publishes and a platform reports back)
    behind each (media id, signal, known time) a match names: the item's row of that signal,
    or for a frame of a known video, the frame row at that time. One statement per 500 matches."""
    frame_signal = hamming_signal("video_frame").name
    wanted = sorted(set(matches), key=lambda key: (key[0], key[1], -1.0 if key[2] is None else key[2]))
    found: dict[tuple[int, str, float | None], int] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        stills = {(key[0], key[1]): key for key in chunk if key[2] is None}
        frames: dict[int, list[tuple[float, tuple[int, str, float | None]]]] = defaultdict(list)
        for key in chunk:
            if key[2] is not None:
                frames[key[0]].append((key[2], key))
        conditions = [and_(MediaSignal.media_id == media_id, MediaSignal.signal == signal) for media_id, signal in stills]
        # match times are rounded to milliseconds (`time_ranges`)
        conditions += [
            and_(MediaSignal.media_id == key[0], MediaSignal.signal == frame_signal, MediaSignal.timestamp.between(at - 0.001, at + 0.001))
            for at, key in (pair for pairs in frames.values() for pair in pairs)
        ]
        rows = session.execute(
            select(MediaSignal.id, MediaSignal.media_id, MediaSignal.signal, MediaSignal.timestamp)
            .where(or_(*conditions))
            # the row as stored first (it is the one hash lists publish), then the lowest id
            .order_by(MediaSignal.displayed, MediaSignal.id)
        )
        for row_id, media_id, signal, timestamp in rows:  # the first row of each kept
            if (still := stills.get((media_id, signal))) is not None:
                found.setdefault(still, row_id)
            if signal == frame_signal and timestamp is not None:
                for at, key in frames.get(media_id, ()):
                    if abs(at - timestamp) <= 0.001 + 1e-9:
                        found.setdefault(key, row_id)
    return found


def describe_contributions(session: Session, media_id: int) -> tuple[str, ...]:
    return describe_contributions_of(session, [media_id]).get(media_id, ())


def describe_contributions_of(session: Session, media_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
    """ "agency (case)" of each item's contributions, oldest first, in one query per 500 items."""
    wanted = sorted(set(media_ids))
    found: dict[int, dict[str, None]] = defaultdict(dict)
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(Contribution.media_id, Agency.name, Case.reference)
            .join(Agency, Contribution.agency_id == Agency.id)
            .outerjoin(Case, Contribution.case_id == Case.id)
            .where(Contribution.media_id.in_(wanted[start : start + 500]))
            .order_by(Contribution.contributed_at, Contribution.id)
        )
        for media_id, agency, case in rows:
            found[media_id][f"{agency} ({case})" if case else agency] = None
    return {media_id: tuple(names) for media_id, names in found.items()}


def series_ids_of(session: Session, media_ids: Iterable[int]) -> dict[int, frozenset[int]]:
    """The series ids of each item (items in no series are absent), in one query per 500 items."""
    wanted = sorted(set(media_ids))
    found: dict[int, set[int]] = defaultdict(set)
    for start in range(0, len(wanted), 500):
        rows = session.execute(select(media_series.c.media_id, media_series.c.series_id).where(media_series.c.media_id.in_(wanted[start : start + 500])))
        for media_id, series_id in rows:
            found[media_id].add(series_id)
    return {media_id: frozenset(ids) for media_id, ids in found.items()}


def add_signal(session: Session, media_id: int, signal: str, value: str, quality: int | None = None, *, displayed: bool = False) -> None:
    """Attach one more signal value to an existing item (e.g. a video's frame hashes)."""
    exists = session.scalar(select(MediaSignal.id).where(MediaSignal.media_id == media_id, MediaSignal.signal == signal, MediaSignal.value == value))
    if exists is None:
        session.add(MediaSignal(media_id=media_id, signal=signal, value=value, quality=quality, displayed=displayed))


def iter_signal_values(session: Session, signal: str, after_id: int = 0, batch_size: int = 50_000, min_quality: int = 0) -> Iterator[tuple[int, str]]:
    """(media_id, value) of every stored value of `signal`, in batches (millions of rows)."""
    for _, media_id, value in iter_signal_rows(session, signal, after_id, batch_size, min_quality):
        yield media_id, value


def iter_signal_rows(session: Session, signal: str, after_id: int = 0, batch_size: int = 50_000, min_quality: int = 0) -> Iterator[tuple[int, int, str]]:
    """(row id, media_id, value) of the values of `signal` stored after row `after_id`, in row
    order: an index saved at row N catches up by reading only the rows added since."""
    last = after_id
    while True:
        query = (
            select(MediaSignal.id, MediaSignal.media_id, MediaSignal.value)
            .where(MediaSignal.signal == signal, MediaSignal.id > last)
            .order_by(MediaSignal.id)
            .limit(batch_size)
        )
        if min_quality:
            query = query.where(func.coalesce(MediaSignal.quality, 100) >= min_quality)
        rows = session.execute(query).all()
        if not rows:
            return
        for row_id, media_id, value in rows:  # noqa: UP028 - plain tuples, not Rows
            yield row_id, media_id, value
        last = rows[-1][0]


def lookup_exact(session: Session, signal: str, values: Iterable[str]) -> dict[str, list[int]]:
    """Media ids holding exactly each value of `signal` (values with no match are absent)."""
    return {value: ids for (_, value), ids in lookup_exact_many(session, {signal: values}).items()}


EXACT_LOOKUP_CHUNK = 1000  # values per statement: well under both back ends' bound-parameter limits


def lookup_exact_many(session: Session, wanted: Mapping[str, Iterable[str]]) -> dict[tuple[str, str], list[int]]:
    """Media ids holding exactly each (signal, value) asked for, several signals in one
    statement (one database round trip for a whole query batch); pairs with no match are absent."""
    pairs = list(dict.fromkeys((signal, value) for signal, values in wanted.items() for value in values))
    found: dict[tuple[str, str], list[int]] = defaultdict(list)
    for start in range(0, len(pairs), EXACT_LOOKUP_CHUNK):
        by_signal: dict[str, list[str]] = defaultdict(list)
        for signal, value in pairs[start : start + EXACT_LOOKUP_CHUNK]:
            by_signal[signal].append(value)
        rows = session.execute(
            select(MediaSignal.signal, MediaSignal.value, MediaSignal.media_id).where(
                or_(*(and_(MediaSignal.signal == signal, MediaSignal.value.in_(values)) for signal, values in by_signal.items()))
            )
        )
        for signal, value, media_id in rows:
            found[(signal, value)].append(media_id)
    return dict(found)


def series_with_identified(session: Session, series_ids: Iterable[int], person: type[Victim] | type[Offender]) -> set[int]:
    """Which of `series_ids` are linked to an identified victim (`person=Victim`) or offender."""
    link, person_id = (series_victims, series_victims.c.victim_id) if person is Victim else (series_offenders, series_offenders.c.offender_id)
    wanted = list(series_ids)
    if not wanted:
        return set()
    return set(session.scalars(select(link.c.series_id).join(person, person.id == person_id).where(person.identified.is_(True), link.c.series_id.in_(wanted))))


def match_details(session: Session, media_ids: Iterable[int]) -> dict[int, MatchDetail]:
    """Series, category, Baseline flag and identification state of each matched item.

    A victim counts as identified when a victim linked to the item itself, or to any series
    the item belongs to, is marked identified.
    """
    ids = list(dict.fromkeys(media_ids))
    if not ids:
        return {}
    items = {row.id: row for row in session.execute(select(MediaItem.id, MediaItem.category, MediaItem.baseline).where(MediaItem.id.in_(ids)))}
    series_names: dict[int, list[str]] = defaultdict(list)
    series_ids: dict[int, set[int]] = defaultdict(set)
    for media_id, series_id, name in session.execute(
        select(media_series.c.media_id, Series.id, Series.name)
        .join(Series, Series.id == media_series.c.series_id)
        .where(media_series.c.media_id.in_(ids))
        .order_by(Series.name)
    ):
        series_names[media_id].append(name)
        series_ids[media_id].add(series_id)
    all_series = set().union(*series_ids.values()) if series_ids else set()
    claims = open_investigations_of(session, ids)
    identified_series = series_with_identified(session, all_series, Victim)
    identified_items = set(
        session.scalars(
            select(media_victims.c.media_id)
            .join(Victim, Victim.id == media_victims.c.victim_id)
            .where(Victim.identified.is_(True), media_victims.c.media_id.in_(ids))
        )
    )
    return {
        media_id: MatchDetail(
            media_id=media_id,
            series=tuple(series_names[media_id]),
            category=row.category,
            baseline=row.baseline,
            victim_identified=media_id in identified_items or bool(series_ids[media_id] & identified_series),
            investigations=claims.get(media_id, ()),
        )
        for media_id, row in items.items()
    }


def open_investigations_of(session: Session, media_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """The open claims on each item, directly or through one of its series, as the labels a
    match shows (oldest claim first), in one query."""
    open_claim = Investigation.ended_at.is_(None)
    through_series = (
        select(media_series.c.media_id.label("media_id"), Agency.name, Agency.country, Investigation.started_at)
        .join(Investigation, Investigation.series_id == media_series.c.series_id)
        .join(Agency, Agency.id == Investigation.agency_id)
        .where(media_series.c.media_id.in_(media_ids), open_claim)
    )
    on_item = (
        select(Investigation.media_id.label("media_id"), Agency.name, Agency.country, Investigation.started_at)
        .join(Agency, Agency.id == Investigation.agency_id)
        .where(Investigation.media_id.in_(media_ids), open_claim)
    )
    claims: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for media_id, agency, country, started_at in session.execute(union_all(through_series, on_item)):
        started = started_at if started_at.tzinfo else started_at.replace(tzinfo=timezone.utc)
        claims[media_id].append((started, investigation_label(agency, country, started)))
    return {media_id: tuple(dict.fromkeys(label for _, label in sorted(found))) for media_id, found in claims.items()}


def mark_series_victim_identified(
    session: Session, series: Series, agency: Agency, victim_reference: str | None = None, when: datetime | None = None
) -> Victim:
    """Mark a victim of `series` identified by `agency` (the series' own victim if none named)."""
    victim = _identified(session, Victim, victim_reference or f"{series.name}/victim-1", agency, when)
    if victim not in series.victims:
        series.victims.append(victim)
    session.flush()
    return victim


def mark_media_victim_identified(session: Session, item: MediaItem, agency: Agency, when: datetime | None = None) -> Victim:
    """Mark the victim shown in `item` identified, for an item in no series (a hash list record
    may say "victim identified" without naming a series)."""
    if item.id is None:
        session.flush()  # the victim's reference names the item by its id
    victim = _identified(session, Victim, f"media-{item.id}/victim-1", agency, when)
    if victim not in item.victims:
        item.victims.append(victim)
    session.flush()
    return victim


def mark_series_offender_identified(session: Session, series: Series, agency: Agency, when: datetime | None = None) -> Offender:
    """Mark the offender of `series` identified by `agency` (Project VIC's and ICSE's
    "offender identified")."""
    offender = _identified(session, Offender, f"{series.name}/offender-1", agency, when)
    if offender not in series.offenders:
        series.offenders.append(offender)
    session.flush()
    return offender


def _identified(session: Session, kind: type[_Person], reference: str, agency: Agency, when: datetime | None) -> _Person:
    """The person with this opaque reference, created if new, marked identified (first agency kept)."""
    person = session.scalar(select(kind).where(kind.reference == reference))
    if person is None:
        person = kind(reference=reference)
        session.add(person)
    if not person.identified:
        person.identified = True
        person.identified_by_id = agency.id
        person.identified_at = when or datetime.now(timezone.utc)
    return person


def list_series(session: Session) -> list[SeriesSummary]:
    return [_summary(session, series) for series in session.scalars(select(Series).order_by(Series.name))]


def _summary(session: Session, series: Series) -> SeriesSummary:
    items = session.scalar(select(func.count()).select_from(media_series).where(media_series.c.series_id == series.id))
    agencies = session.scalar(select(func.count(func.distinct(Contribution.agency_id))).where(Contribution.series_id == series.id))
    return SeriesSummary(
        name=series.name,
        items=items or 0,
        victims=len(series.victims),
        victims_identified=sum(1 for victim in series.victims if victim.identified),
        agencies=agencies or 0,
        created_at=series.created_at,
    )


def series_detail(session: Session, name: str) -> SeriesDetail | None:
    """A series with its victims and the timeline of contributions and identifications."""
    series = session.scalar(select(Series).where(Series.name == name))
    if series is None:
        return None
    events = [
        TimelineEvent(at=at, kind="contribution", agency=agency, detail=f"{count} item(s)" + (f", case {case}" if case else ""))
        for at, agency, case, count in session.execute(
            select(func.min(Contribution.contributed_at), Agency.name, Case.reference, func.count())
            .join(Agency, Agency.id == Contribution.agency_id)
            .outerjoin(Case, Case.id == Contribution.case_id)
            .where(Contribution.series_id == series.id)
            .group_by(Agency.name, Case.reference)
        )
    ]
    events += [
        TimelineEvent(
            at=victim.identified_at,
            kind="identification",
            agency=victim.identified_by.name if victim.identified_by else "",
            detail=f"victim {victim.reference} identified",
        )
        for victim in series.victims
        if victim.identified and victim.identified_at
    ]
    events.sort(key=lambda event: _aware(event.at))
    return SeriesDetail(
        summary=_summary(session, series),
        notes=series.notes,
        victims=tuple((victim.reference, victim.identified) for victim in series.victims),
        timeline=tuple(events),
    )


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
