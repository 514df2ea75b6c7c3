"""Exporting hash lists for platforms: which indicators go out, signed, versioned, audited.

An indicator is one row of `media_signals`; its id is stable across versions and is what a
platform reports back on a hit. What is exported, and why:

- categories: Project VIC 1-4 as asked (default 1, abuse material); category 0 (non-pertinent)
  is never exported, whatever is asked; nor is an uncategorised item (category NULL: imported
  from a record that stated none), until someone categorises it;
- `baseline_only`: INTERPOL's Baseline flag, material illegal in every country;
- consent: an item goes out only when at least one agency that agreed to share with platforms
  (`PlatformSharingConsent`) contributed it; another agency's refusal does not hide it;
- disputes: an indicator with an open `IndicatorDispute` (a rejected hit, a reported false
  positive) is never exported, so it leaves the next version and its delta names it;
- perceptual hashes (PDQ, video frames) below the reference's quality floor (50) match noise
  and are never exported.

Rows are read from the database in keyset-paged batches straight into numpy arrays, each
batch its own short transaction (on SQLite a transaction holds the write lock), so a list of
10M indicators never exists as 10M Python objects and never blocks contributions for long.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mediamatch.audit.events import AuditAction, AuditEvent
from mediamatch.audit.trail import record
from mediamatch.hashlist.delta import write_delta
from mediamatch.hashlist.format import (
    VIDEO_GROUP_BYTES,
    VIDEO_GROUP_SECTION,
    HashListError,
    Section,
    Written,
    key_id,
    known_width,
    read_hashlist,
    write_hashlist,
)
from mediamatch.signals.registry import find_signal, signal_names
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import Agency, Contribution, MediaItem, MediaSignal
from mediamatch.store.models.hashlists import HashListVersion, PlatformSharingConsent
from mediamatch.store.models.review import IndicatorDispute

DEFAULT_NAME = "mediamatch"
DEFAULT_CATEGORIES = (1,)
EXPORTABLE_CATEGORIES = (1, 2, 3, 4)
BATCH_ROWS = 50_000
_HEX = frozenset("0123456789abcdefABCDEF")


class EmptyHashList(HashListError):
    """An export that would publish a list with no entries (usually: no agency consented yet)."""


@dataclass(frozen=True, slots=True)
class ListFilter:
    """What goes into a list. Checked when built, so a bad request fails before any work."""

    baseline_only: bool = False
    categories: tuple[int, ...] = DEFAULT_CATEGORIES
    # Every registered signal by default: frame hashes of known videos too, for uploads and streams.
    signals: tuple[str, ...] = field(default_factory=signal_names)

    def __post_init__(self) -> None:
        object.__setattr__(self, "categories", tuple(sorted(set(self.categories))))
        object.__setattr__(self, "signals", tuple(sorted(set(self.signals))))
        if 0 in self.categories:
            raise HashListError("category 0 (non-pertinent) is never exported")
        if not self.categories or not set(self.categories) <= set(EXPORTABLE_CATEGORIES):
            raise HashListError(f"categories must be among {', '.join(map(str, EXPORTABLE_CATEGORIES))}, got {list(self.categories)}")
        unknown = [signal for signal in self.signals if known_width(signal) is None]
        if not self.signals or unknown:
            raise HashListError(f"signals must be among {', '.join(sorted(signal_names()))}, got {list(self.signals)}")

    def as_json(self) -> dict[str, Any]:
        """As written in the list's header: what a platform is told it received."""
        return {
            "baseline_only": self.baseline_only, "categories": list(self.categories), "signals": list(self.signals),
            "consent": "contributed by at least one agency that agreed to share with platforms",
            "disputed": "excluded",
            **{f"{signal}_min_quality": minimum for signal in self.signals if (minimum := _min_quality(signal))},
        }  # fmt: skip


def _min_quality(signal: str) -> int:
    declared = find_signal(signal)
    return 0 if declared is None else declared.min_quality


def read_sections(engine: Engine, list_filter: ListFilter, batch_rows: int = BATCH_ROWS) -> dict[tuple[str, str], Section]:
    """The exported entries of each signal of `list_filter`, as arrays sorted by indicator id,
    and, where frame hashes are exported, which video each frame belongs to."""
    sections = {("entries", signal): _read_signal(engine, list_filter, signal, batch_rows) for signal in list_filter.signals}
    frames = sections.get(("entries", "vpdq"))
    if frames is not None and len(frames):
        sections[("entries", VIDEO_GROUP_SECTION)] = _video_groups(engine, frames.ids)
    return sections


def _video_groups(engine: Engine, frame_ids: np.ndarray) -> Section:
    """The video of each exported frame indicator, named by its first stored frame's indicator
    (stable while the video is catalogued; the media item's id stays private)."""
    videos = np.zeros(len(frame_ids), np.uint64)
    for start in range(0, len(frame_ids), 500):
        chunk = [int(i) for i in frame_ids[start : start + 500]]
        with engine.connect() as conn:
            media_of = dict(conn.execute(select(MediaSignal.id, MediaSignal.media_id).where(MediaSignal.id.in_(chunk))).all())
            first = dict(
                conn.execute(
                    select(MediaSignal.media_id, func.min(MediaSignal.id))
                    .where(MediaSignal.signal == "vpdq", MediaSignal.media_id.in_(set(media_of.values())))
                    .group_by(MediaSignal.media_id)
                ).all()
            )
        videos[start : start + len(chunk)] = [first[media_of[i]] for i in chunk]
    return Section(np.asarray(frame_ids, np.uint64), videos.astype("<u8").view(np.uint8).reshape(-1, VIDEO_GROUP_BYTES))


def _read_signal(engine: Engine, list_filter: ListFilter, signal: str, batch_rows: int) -> Section:
    width = known_width(signal) or 0  # ListFilter admits registered signals only
    consenting = (
        select(Contribution.id)
        .join(PlatformSharingConsent, PlatformSharingConsent.agency_id == Contribution.agency_id)
        .where(Contribution.media_id == MediaSignal.media_id)
        .exists()
    )
    disputed = select(IndicatorDispute.id).where(IndicatorDispute.signal_id == MediaSignal.id, IndicatorDispute.resolved_at.is_(None)).exists()
    query = (
        select(MediaSignal.id, MediaSignal.value)
        .join(MediaItem, MediaItem.id == MediaSignal.media_id)
        .where(
            MediaSignal.signal == signal,
            MediaSignal.displayed.is_(False),
            MediaItem.category.is_not(None),
            MediaItem.category.in_(list_filter.categories),
            consenting,
            ~disputed,
        )  # uncategorised: never
        .order_by(MediaSignal.id)
        .limit(batch_rows)
    )
    if list_filter.baseline_only:
        query = query.where(MediaItem.baseline.is_(True))
    if minimum := _min_quality(signal):
        query = query.where(func.coalesce(MediaSignal.quality, 100) >= minimum)
    id_parts, hash_parts, last = [], [], 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(query.where(MediaSignal.id > last)).all()
        if not rows:
            break
        ids = np.fromiter((row[0] for row in rows), np.uint64, len(rows))
        bad = next((row for row in rows if len(row[1]) != 2 * width or not _HEX.issuperset(row[1])), None)
        if bad is not None:
            raise HashListError(f"indicator {bad[0]}: stored {signal} value {bad[1][:80]!r} is not {width} bytes of hex; fix the catalogue row")
        hashes = np.frombuffer(bytes.fromhex("".join(row[1] for row in rows)), np.uint8).reshape(-1, width)
        id_parts.append(ids)
        hash_parts.append(hashes)
        last = int(ids[-1])
    if not id_parts:
        return Section(np.zeros(0, np.uint64), np.zeros((0, width), np.uint8))
    return Section(np.concatenate(id_parts), np.concatenate(hash_parts))


@dataclass(frozen=True, slots=True)
class Published:
    """A published version: the list, and the delta from the previous version if asked."""

    name: str
    version: int
    counts: Mapping[str, int]
    full: Written
    delta: Written | None = None
    delta_counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


def export_hashlist(
    engine: Engine,
    out: Path,
    private_key: Ed25519PrivateKey,
    *,
    actor: str,
    agency: str,
    name: str | None = None,
    list_filter: ListFilter | None = None,
    previous: Path | None = None,
    source_ip: str = "",
    allow_empty: bool = False,
) -> Published:
    """Write the next version of list `name` to `out` (and, from `previous`, the delta to it
    at `<out>.delta`), record it in `hashlist_versions` and the audit trail.

    `previous` must be the latest published version of the same list, signed with the same
    key: after a key rotation a list starts again from a full version. The default filter is
    made per call: it names the signals registered now.

    Refused before a version number is taken: writing over an existing file (a published
    version must stay as platforms received it), and, unless `allow_empty`, a list with no
    entries (usually no agency has consented yet; a platform loading it would match nothing)."""
    list_filter = list_filter or ListFilter()
    delta_path = out.with_name(out.name + ".delta")
    for path in (out, delta_path) if previous else (out,):
        if path.exists():
            raise HashListError(f"{path} exists; a published list is never overwritten: choose a new file name")
    old = read_hashlist(previous, private_key.public_key()) if previous else None
    if old is not None and old.kind != "full":
        raise HashListError(f"{previous}: a delta; --previous takes the full list it was made from")
    if old is not None and name and name != old.name:
        raise HashListError(f"{previous} is version {old.version} of list {old.name!r}, not of {name!r}")
    name = name or (old.name if old else DEFAULT_NAME)
    with session_scope(engine) as session:
        latest = session.scalar(select(func.max(HashListVersion.version)).where(HashListVersion.name == name)) or 0
    version = old.version + 1 if old else latest + 1
    if version <= latest:
        raise HashListError(f"version {version} of list {name!r} was already published (latest is {latest}); pass the latest as --previous")
    sections = read_sections(engine, list_filter)
    if not allow_empty and not any(len(section) for section in sections.values()):
        raise EmptyHashList(
            f"the list would be empty: no {'Baseline ' if list_filter.baseline_only else ''}indicator of category "
            f"{', '.join(map(str, list_filter.categories))} and signal {', '.join(list_filter.signals)} was contributed by an "
            "agency that agreed to share with platforms"
        )
    full = write_hashlist(
        out, sections, private_key, name=name, version=version, previous_version=version - 1 if version > 1 else None, list_filter=list_filter.as_json()
    )
    counts = {signal: len(section) for (_, signal), section in sections.items() if signal != VIDEO_GROUP_SECTION}
    delta, delta_counts = None, dict[str, Any]()
    if old is not None:
        new = read_hashlist(out, private_key.public_key())  # also proves what was written verifies
        delta = write_delta(delta_path, old, new, full, private_key)
        delta_counts = read_hashlist(delta.path, private_key.public_key()).counts()
    row = HashListVersion(
        name=name, version=version, counts=json.dumps(counts, sort_keys=True), filter=json.dumps(list_filter.as_json(), sort_keys=True),
        key_id=key_id(private_key.public_key()), path=str(out.resolve()), sha256=full.sha256, size=full.size,
        delta_path=str(delta.path.resolve()) if delta else None, delta_sha256=delta.sha256 if delta else None, delta_size=delta.size if delta else None,
    )  # fmt: skip
    detail = {"counts": counts, "filter": list_filter.as_json(), "sha256": full.sha256, "key_id": row.key_id, "delta": delta_counts or None}
    try:
        with session_scope(engine) as session:
            session.add(row)
            session.flush()
            record(session, AuditEvent(actor, agency, AuditAction.HASHLIST_EXPORTED, "hashlist", f"{name}/{version}", detail, source_ip))
    except IntegrityError:
        raise HashListError(f"version {version} of list {name!r} was published by someone else meanwhile; export again") from None
    return Published(name, version, counts, full, delta, delta_counts)


def published_versions(session: Session, name: str | None = None) -> list[HashListVersion]:
    """Every published version (of one list when `name` is given), newest first."""
    query = select(HashListVersion).order_by(HashListVersion.name, HashListVersion.version.desc())
    if name is not None:
        query = query.where(HashListVersion.name == name)
    return list(session.scalars(query))


def set_consent(session: Session, agency_name: str, consent: bool, *, actor: str, actor_agency: str, source_ip: str = "") -> bool:
    """Record that `agency_name` agrees (or no longer agrees) that its contributions go to
    platforms; audited. Returns whether anything changed."""
    agency = session.scalar(select(Agency).where(Agency.name == agency_name))
    if agency is None:
        raise LookupError(f"no agency named {agency_name!r}")
    current = session.get(PlatformSharingConsent, agency.id)
    if (current is not None) == consent:
        return False
    if consent:
        session.add(PlatformSharingConsent(agency_id=agency.id, granted_by=actor))
    else:
        session.delete(current)
    session.flush()
    record(session, AuditEvent(actor, actor_agency, AuditAction.SHARING_CONSENT, "agency", agency_name, {"share_with_platforms": consent}, source_ip))
    return True
