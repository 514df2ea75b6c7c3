"""Is this known? By hashes (single or batch) or by an uploaded file (hashed, never stored).

Investigators and contributors get the catalogue's answer (series, category, identification,
who contributed it); platforms get `/match`, which says only which indicator matched."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal, Self

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile, status
from pydantic import Field, model_validator

from mediamatch.api.deps import CatalogueMatcherDep, Principal, SessionDep, audit, require
from mediamatch.api.routes.media import read_uploads
from mediamatch.api.schemas import HashQuery, HashQueryBatch, MatchOut, PlatformMatch, PlatformResult, QueryResult, Strict, VideoQuery
from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Permission
from mediamatch.catalog.hashes import FrameHash, HashRecord
from mediamatch.catalog.records import Match
from mediamatch.media.hashing import hash_bytes
from mediamatch.media.limits import DEFAULT_LIMITS
from mediamatch.services.catalogue_video import catalogue_video_lookup
from mediamatch.services.matching import CatalogueMatcher
from mediamatch.services.video_lookup import VideoRule, parse_video_signal

router = APIRouter(prefix="/api/v1", tags=["query"])
Searcher = Annotated[Principal, Depends(require(Permission.SEARCH_HASHES))]
Platform = Annotated[Principal, Depends(require(Permission.MATCH_HASHES))]
MAX_PLATFORM_VIDEOS = 10


class PlatformVideo(Strict):
    """A whole video for `/match`: its vPDQ signal in Meta's text form or HMA's JSON form, and
    the rule that decides a match (default: 80% of the known video, the vPDQ README's)."""

    signal: Literal["vpdq"] = "vpdq"
    value: str = Field(min_length=1, max_length=4_000_000)
    rule: VideoRule = VideoRule.KNOWN
    label: str = Field(default="", max_length=500)


class PlatformBatch(Strict):
    """Hashes (as `/query/hashes` takes them), whole videos, or both."""

    queries: list[HashQuery] = Field(default_factory=list, max_length=1000)
    videos: list[PlatformVideo] = Field(default_factory=list, max_length=MAX_PLATFORM_VIDEOS)

    @model_validator(mode="after")
    def _something_to_match(self) -> Self:
        if not self.queries and not self.videos:
            raise ValueError("give queries, videos or both")
        return self


class PlatformVideoMatch(Strict):
    video: int  # the indicator of the known video's first frame, as hash lists group frames
    query_share: float
    known_share: float
    match: bool


class PlatformAnswer(PlatformResult):
    """One answer of `/match`: a hash's indicators, or (for a video, after the hashes' answers)
    the known videos it shares footage with."""

    rule: VideoRule | None = None
    videos: list[PlatformVideoMatch] | None = None


def as_record(query: HashQuery) -> HashRecord:
    """The record of one queried value (the schema validated it against its signal)."""
    return HashRecord(path=query.label, signals={query.signal: query.value}, qualities={query.signal: query.quality})


def answer(matcher: CatalogueMatcher, request: Request, session: SessionDep, principal: Principal, records: list[HashRecord]) -> list[QueryResult]:
    found = matcher.match(records, session)
    origins = matcher.origins(session, {match.media_id for matches in found for match in matches})
    series_ids = {series_id for origin in origins.values() for series_id in origin.series_ids}
    request.app.state.interest.note(session, principal.agency_id, series_ids, "matched")
    return [
        QueryResult(
            label=record.path,
            known=bool(matches),
            matches=[
                MatchOut(
                    media_id=m.media_id,
                    series=list(m.series),
                    category=m.category,
                    baseline=m.baseline,
                    victim_identified=m.victim_identified,
                    signal=m.signal,
                    distance=m.distance,
                    transform=m.transform,
                    known_from=list(origins[m.media_id].known_from),
                    query_seconds=list(m.query_seconds),
                    known_seconds=list(m.known_seconds),
                    query_share=m.query_share,
                    known_share=m.known_share,
                    investigations=list(m.investigations),
                )
                for m in matches
            ],
        )
        for record, matches in zip(records, found)
    ]


@router.post("/query/hashes", response_model=list[QueryResult])
def query_hashes(body: HashQueryBatch, request: Request, principal: Searcher, session: SessionDep, matcher: CatalogueMatcherDep) -> list[QueryResult]:
    """Look up to 1,000 hashes (any signal of a file or picture: md5, sha1, sha256, pdq, ...) at once; PDQ within distance 31,
    including the query's rotations and flips only when hashed from a file (`/query/file`)."""
    records = [as_record(query) for query in body.queries]
    results = answer(matcher, request, session, principal, records)
    audit(session, principal.event(AuditAction.SEARCH, "hashes", "", count=len(records), known=sum(r.known for r in results)))
    return results


@router.post("/query/video", response_model=QueryResult)
def query_video(body: VideoQuery, request: Request, principal: Searcher, session: SessionDep, matcher: CatalogueMatcherDep) -> QueryResult:
    """Look up one video by its frame hashes (and digests): known stills among its frames, known
    videos it copies, cuts or contains (vPDQ's rule), each with the matched time ranges."""
    frames = tuple(FrameHash(f.number, f.timestamp, f.pdq, f.quality, tuple((v.name, v.pdq, v.quality) for v in f.variants)) for f in body.frames)
    record = HashRecord(path=body.label, signals=body.signals, frames=frames)
    [result] = answer(matcher, request, session, principal, [record])
    audit(session, principal.event(AuditAction.SEARCH, "video", "", count=1, frames=len(frames), known=result.known))
    return result


@router.post("/query/file", response_model=list[QueryResult])
async def query_file(
    request: Request,
    principal: Searcher,
    session: SessionDep,
    matcher: CatalogueMatcherDep,
    files: Annotated[list[UploadFile], File(description="Files to check; hashed here, never stored.")],
) -> list[QueryResult]:
    """Hash uploaded files (all signals, PDQ with its 8 rotations/flips) and look them up. The
    content is not kept."""
    sources = await read_uploads(request, files)
    records = [hash_bytes(source.data, source.name, replace(DEFAULT_LIMITS, dihedral=True)) for source in sources]
    results = answer(matcher, request, session, principal, records)
    audit(session, principal.event(AuditAction.SEARCH, "files", "", count=len(records), known=sum(r.known for r in results)))
    return results


@router.post("/match", response_model=list[PlatformAnswer], response_model_exclude_none=True)
def platform_match(body: PlatformBatch, principal: Platform, session: SessionDep, matcher: CatalogueMatcherDep) -> list[PlatformAnswer]:
    """For platforms: which indicators a batch of hashes matches, with signal and distance only.
    The indicator is the id hash lists publish (a stored hash, not the media item), so a hit
    reported back names exactly what matched. Whole videos (`videos`) are answered after the
    hashes, one answer each: the known videos they share footage with, both shares, and whether
    the request's rule calls it a match."""
    records = [as_record(query) for query in body.queries]
    try:
        videos = [(video, parse_video_signal(video.value)) for video in body.videos]
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    found = matcher.match(records, session) if records else []
    keys = {match: _indicator_key(match) for matches in found for match in matches}
    indicators = matcher.indicators(session, set(keys.values()))
    answers = [
        PlatformAnswer(
            label=record.path,
            matches=[PlatformMatch(indicator=indicators[keys[m]], signal=m.signal, distance=m.distance) for m in matches if keys[m] in indicators],
        )
        for record, matches in zip(records, found)
    ]
    for video, frames in videos:
        known = catalogue_video_lookup(matcher, session, frames, video.rule, video.label)
        shown = [PlatformVideoMatch(video=a.video, query_share=a.query_share, known_share=a.known_share, match=a.match) for a in known]
        answers.append(PlatformAnswer(label=video.label, matches=[], rule=video.rule, videos=shown))
    hits = sum(bool(m) for m in found) + sum(any(v.match for v in a.videos or ()) for a in answers[len(records) :])
    audit(session, principal.event(AuditAction.SEARCH, "platform-match", "", count=len(records), videos=len(videos), hits=hits))
    return answers


def _indicator_key(match: Match) -> tuple[int, str, float | None]:
    """What identifies the stored hash behind a match: a still's own row, or the frame of a
    known video at the (first) time the match names."""
    return (match.media_id, match.signal, match.known_seconds[0][0] if match.known_seconds else None)
