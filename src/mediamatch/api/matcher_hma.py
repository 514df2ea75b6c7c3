"""HMA's matching API on the platform matcher: `GET /m/raw_lookup`, `GET /m/lookup` and
`POST /m/lookup` with HMA's parameters and answer shapes (services/hma_lookup.py says what
differs). Guarded by the same bearer token as `/v1/lookup`; errors answer `{"message": ...}`
as HMA's do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse

from mediamatch.services.hma_lookup import MAX_FETCH_BYTES, HmaRequestError, banks, content_type_of, fetch, hash_media, lookup_hashed, raw_lookup
from mediamatch.services.platform_matcher import HashListMatcher
from mediamatch.services.video_lookup import VideoRule
from mediamatch.services.webhooks import WebhookPolicy, WebhookRefused

RuleParam = Annotated[VideoRule, Query(description="vpdq only: which share decides (query: HMA's default; known: the vPDQ README's; both).")]


def _refused(message: str, code: int = status.HTTP_400_BAD_REQUEST) -> JSONResponse:
    return JSONResponse({"message": message}, code)


def hma_router(authorised: Callable[..., Any], loaded: Callable[..., HashListMatcher], hash_media_enabled: bool, fetch_policy: WebhookPolicy) -> APIRouter:
    """The /m routes; `authorised` and `loaded` are the matcher app's own dependencies."""
    router = APIRouter(prefix="/m", tags=["hma"], dependencies=[Depends(authorised)])
    matched_by = Depends(loaded)

    def hashed_content(data: bytes, content_type: str, matcher: HashListMatcher) -> JSONResponse:
        try:
            return JSONResponse(lookup_hashed(matcher, hash_media(data, content_type)))
        except HmaRequestError as exc:
            return _refused(str(exc))

    @router.get("/raw_lookup", response_model=None)
    def hma_raw_lookup(
        signal_type: str = "", signal: str = "", include_distance: str = "false", rule: RuleParam = VideoRule.QUERY, matcher: HashListMatcher = matched_by
    ) -> JSONResponse | dict[str, Any]:
        """HMA's raw lookup: `{"matches": [content id, ...]}`, or with `include_distance=true`
        `{"matches": [{"content_id": id, "distance": "d"}, ...]}`."""
        if not signal or not signal_type:
            return _refused(f"{'signal' if not signal else 'signal_type'} is required")
        try:
            found = raw_lookup(matcher, signal_type, signal, rule)
        except HmaRequestError as exc:
            return _refused(str(exc))
        if include_distance.strip().lower() in ("true", "1", "yes", "t"):
            return {"matches": [{"content_id": match.content_id, "distance": match.distance} for match in found]}
        return {"matches": [match.content_id for match in found]}

    @router.get("/lookup", response_model=None)
    def hma_lookup(
        signal_type: str = "", signal: str = "", url: str = "", content_type: str = "", rule: RuleParam = VideoRule.QUERY, matcher: HashListMatcher = matched_by
    ) -> JSONResponse | list[str]:
        """HMA's lookup: the banks (here: the list) holding a match, `["<list>"]` or `[]`; with
        `url`, the content there is fetched and hashed (where enabled) and the answer is
        `{signal type: banks}`."""
        if url:
            if not hash_media_enabled:
                return _refused("this matcher does not fetch or hash media (start it with --hash-media)", status.HTTP_403_FORBIDDEN)
            try:
                data, media_type = fetch(url, fetch_policy)
                return hashed_content(data, content_type_of(content_type or None, media_type), matcher)
            except (HmaRequestError, WebhookRefused) as exc:
                return _refused(str(exc))
        if not signal or not signal_type:
            return _refused(f"{'signal' if not signal else 'signal_type'} is required")
        try:
            return banks(matcher, signal_type, signal, rule)
        except HmaRequestError as exc:
            return _refused(str(exc))

    @router.post("/lookup", response_model=None)
    async def hma_lookup_upload(request: Request, matcher: HashListMatcher = matched_by) -> JSONResponse:
        """HMA's upload lookup: one file in a multipart field named by its content type
        (`photo` or `video`); the answer is `{signal type: banks}`. The file is hashed in
        memory and not kept."""
        if not hash_media_enabled:
            return _refused("this matcher does not hash media (start it with --hash-media)", status.HTTP_403_FORBIDDEN)
        form = await request.form()
        uploads = [(name, value) for name, value in form.multi_items() if not isinstance(value, str)]
        if len(uploads) != 1:
            return _refused("Missing multipart/form-data file upload" if not uploads else "Only one file allowed per request")
        name, upload = uploads[0]
        if upload.size is not None and upload.size > MAX_FETCH_BYTES:
            return _refused(f"the file is over {MAX_FETCH_BYTES} bytes")
        return hashed_content(await upload.read(), name, matcher)

    return router
