"""Request and response bodies. One response model per audience: a platform's match answer
carries no series, victim or case field at all, so nothing private can leak through it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mediamatch.auth.permissions import Role

SignalName = Literal["md5", "sha1", "sha256", "pdq"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(Strict):
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    token: str
    expires_at: datetime
    role: Role
    agency: str


class AgencyIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    country: str = Field(min_length=2, max_length=2, pattern="^[A-Za-z]{2}$")
    webhook_url: str | None = Field(default=None, max_length=2000, pattern="^https?://")


class AgencyOut(BaseModel):
    id: int
    name: str
    country: str


class UserIn(Strict):
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=12, max_length=1024)
    role: Role
    agency: str = Field(min_length=1, max_length=200)


class UserOut(BaseModel):
    id: int
    username: str
    role: Role
    agency: str
    active: bool


class TokenIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    days: int = Field(default=90, ge=1, le=366)


class TokenOut(BaseModel):
    id: int
    token: str  # shown once


class HashQuery(Strict):
    signal: SignalName
    value: str = Field(min_length=32, max_length=64, pattern="^[0-9a-fA-F]+$")
    quality: int = Field(default=100, ge=0, le=100)  # PDQ quality, when the caller knows it
    label: str = Field(default="", max_length=500)  # echoed back (a file name, an id)


class HashQueryBatch(Strict):
    queries: list[HashQuery] = Field(min_length=1, max_length=1000)


class FrameQuery(Strict):
    """One sampled frame of a video: its PDQ hash and where it is."""

    number: int = Field(ge=0)
    timestamp: float = Field(ge=0)
    pdq: str = Field(min_length=64, max_length=64, pattern="^[0-9a-fA-F]+$")
    quality: int = Field(ge=0, le=100)


class VideoQuery(Strict):
    """A video hashed by the caller: its digests and frame hashes, never its content. 36,000
    frames is ten hours at the default one frame per second."""

    label: str = Field(default="", max_length=500)
    sha256: str | None = Field(default=None, min_length=64, max_length=64, pattern="^[0-9a-fA-F]+$")
    md5: str | None = Field(default=None, min_length=32, max_length=32, pattern="^[0-9a-fA-F]+$")
    frames: list[FrameQuery] = Field(min_length=1, max_length=36_000)


class MatchOut(BaseModel):
    media_id: int
    series: list[str]
    category: int | None  # None: uncategorised
    baseline: bool
    victim_identified: bool
    signal: str
    distance: int
    transform: str
    known_from: list[str] = []  # "agency (case)" of the contributions
    query_seconds: list[tuple[float, float]] = []  # where in the queried video
    known_seconds: list[tuple[float, float]] = []  # where in the known video
    query_share: float | None = None  # video-to-video: share of the queried video's frames found
    known_share: float | None = None  # ... and of the known video's


class QueryResult(BaseModel):
    label: str
    known: bool
    matches: list[MatchOut]


class PlatformMatch(BaseModel):
    """All a platform learns: which indicator, by which signal, how close. Nothing else."""

    indicator: int
    signal: str
    distance: int


class PlatformResult(BaseModel):
    label: str
    matches: list[PlatformMatch]


class ContributionOut(BaseModel):
    file: str
    status: Literal["added", "known", "error"]
    media_id: int | None
    sha256: str | None
    known_from: list[str]
    victim_identified: bool
    error: str | None


class MediaMetadataIn(Strict):
    """Fields a contributor or investigator may correct on an item; omitted fields stay."""

    category: int | None = Field(default=None, ge=0, le=4)
    baseline: bool | None = None
    add_series: str | None = Field(default=None, min_length=1, max_length=200)


class MediaMetadataOut(BaseModel):
    media_id: int
    category: int | None  # None: uncategorised
    baseline: bool
    series: list[str]


class SeriesOut(BaseModel):
    name: str
    items: int
    victims: int
    victims_identified: int
    agencies: int


class TimelineOut(BaseModel):
    at: datetime
    kind: str
    agency: str
    detail: str


class SeriesDetailOut(SeriesOut):
    timeline: list[TimelineOut]


class IdentifyOut(BaseModel):
    series: str
    notified: list[str]


class NotificationOut(BaseModel):
    id: int
    kind: str
    series: str | None
    message: str
    created_at: datetime
    read: bool


class AuditEventOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    agency: str
    action: str
    object_type: str
    object_id: str
    detail: str
    source_ip: str


class VerifyOut(BaseModel):
    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str | None
