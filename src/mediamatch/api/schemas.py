"""Request and response bodies. One response model per audience: a platform's match answer
carries no series, victim or case field at all, so nothing private can leak through it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mediamatch.auth.permissions import Role
from mediamatch.signals.base import SignalType
from mediamatch.signals.registry import all_signals, find_signal, hamming_signal, resolve_signal
from mediamatch.signals.vpdq import FRAME_VARIANTS

MAX_VALUE_CHARS = 512  # the longest signal value a request may carry (PhotoDNA's hex form: 288)


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
    """No password: the person sets their own with the enrolment code the answer holds."""

    username: str = Field(min_length=1, max_length=200)
    role: Role
    agency: str = Field(min_length=1, max_length=200)


class UserOut(BaseModel):
    id: int
    username: str
    role: Role
    agency: str
    active: bool


class EnrolmentOut(BaseModel):
    user_id: int
    enrolment_code: str  # shown once: hand it to the person out of band
    expires_at: datetime


class UserCreated(UserOut):
    enrolment: EnrolmentOut


class EnrolIn(Strict):
    username: str = Field(min_length=1, max_length=200)
    code: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=12, max_length=1024)


class TokenIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    days: int = Field(default=90, ge=1, le=366)


class TokenOut(BaseModel):
    id: int
    token: str  # shown once


class SignalValue(Strict):
    """A signal's value, checked by the registry: the signal must be one the receiver searches
    and the value its width (a signal's `validate`), so no body lists signals or hex lengths.
    The signal may be named as python-threatexchange and HMA name it (`video_md5`, `PDQ`):
    it is read as ours (`resolve_signal`)."""

    signal: str = Field(min_length=1, max_length=32, pattern="^[A-Za-z0-9_]+$")
    value: str = Field(min_length=1, max_length=MAX_VALUE_CHARS)

    @staticmethod
    def searchable(signal: type[SignalType]) -> bool:
        return True

    @model_validator(mode="after")
    def _value_fits_its_signal(self) -> Self:
        signal = resolve_signal(self.signal)
        if signal is None or not self.searchable(signal):
            known = ", ".join(s.name for s in all_signals() if self.searchable(s))
            raise ValueError(f"unknown signal {self.signal!r}; searchable: {known}")
        self.signal, self.value = signal.name, signal.validate(self.value)
        return self


class HashQuery(SignalValue):
    """One hash looked up in the catalogue: a file's digest or a picture's perceptual hash."""

    quality: int = Field(default=100, ge=0, le=100)  # the perceptual hash's quality, when the caller knows it
    label: str = Field(default="", max_length=500)  # echoed back (a file name, an id)

    @staticmethod
    def searchable(signal: type[SignalType]) -> bool:
        return not signal.media_kinds.isdisjoint({"file", "image"})  # frames travel in /query/video


class HashQueryBatch(Strict):
    queries: list[HashQuery] = Field(min_length=1, max_length=1000)


class FrameVariantQuery(Strict):
    """One extra hash of a frame (signals/vpdq.py FRAME_VARIANTS: without its bars, a half)."""

    name: str = Field(max_length=32)
    pdq: str = Field(min_length=1, max_length=MAX_VALUE_CHARS)
    quality: int = Field(ge=0, le=100)

    @field_validator("name")
    @classmethod
    def _a_variant(cls, value: str) -> str:
        if value not in FRAME_VARIANTS:
            raise ValueError(f"not a frame variant (one of {', '.join(FRAME_VARIANTS)})")
        return value

    @field_validator("pdq")
    @classmethod
    def _a_frame_hash(cls, value: str) -> str:
        return hamming_signal("video_frame").validate(value)


class FrameQuery(Strict):
    """One sampled frame of a video: its PDQ hash and where it is, and its extra hashes."""

    number: int = Field(ge=0)
    timestamp: float = Field(ge=0)
    pdq: str = Field(min_length=1, max_length=MAX_VALUE_CHARS)
    quality: int = Field(ge=0, le=100)
    variants: list[FrameVariantQuery] = Field(default_factory=list, max_length=len(FRAME_VARIANTS))

    @field_validator("pdq")
    @classmethod
    def _a_frame_hash(cls, value: str) -> str:
        return hamming_signal("video_frame").validate(value)


class VideoQuery(Strict):
    """A video hashed by the caller: its file signals (digests, by name) and frame hashes, never
    its content. 36,000 frames is ten hours at the default one frame per second."""

    label: str = Field(default="", max_length=500)
    signals: dict[str, str] = Field(default_factory=dict, max_length=16)
    frames: list[FrameQuery] = Field(min_length=1, max_length=36_000)

    @field_validator("signals")
    @classmethod
    def _file_signals(cls, signals: dict[str, str]) -> dict[str, str]:
        checked = {}
        for name, value in signals.items():
            signal = find_signal(name)
            if signal is None or "file" not in signal.media_kinds:
                raise ValueError(f"{name!r} is not a signal of a file's bytes")
            checked[name] = signal.validate(value)
        return checked


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
    investigations: list[str] = []  # "under investigation by <agency> (<country>) since <date>"


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
