"""Correcting what the catalogue says of one media item: its category, its Baseline flag, the
series it belongs to.

Matches report these fields, so a correction invalidates the live catalogue matchers (see
catalogue_changes.py). The caller audits the returned changes (old and new values), which is
why a correction that changes nothing returns none.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from mediamatch.services.catalogue_changes import catalogue_changed
from mediamatch.store import repo
from mediamatch.store.models.catalogue import MediaItem


class MediaNotFound(LookupError):
    """No media item with this id."""


@dataclass(frozen=True, slots=True)
class Correction:
    """The item as it now stands, and what changed: field -> [old, new], or the series added."""

    media_id: int
    category: int
    baseline: bool
    series: list[str]
    changes: dict[str, object] = field(default_factory=dict)


def correct_media(session: Session, media_id: int, *, category: int | None = None, baseline: bool | None = None, add_series: str | None = None) -> Correction:
    """Apply the given corrections (None: leave as is) to the item `media_id`."""
    item = session.get(MediaItem, media_id)
    if item is None:
        raise MediaNotFound(f"no media item {media_id}")
    changes: dict[str, object] = {}
    if category is not None and category != item.category:
        changes["category"] = [item.category, category]
        item.category = category
    if baseline is not None and baseline != item.baseline:
        changes["baseline"] = [item.baseline, baseline]
        item.baseline = baseline
    if add_series:
        series = repo.get_or_create_series(session, add_series)
        if series not in item.series:
            item.series.append(series)
            changes["series_added"] = series.name
    if changes:
        catalogue_changed(session)
    return Correction(item.id, item.category, item.baseline, sorted(s.name for s in item.series), changes)
