"""Is this known? By hashes (single or batch) or by an uploaded file (hashed, never stored).

Investigators and contributors get the catalogue's answer (series, category, identification,
who contributed it); platforms get `/match`, which says only which indicator matched."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, UploadFile

from mediamatch.api.deps import CatalogueMatcherDep, Principal, SessionDep, audit, require
from mediamatch.api.routes.media import read_uploads
from mediamatch.api.schemas import HashQuery, HashQueryBatch, MatchOut, PlatformMatch, PlatformResult, QueryResult, VideoQuery
from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Permission
from mediamatch.catalog.hashes import FrameHash, HashRecord
from mediamatch.catalog.records import Match
from mediamatch.media.hashing import hash_bytes
from mediamatch.media.limits import DEFAULT_LIMITS
from mediamatch.services.matching import CatalogueMatcher
from mediamatch.store import repo

router = APIRouter(prefix="/api/v1", tags=["query"])
Searcher = Annotated[Principal, Depends(require(Permission.SEARCH_HASHES))]
Platform = Annotated[Principal, Depends(require(Permission.MATCH_HASHES))]


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


@router.post("/match", response_model=list[PlatformResult])
def platform_match(body: HashQueryBatch, principal: Platform, session: SessionDep, matcher: CatalogueMatcherDep) -> list[PlatformResult]:
    """For platforms: which indicators a batch of hashes matches, with signal and distance only.
    The indicator is the id hash lists publish (a stored hash, not the media item), so a hit
    reported back names exactly what matched."""
    records = [as_record(query) for query in body.queries]
    found = matcher.match(records, session)
    audit(session, principal.event(AuditAction.SEARCH, "platform-match", "", count=len(records), hits=sum(bool(m) for m in found)))
    keys = {match: _indicator_key(match) for matches in found for match in matches}
    indicators = repo.indicator_ids(session, keys.values())
    return [
        PlatformResult(
            label=record.path,
            matches=[PlatformMatch(indicator=indicators[keys[m]], signal=m.signal, distance=m.distance) for m in matches if keys[m] in indicators],
        )
        for record, matches in zip(records, found)
    ]


def _indicator_key(match: Match) -> tuple[int, str, float | None]:
    """What identifies the stored hash behind a match: a still's own row, or the frame of a
    known video at the (first) time the match names."""
    return (match.media_id, match.signal, match.known_seconds[0][0] if match.known_seconds else None)
