"""Records of working together on a series (claims, clues, threads, help requests, search
hits, statistics), as the services hand them to the front ends: plain values, never ORM rows,
so a view shows exactly what the viewer's agency may see."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime


def free_text(value: str, what: str, limit: int, *, one_line: bool = False) -> str:
    """`value` trimmed, as a clue, comment, question or contact is stored; ValueError when it
    is empty, longer than `limit`, or holds control or invisible characters other than line
    breaks and tabs (none at all with `one_line`): a right-to-left override would make a clue
    read differently from what was written."""
    text = value.strip()
    if not text:
        raise ValueError(f"the {what} is empty")
    if len(text) > limit:
        raise ValueError(f"the {what} is {len(text)} characters long; at most {limit}")
    allowed = set() if one_line else {"\n", "\t"}
    hidden = sorted({f"U+{ord(char):04X}" for char in text if char not in allowed and unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"}})
    if hidden:
        raise ValueError(f"the {what} holds control or invisible characters ({', '.join(hidden)})")
    return text


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: the account and the agency it works for (what decides visibility)."""

    user_id: int
    username: str
    agency_id: int


def investigation_label(agency: str, country: str, since: datetime) -> str:
    """What triage and query results show of an open claim: "under investigation by NL unit (NL) since 2026-11-27"."""
    return f"under investigation by {agency} ({country}) since {since.date().isoformat()}"


@dataclass(frozen=True, slots=True)
class InvestigationRecord:
    """An agency's claim on a series or an item; open while `ended_at` is None."""

    id: int
    agency: str
    country: str
    series: str | None
    media_id: int | None
    case_reference: str
    contact: str
    claimed_by: str
    started_at: datetime
    ended_at: datetime | None = None
    end_kind: str | None = None  # "closed" or "handed_over"
    end_reason: str | None = None
    handed_to: str | None = None

    @property
    def label(self) -> str:
        return investigation_label(self.agency, self.country, self.started_at)


@dataclass(frozen=True, slots=True)
class ClaimOutcome:
    """A new claim, and the open claims of other agencies on the same work (deconfliction)."""

    investigation: InvestigationRecord
    already: tuple[InvestigationRecord, ...]
    notified: tuple[str, ...]  # agency names


@dataclass(frozen=True, slots=True)
class Box:
    """A region of a picture, in pixels of the upright picture."""

    left: int
    top: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class ClueRecord:
    id: int
    series: str
    media_id: int | None
    box: Box | None
    time_start: float | None
    time_end: float | None
    kind: str
    text: str
    country: str | None
    confidence: int
    visibility: str  # "all" or "agency"
    agency: str
    author: str
    created_at: datetime
    updated_at: datetime
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class ClueRevisionRecord:
    action: str  # "edited" or "deleted"
    before: dict[str, object]
    changed_by: str
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class CommentRecord:
    id: int
    agency: str
    author: str
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class HelpRequestRecord:
    id: int
    clue_id: int
    clue_kind: str
    clue_country: str | None
    series: str
    agency: str
    author: str
    question: str
    countries: tuple[str, ...]  # empty: every agency
    has_crop: bool
    status: str  # "awaiting_approval", "sent", "rejected"
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionRecord:
    id: int
    country: str | None
    kind: str | None


@dataclass(frozen=True, slots=True)
class SearchHit:
    kind: str  # "clue", "comment" or "series"
    object_id: int
    series: str | None
    agency: str | None
    clue_kind: str | None
    country: str | None
    created_at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class CountRow:
    """One cell of a statistic: a month ("2026-11", or "" when not by month), a label
    (agency, source, ...), a country, and the count."""

    month: str
    label: str
    country: str
    count: int


@dataclass(frozen=True, slots=True)
class Statistics:
    series_added: tuple[CountRow, ...]  # by month
    victims_identified: tuple[CountRow, ...]  # by month, identifying agency and its country
    days_to_identification: tuple[float, ...]  # per identified victim: first contribution of its series -> identification
    matches: tuple[CountRow, ...]  # by month and source ("triage": agencies' queries, "platform": platforms' hits)
    open_investigations: tuple[CountRow, ...]  # by agency and country

    @property
    def median_days_to_identification(self) -> float | None:
        days = sorted(self.days_to_identification)
        if not days:
            return None
        middle = len(days) // 2
        return days[middle] if len(days) % 2 else (days[middle - 1] + days[middle]) / 2
