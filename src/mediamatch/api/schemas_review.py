"""Request and response bodies of platform hits and their review, one response model per
audience: a platform's answer carries its hit id, its own reference and the status, and no
field that could hold series, victim or reviewer data."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from mediamatch.api.schemas import Strict

MAX_HITS_PER_REQUEST = 1000


class HitIn(Strict):
    """One match: the platform's hash, the indicator id it matched in our list, and the
    platform's own reference for the item (opaque to us; it is how the provider finds it again)."""

    signal: str = Field(min_length=1, max_length=32, pattern="^[a-z0-9_]+$")
    value: str = Field(min_length=1, max_length=128, pattern="^[0-9a-fA-F]+$")
    indicator_id: int = Field(ge=1, le=2**31 - 1)
    distance: int = Field(ge=0, le=4096)
    reference: str = Field(min_length=1, max_length=500)
    list_name: str | None = Field(default=None, min_length=1, max_length=200)
    list_version: int | None = Field(default=None, ge=1, le=2**31 - 1)
    stream_time: float | None = Field(default=None, ge=0, allow_inf_nan=False)


class HitBatch(Strict):
    hits: list[HitIn] = Field(min_length=1, max_length=MAX_HITS_PER_REQUEST)


class PlatformHitOut(BaseModel):
    """What a platform learns about its own hit: pending until a person decided it."""

    id: int
    reference: str
    status: Literal["pending", "confirmed", "rejected"]


class IndicatorOut(BaseModel):
    id: int
    signal: str
    value: str


class HitDetailOut(BaseModel):
    """What a reviewer needs to decide: both hashes, the distance, who reported it, and of our
    item only its category, Baseline flag and series names (no victims, cases or agencies)."""

    id: int
    status: Literal["pending", "confirmed", "rejected"]
    reported_at: datetime
    provider: str  # the reporting agency's name, or the in-house source ("watch")
    source: str
    source_label: str | None
    reference: str
    signal: str
    value: str
    indicator: IndicatorOut
    distance: int
    list_name: str | None
    list_version: int | None
    stream_time: float | None
    content_uploaded: bool
    category: int | None  # None: uncategorised
    baseline: bool
    series: list[str]


class DecisionIn(Strict):
    decision: Literal["confirm", "reject"]
    reason: str = Field(default="", max_length=2000)
    action_taken: str = Field(default="", max_length=2000)
    material_type: Literal["known", "new"] = "known"
    urgent: bool = False


class DecisionOut(BaseModel):
    hit_id: int
    status: Literal["confirmed", "rejected"]
    report_id: int | None
    dispute_id: int | None


class RateOut(BaseModel):
    confirmed: int
    rejected: int
    false_positive_rate: float | None  # rejected / decided; None before any decision


class IndicatorRateOut(RateOut):
    indicator_id: int
    signal: str
    disputed: bool


class ListRateOut(RateOut):
    list_name: str | None
    list_version: int | None


class ErrorRatesOut(BaseModel):
    indicators: list[IndicatorRateOut]
    lists: list[ListRateOut]


class HitReportOut(BaseModel):
    """A report record, with the fields of the EU CSA Regulation's report that we hold."""

    id: int
    hit_id: int
    provider: str
    provider_country: str | None
    provider_reference: str
    hit_at: datetime
    stream_time: float | None
    signal: str
    value: str
    indicator_id: int
    distance: int
    material_type: Literal["known", "new"]
    content_available: bool
    action_taken: str
    urgent: bool
    reviewer: str
    created_at: datetime
