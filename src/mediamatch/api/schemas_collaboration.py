"""Request and response bodies of working together on a series: claims, clues, threads, help
requests, subscriptions, search and statistics. Responses are built from the services' records
(`from_attributes`), which already hold only what the caller's agency may see."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mediamatch.api.schemas import Strict

ClueKind = Literal["location", "language", "object", "clothing", "product", "landscape", "audio", "other"]
Visibility = Literal["all", "agency"]
Country = str  # checked against ISO 3166-1 by the services (catalog/validate.py)
PIXELS = 2**31 - 1


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ClaimIn(Strict):
    """Claim a series (by name) or one item (by id) for the caller's agency."""

    series: str | None = Field(default=None, min_length=1, max_length=200)
    media_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    case_reference: str = Field(min_length=1, max_length=200)
    contact: str = Field(min_length=1, max_length=500, description="How other agencies reach the investigator (e-mail, phone, desk).")


class ClaimEndIn(Strict):
    kind: Literal["closed", "handed_over"]
    reason: str = Field(min_length=1, max_length=2000)
    handed_to: str | None = Field(default=None, min_length=1, max_length=200, description="The agency taking over (for handed_over).")


class InvestigationOut(Out):
    id: int
    agency: str
    country: str
    series: str | None
    media_id: int | None
    case_reference: str
    contact: str
    claimed_by: str
    started_at: datetime
    ended_at: datetime | None
    end_kind: str | None
    end_reason: str | None
    handed_to: str | None
    label: str


class ClaimOut(Out):
    investigation: InvestigationOut
    already: list[InvestigationOut] = Field(description="Open claims of other agencies on the same work: who to contact.")
    notified: list[str]


class BoxIn(Strict):
    left: int = Field(ge=0, le=PIXELS)
    top: int = Field(ge=0, le=PIXELS)
    width: int = Field(ge=1, le=PIXELS)
    height: int = Field(ge=1, le=PIXELS)


class BoxOut(Out):
    left: int
    top: int
    width: int
    height: int


class ClueIn(Strict):
    """A clue pinned to a series, or to a picture of it (whole, a box), or a time range of a video."""

    series: str = Field(min_length=1, max_length=200)
    kind: ClueKind
    text: str = Field(min_length=1, max_length=4000)
    media_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    box: BoxIn | None = None
    time_start: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    time_end: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    country: Country | None = Field(default=None, min_length=2, max_length=2)
    confidence: int = Field(default=50, ge=0, le=100)
    visibility: Visibility = "all"


class ClueEditIn(Strict):
    """The fields to change; those left out keep their value."""

    kind: ClueKind | None = None
    text: str | None = Field(default=None, min_length=1, max_length=4000)
    box: BoxIn | None = None
    time_start: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    time_end: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    country: Country | None = Field(default=None, min_length=2, max_length=2)
    confidence: int | None = Field(default=None, ge=0, le=100)
    visibility: Visibility | None = None


class ClueOut(Out):
    id: int
    series: str
    media_id: int | None
    box: BoxOut | None
    time_start: float | None
    time_end: float | None
    kind: str
    text: str
    country: str | None
    confidence: int
    visibility: str
    agency: str
    author: str
    created_at: datetime
    updated_at: datetime
    deleted: bool


class ClueRevisionOut(Out):
    action: str
    before: dict[str, object]
    changed_by: str
    changed_at: datetime


class CommentIn(Strict):
    body: str = Field(min_length=1, max_length=4000)


class CommentOut(Out):
    id: int
    agency: str
    author: str
    body: str
    created_at: datetime


class HelpRequestIn(Strict):
    clue_id: int = Field(ge=1, le=2**31 - 1)
    question: str = Field(min_length=1, max_length=2000)
    countries: list[Country] = Field(default=[], max_length=50, description="ISO codes of the countries asked; empty: every agency.")


class DecisionIn(Strict):
    approve: bool


class HelpRequestOut(Out):
    id: int
    clue_id: int
    clue_kind: str
    clue_country: str | None
    series: str
    agency: str
    author: str
    question: str
    countries: list[str]
    has_crop: bool
    status: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None


class DecisionOut(Out):
    request: HelpRequestOut
    notified: list[str]


class SubscriptionIn(Strict):
    country: Country | None = Field(default=None, min_length=2, max_length=2)
    kind: ClueKind | None = None


class SubscriptionOut(Out):
    id: int
    country: str | None
    kind: str | None


class SearchHitOut(Out):
    kind: str
    object_id: int
    series: str | None
    agency: str | None
    clue_kind: str | None
    country: str | None
    created_at: datetime
    text: str


class CountOut(Out):
    month: str
    label: str
    country: str
    count: int


class StatisticsOut(Out):
    series_added: list[CountOut]
    victims_identified: list[CountOut]
    days_to_identification: list[float]
    median_days_to_identification: float | None
    matches: list[CountOut]
    open_investigations: list[CountOut]
