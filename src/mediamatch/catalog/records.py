"""Catalogue records as plain, immutable values.

Front ends (CLI, API, reports) receive these, never ORM rows, so what leaves the store is
exactly what a view was meant to show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import datetime
from enum import IntEnum
from typing import Any


class Category(IntEnum):
    """Project VIC categories. Baseline (illegal in any country) is a separate flag."""

    NON_PERTINENT = 0
    CHILD_ABUSE_MATERIAL = 1
    CHILD_EXPLOITIVE = 2
    CGI_ANIMATION = 3
    COMPARISON = 4

    @property
    def label(self) -> str:
        return _CATEGORY_LABELS[self]


_CATEGORY_LABELS = {
    Category.NON_PERTINENT: "non-pertinent",
    Category.CHILD_ABUSE_MATERIAL: "child abuse material",
    Category.CHILD_EXPLOITIVE: "child exploitive / age difficult",
    Category.CGI_ANIMATION: "CGI / animation",
    Category.COMPARISON: "comparison",
}
UNCATEGORISED = "uncategorised"


def category_label(category: int | None) -> str:
    """A category in words; "uncategorised" where no source stated one (NULL in the catalogue)."""
    return UNCATEGORISED if category is None else Category(category).label


@dataclass(frozen=True, slots=True)
class MatchDetail:
    """What an investigator needs to know about a matched item to decide what to do next."""

    media_id: int
    series: tuple[str, ...]
    category: int | None  # None: uncategorised
    baseline: bool
    victim_identified: bool
    investigations: tuple[str, ...] = ()  # open claims on the item or its series, as labels


@dataclass(frozen=True, slots=True)
class Match:
    """A catalogue item a file matched: by which signal, how close, and what is known of it.

    `transform` names the rotation/flip of the file that matched ("" for the file as it is).
    Where a video is involved, `query_seconds` are the time ranges of the triaged video that
    matched and `known_seconds` those of the known video (a still found inside it gives one
    range per place it appears); `query_share` and `known_share` are the shares of each
    video's frames that found a match (vPDQ's rule), for video-to-video matches.
    `investigations` says which agencies work the item or its series ("under investigation by
    ... since ..."), so whoever finds a copy knows whom to contact before starting.
    A match by local features (services/similar.py) says how the pictures relate: `relation`
    "contains" (the file contains the known picture or a part of it: a crop, a turned, resized
    or pasted copy) or "related" (it shares a scene or object with it, without being a copy;
    "" for a match by a hash), how many keypoints agree (`inliers`), the share of the known
    picture present (`known_area_share`), and the matched regions as polygons in shares (0-1)
    of each picture's sides: where the known picture lies in the file (`query_region`) and which
    part of the known picture that is (`known_region`); `transform` then says it in words."""

    media_id: int
    series: tuple[str, ...]
    category: int | None  # None: uncategorised
    baseline: bool
    victim_identified: bool
    signal: str
    distance: int
    transform: str = ""
    query_seconds: tuple[tuple[float, float], ...] = ()
    known_seconds: tuple[tuple[float, float], ...] = ()
    query_share: float | None = None
    known_share: float | None = None
    investigations: tuple[str, ...] = ()
    relation: str = ""
    inliers: int | None = None
    known_area_share: float | None = None
    query_region: tuple[tuple[float, float], ...] = ()
    known_region: tuple[tuple[float, float], ...] = ()

    @classmethod
    def from_json(cls, fields: Mapping[str, Any]) -> Match:
        """A match read back from JSON (a saved triage row, a server's answer), which turned its
        tuples into lists. Keys that are not fields of a match (a server's `known_from`) are
        left out."""
        known = {field.name: fields[field.name] for field in dataclass_fields(cls) if field.name in fields}
        known["series"] = tuple(known.get("series", ()))
        known["investigations"] = tuple(known.get("investigations", ()))
        for key in ("query_seconds", "known_seconds", "query_region", "known_region"):
            known[key] = tuple(tuple(pair) for pair in known.get(key, ()))
        return cls(**known)


@dataclass(frozen=True, slots=True)
class ContributionOutcome:
    """The answer to one contributed file: new to the catalogue, already known, or an error."""

    path: str
    status: str  # "added", "known" or "error"
    media_id: int | None = None
    sha256: str | None = None
    known_from: tuple[str, ...] = ()  # "agency (case)" of earlier contributions
    victim_identified: bool = False
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SeriesSummary:
    name: str
    items: int
    victims: int
    victims_identified: int
    agencies: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    at: datetime
    kind: str  # "contribution" or "identification"
    agency: str
    detail: str


@dataclass(frozen=True, slots=True)
class SeriesDetail:
    summary: SeriesSummary
    notes: str
    victims: tuple[tuple[str, bool], ...]  # (opaque reference, identified)
    timeline: tuple[TimelineEvent, ...] = field(default=())
