"""The slim, read-only matcher service a platform runs (`mediamatch serve --role matcher`).

It holds one signed hash list and answers lookups with indicator ids, signals and distances;
it has no database, no catalogue and nothing to write, so it can run inside a platform's own
network and nothing leaves it. Separate from the central app on purpose: none of the central
server's routes, accounts or metadata exist here.

- `GET /healthz`: the process answers.
- `GET /readyz`: 503 until a verified list is loaded; while a delta loads it stays ready on
  the old version and says which version it is loading.
- `POST /v1/lookup`: a batch of {signal, value}, and whole videos (vPDQ in Meta's text form or
  HMA's JSON form) answered per known video with both shares, under a rule the request picks.
- `GET /m/raw_lookup`, `GET|POST /m/lookup`: HMA's matching API (`api/matcher_hma.py`), so a
  platform using Hasher-Matcher-Actioner switches by changing a base URL.
- Updates: deltas dropped in the `updates` folder are picked up by a poller, or at once by
  `POST /v1/admin/reload` (only when a token is configured).
- An optional bearer token guards `/v1/*` and `/m/*`, for platforms that run the service centrally.
"""

from __future__ import annotations

import builtins
import hmac
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Self

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

from mediamatch.api.matcher_hma import hma_router
from mediamatch.api.schemas import SignalValue
from mediamatch.hashlist.format import HashListError
from mediamatch.hashlist.signing import load_public_key
from mediamatch.services.platform_matcher import DeltaProblem, HashListMatcher
from mediamatch.services.video_lookup import VideoRule, parse_video_signal
from mediamatch.services.webhooks import WebhookPolicy

MAX_QUERIES = 1000
MAX_VIDEOS = 10
MAX_VIDEO_CHARS = 4_000_000  # ten hours of frames, one a second, in either form


@dataclass(frozen=True, slots=True)
class MatcherSettings:
    hashlist: Path
    public_key: Path
    updates: Path | None = None  # folder polled for *.delta files
    token: str | None = None  # bearer token for /v1/*; None: open (run it inside your network)
    poll_seconds: float = 30.0
    max_queries: int = MAX_QUERIES
    hash_media: bool = False  # HMA's /m/lookup may hash uploads and fetch URLs
    fetch_allow: tuple[str, ...] = ()  # networks a URL may resolve to besides public ones (lab use)


class VideoLookup(BaseModel):
    """A whole video: its vPDQ signal in Meta's text form or HMA's JSON form, and the rule that
    decides a match (default: 80% of the known video, the vPDQ README's)."""

    signal: Literal["vpdq"] = "vpdq"
    value: str = Field(min_length=1, max_length=MAX_VIDEO_CHARS)
    rule: VideoRule = VideoRule.KNOWN
    label: str = Field(default="", max_length=500)


class LookupBatch(BaseModel):
    queries: list[SignalValue] = Field(default_factory=list, max_length=MAX_QUERIES)
    videos: list[VideoLookup] = Field(default_factory=list, max_length=MAX_VIDEOS)

    @model_validator(mode="after")
    def _something_to_look_up(self) -> Self:
        if not self.queries and not self.videos:
            raise ValueError("give queries, videos or both")
        return self


class HitOut(BaseModel):
    indicator: int
    signal: str
    distance: int


class LookupResult(BaseModel):
    matches: list[HitOut]


class VideoOut(BaseModel):
    """One known video the queried one shares frames with."""

    video: int  # the indicator of the known video's first frame
    query_share: float  # of the query's usable frames, found in the known video
    known_share: float  # of the known video's frames, found in the query
    match: bool  # by the request's rule
    frames: builtins.list[int]  # the known video's frame indicators found


class VideoResult(BaseModel):
    label: str
    rule: VideoRule
    frames: int  # frames read from the signal
    videos: builtins.list[VideoOut]


class LookupOut(BaseModel):
    list: str
    version: int
    results: builtins.list[LookupResult]  # `list` here is the field above
    videos: builtins.list[VideoResult] = Field(default_factory=builtins.list)


class ReloadOut(BaseModel):
    version: int
    applied: list[str]


class MatcherService:
    """The loaded matcher, the updates folder and what went wrong last, for /readyz."""

    def __init__(self, settings: MatcherSettings) -> None:
        self.settings = settings
        self.matcher: HashListMatcher | None = None
        self.error: str | None = None
        self.refused: dict[str, str] = {}  # delta file name -> "problem: why it was not applied"
        self._stop = threading.Event()
        self._updating = threading.Lock()
        self._settled: dict[str, tuple[int, int]] = {}  # file name -> (size, mtime) when last handled

    def load(self) -> None:
        try:
            self.matcher = HashListMatcher.from_hashlist(self.settings.hashlist, load_public_key(self.settings.public_key))
            self.error = None
            self.apply_updates()
        except HashListError as exc:
            self.error = str(exc)

    def apply_updates(self) -> list[str]:
        """Apply, in version order, every delta in the updates folder that continues the loaded
        version. Every other one is listed in `refused` with its reason (and logged); a file is
        read again only once it changes (drop files in as `NAME.delta.partial` and rename), except
        one waiting for a missing predecessor."""
        if self.matcher is None or self.settings.updates is None or not self.settings.updates.is_dir():
            return []
        with self._updating:
            pending = [path for path in self.settings.updates.glob("*.delta") if self._settled.get(path.name) != _stamp(path)]
            report = self.matcher.apply_deltas(pending)
            for name in report.applied:
                self.refused.pop(name, None)
                self._settled[name] = _stamp(self.settings.updates / name)
            for entry in report.unapplied:
                self.refused[entry.file] = f"{entry.problem}: {entry.reason}"
                if entry.problem is not DeltaProblem.SKIPPED_VERSION:  # that one may fit once its predecessor arrives
                    self._settled[entry.file] = _stamp(self.settings.updates / entry.file)
        return list(report.applied)

    def poll(self) -> None:
        while not self._stop.wait(self.settings.poll_seconds):
            self.apply_updates()

    def stop(self) -> None:
        self._stop.set()


def authorised(request: Request) -> None:
    """With a token configured, /v1/* needs `Authorization: Bearer <token>` (compared in
    constant time)."""
    token = request.app.state.service.settings.token
    if token is None:
        return
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})


def loaded_matcher(request: Request) -> HashListMatcher:
    service: MatcherService = request.app.state.service
    if service.matcher is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, service.error or "the hash list is still loading", headers={"Retry-After": "5"})
    return service.matcher


Loaded = Annotated[HashListMatcher, Depends(loaded_matcher)]
Authorised = Depends(authorised)


def _video_result(matcher: HashListMatcher, video: VideoLookup) -> VideoResult:
    frames = parse_video_signal(video.value)
    answers = matcher.lookup_video(frames, video.rule)
    out = [VideoOut(video=a.video, query_share=a.query_share, known_share=a.known_share, match=a.match, frames=list(a.frames)) for a in answers]
    return VideoResult(label=video.label, rule=video.rule, frames=len(frames), videos=out)


def _stamp(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (-1, -1)
    return stat.st_size, stat.st_mtime_ns


def create_matcher_app(settings: MatcherSettings, *, background: bool = True) -> FastAPI:
    """The matcher service for `settings`. The list loads in a background thread (readiness
    says when); with `background=False` it loads before this returns (tests, tools)."""
    service = MatcherService(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if background:
            threading.Thread(target=service.load, name="hashlist-load", daemon=True).start()
            if settings.updates is not None:
                threading.Thread(target=service.poll, name="hashlist-updates", daemon=True).start()
        yield
        service.stop()

    app = FastAPI(title="mediamatch matcher", summary="Read-only lookups against a signed hash list.", version="1", lifespan=lifespan)
    app.state.service = service
    if not background:
        service.load()

    app.include_router(hma_router(authorised, loaded_matcher, settings.hash_media, WebhookPolicy.from_entries(settings.fetch_allow)))

    @app.get("/healthz", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def ready() -> JSONResponse:
        """Ready once a verified list is loaded; during an update, ready on the old version."""
        matcher = service.matcher
        if matcher is None:
            body: dict[str, object] = {"ready": False, "error": service.error, "loading": service.error is None}
            return JSONResponse(body, status.HTTP_503_SERVICE_UNAVAILABLE)
        body = {
            "ready": True, "list": matcher.name, "version": matcher.version, "updating_to": matcher.updating_to,
            "counts": matcher.counts(), "refused_updates": service.refused,
        }  # fmt: skip
        return JSONResponse(body)

    @app.post("/v1/lookup", response_model=LookupOut, dependencies=[Authorised], tags=["lookup"])
    def lookup(body: LookupBatch, matcher: Loaded) -> LookupOut:
        """Which indicators each hash matches: MD5/SHA-1/SHA-256 exactly, PDQ within 31 bits;
        and for each whole video, the known videos it shares frames with, with both shares.
        Only indicator ids, signals, distances and shares are known here."""
        if len(body.queries) > settings.max_queries:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"at most {settings.max_queries} queries per request")
        try:
            found = matcher.lookup_many([(query.signal, query.value) for query in body.queries])
            videos = [_video_result(matcher, video) for video in body.videos]
        except ValueError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
        results = [LookupResult(matches=[HitOut(indicator=h.indicator, signal=h.signal, distance=h.distance) for h in hits]) for hits in found]
        return LookupOut(list=matcher.name, version=matcher.version, results=results, videos=videos)

    @app.post("/v1/admin/reload", response_model=ReloadOut, dependencies=[Authorised], tags=["admin"])
    def reload(matcher: Loaded) -> ReloadOut:
        """Apply the deltas waiting in the updates folder now. Needs the service's token."""
        if settings.token is None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "reload is enabled only when the service has a token (--token-file)")
        applied = service.apply_updates()
        return ReloadOut(version=matcher.version, applied=applied)

    return app
