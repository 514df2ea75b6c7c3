"""Correcting what the catalogue says about an item: its category, Baseline flag and series.

A correction changes what every agency sees and what hash lists publish (category 0, "not
pertinent", takes an item off every future list), so only an agency that contributed the item
may correct it: it holds the file and answers for its classification. Another agency that
disagrees asks the contributor. Each correction returns the old and new value of every field
it changed, for the audit event; a change invalidates the live catalogue matchers
(catalogue_changes.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediamatch.catalog.records import Category
from mediamatch.services.catalogue_changes import catalogue_changed
from mediamatch.store import repo
from mediamatch.store.models.catalogue import Contribution, MediaItem


class NotAContributor(PermissionError):
    """The correcting agency did not contribute the item."""


@dataclass(frozen=True, slots=True)
class MetadataCorrection:
    """What to change; None (or an empty series name) leaves a field as it is."""

    category: int | None = None
    baseline: bool | None = None
    add_series: str | None = None


@dataclass(frozen=True, slots=True)
class CorrectedItem:
    media_id: int
    category: int | None  # None: uncategorised
    baseline: bool
    series: tuple[str, ...]
    changes: dict[str, object]  # field -> [old, new] (series_added -> the name); empty if none


def contributing_agencies(session: Session, media_id: int) -> set[int]:
    return set(session.scalars(select(Contribution.agency_id).where(Contribution.media_id == media_id)))


def correct_metadata(session: Session, media_id: int, agency_id: int, correction: MetadataCorrection) -> CorrectedItem:
    """Apply `correction` to the item for `agency_id`: LookupError if there is no such item,
    NotAContributor if the agency never contributed it (then nothing changes)."""
    item = session.get(MediaItem, media_id)
    if item is None:
        raise LookupError(f"no media item {media_id}")
    if agency_id not in contributing_agencies(session, media_id):
        raise NotAContributor("only an agency that contributed this item may correct it")
    changes: dict[str, object] = {}
    if correction.category is not None and correction.category != item.category:
        changes["category"] = [item.category, int(Category(correction.category))]
        item.category = correction.category
    if correction.baseline is not None and correction.baseline != item.baseline:
        changes["baseline"] = [item.baseline, correction.baseline]
        item.baseline = correction.baseline
    if correction.add_series:
        series = repo.get_or_create_series(session, correction.add_series)
        if series not in item.series:
            item.series.append(series)
            changes["series_added"] = series.name
    if changes:
        catalogue_changed(session)  # matches report these fields: live matchers catch up after the commit
    return CorrectedItem(item.id, item.category, item.baseline, tuple(sorted(s.name for s in item.series)), changes)
