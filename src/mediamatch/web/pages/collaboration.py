"""Working together on a series in the browser: investigations, clues and their threads with the
search, help requests with their crop and four-eyes decision, and the statistics with charts.

The same services as the API (`services/investigations.py`, `clues.py`, `help_requests.py`,
`search.py`, `stats.py`) decide what each agency sees; these handlers only read forms, call one
service, audit and render. A refusal is the service's own message on the 422 page."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Path, Query, Request, status
from fastapi.responses import RedirectResponse, Response

from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Permission
from mediamatch.catalog.collaboration import Actor, Box
from mediamatch.media import thumbnail as thumbnails
from mediamatch.services import clues, help_requests, investigations
from mediamatch.services.search import SearchFilters, search
from mediamatch.services.stats import statistics
from mediamatch.store.models.collaboration import CLUE_KINDS
from mediamatch.web.charts import bar_chart
from mediamatch.web.deps import DbSession, audit
from mediamatch.web.render import render
from mediamatch.web.routing import page_router
from mediamatch.web.session import SignedIn, require_page

router = page_router()
Reader = Annotated[SignedIn, Depends(require_page(Permission.SEARCH_METADATA))]
Writer = Annotated[SignedIn, Depends(require_page(Permission.WRITE_CLUES))]
Claimer = Annotated[SignedIn, Depends(require_page(Permission.CLAIM_INVESTIGATION))]
Approver = Annotated[SignedIn, Depends(require_page(Permission.APPROVE_HELP_REQUESTS))]
Viewer = Annotated[SignedIn, Depends(require_page(Permission.VIEW_THUMBNAIL))]
Statistician = Annotated[SignedIn, Depends(require_page(Permission.READ_STATISTICS))]
ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Text = Annotated[str, Form(max_length=4000)]
Name = Annotated[str, Query(max_length=200)]


def actor(user: SignedIn) -> Actor:
    return Actor(user.user_id, user.username, user.agency_id)


def refused(exc: Exception) -> HTTPException:
    code = status.HTTP_404_NOT_FOUND if isinstance(exc, LookupError) else 422
    return HTTPException(code, str(exc))


def back(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


# Investigations ----------------------------------------------------------------------------


@router.get("/investigations")
def investigations_page(request: Request, user: Reader, session: DbSession, series: Name = "") -> Response:
    """Every claim, open ones first, or those on one series; the form to claim."""
    try:
        found = investigations.list_investigations(session, series=series or None)
    except LookupError as exc:
        raise refused(exc) from None
    ordered = sorted(found, key=lambda record: (record.ended_at is not None, record.started_at))
    response = render(request, "investigations.html.j2", investigations=ordered, series=series, may_claim=user.may(Permission.CLAIM_INVESTIGATION))
    audit(session, user.event(AuditAction.SEARCH, "investigations", series))
    return response


@router.post("/investigations/claim")
def claim(request: Request, user: Claimer, session: DbSession, series: Annotated[str, Form(max_length=200)], case_reference: Text, contact: Text) -> Response:
    """Claim a series; the page then says who else already works it (they and you are notified)."""
    try:
        outcome = investigations.claim(session, actor(user), series=series, case_reference=case_reference, contact=contact)
    except (LookupError, ValueError) as exc:
        raise refused(exc) from None
    audit(session, user.event(AuditAction.INVESTIGATION_CLAIMED, "series", series, case=case_reference, overlaps=[o.agency for o in outcome.already]))
    found = investigations.list_investigations(session, series=series)
    return render(request, "investigations.html.j2", investigations=found, series=series, may_claim=True, outcome=outcome)


@router.post("/investigations/{investigation_id}/end")
def end_claim(
    investigation_id: ObjectId, user: Claimer, session: DbSession, kind: Annotated[str, Form(max_length=16)], reason: Text,
    handed_to: Annotated[str, Form(max_length=200)] = "",
) -> Response:  # fmt: skip
    try:
        record = investigations.end(session, investigation_id, actor(user), kind, reason, handed_to or None)
    except (LookupError, ValueError) as exc:
        raise refused(exc) from None
    audit(session, user.event(AuditAction.INVESTIGATION_ENDED, "investigation", investigation_id, kind=kind, reason=record.end_reason, handed_to=handed_to))
    return back(f"/investigations?series={record.series or ''}")


# Clues, threads, search --------------------------------------------------------------------


@router.get("/clues")
def clues_page(
    request: Request, user: Reader, session: DbSession, series: Name = "", q: Annotated[str, Query(max_length=500)] = "",
    country: Annotated[str, Query(max_length=2)] = "", kind: Annotated[str, Query(max_length=16)] = "",
) -> Response:  # fmt: skip
    """A series' clues with their threads and the form to pin one; or, with `q`, the search."""
    viewer = actor(user)
    try:
        found = clues.list_clues(session, series, viewer) if series else []
        threads = {clue.id: clues.thread(session, viewer, clue_id=clue.id) for clue in found}
        series_thread = clues.thread(session, viewer, series=series) if series else []
    except LookupError as exc:
        raise refused(exc) from None
    hits = search(session, viewer, q, SearchFilters(country=country.upper() or None, kind=kind or None)) if q else []
    response = render(
        request, "clues.html.j2", series=series, clues=found, threads=threads, series_thread=series_thread, q=q, country=country, kind=kind,
        hits=hits, kinds=CLUE_KINDS, may_write=user.may(Permission.WRITE_CLUES),
    )  # fmt: skip
    audit(session, user.event(AuditAction.SEARCH, "clues", series, q=q, country=country, kind=kind))
    return response


@router.post("/clues/new")
def add_clue(
    user: Writer, session: DbSession, series: Annotated[str, Form(max_length=200)], kind: Annotated[str, Form(max_length=16)], text: Text,
    country: Annotated[str, Form(max_length=2)] = "", confidence: Annotated[int, Form(ge=0, le=100)] = 50,
    visibility: Annotated[str, Form(max_length=8)] = "all", media_id: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
    box_left: Annotated[int | None, Form(ge=0)] = None, box_top: Annotated[int | None, Form(ge=0)] = None,
    box_width: Annotated[int | None, Form(ge=1)] = None, box_height: Annotated[int | None, Form(ge=1)] = None,
) -> Response:  # fmt: skip
    """Pin a clue to the series, or to a picture of it and a box of that picture."""
    corners = (box_left, box_top, box_width, box_height)
    box = Box(*corners) if all(value is not None for value in corners) else None  # type: ignore[arg-type]
    given = clues.ClueInput(series, kind, text, media_id=media_id, box=box, country=country or None, confidence=confidence, visibility=visibility)
    try:
        record = clues.add_clue(session, actor(user), given)
    except (LookupError, ValueError) as exc:
        raise refused(exc) from None
    audit(session, user.event(AuditAction.CLUE_CREATED, "clue", record.id, series=series, media_id=media_id, visibility=record.visibility))
    return back(f"/clues?series={series}")


@router.post("/clues/{clue_id}/comments")
def comment_on_clue(clue_id: ObjectId, user: Writer, session: DbSession, body: Text) -> Response:
    try:
        comment = clues.add_comment(session, actor(user), body, clue_id=clue_id)
        series = clues.get_clue(session, clue_id, actor(user)).series
    except (LookupError, ValueError) as exc:
        raise refused(exc) from None
    audit(session, user.event(AuditAction.COMMENT_POSTED, "clue", clue_id, comment=comment.id))
    return back(f"/clues?series={series}")


@router.post("/series-threads/{name}")
def comment_on_series(name: Annotated[str, Path(max_length=200)], user: Writer, session: DbSession, body: Text) -> Response:
    try:
        comment = clues.add_comment(session, actor(user), body, series=name)
    except (LookupError, ValueError) as exc:
        raise refused(exc) from None
    audit(session, user.event(AuditAction.COMMENT_POSTED, "series", name, comment=comment.id))
    return back(f"/clues?series={name}")


# Help requests -----------------------------------------------------------------------------


@router.get("/help-requests")
def help_requests_page(request: Request, user: Reader, session: DbSession) -> Response:
    found = help_requests.list_requests(session, actor(user))
    response = render(request, "help_requests.html.j2", requests=found)
    audit(session, user.event(AuditAction.SEARCH, "help_requests", ""))
    return response


@router.post("/help-requests/new")
def ask(request: Request, user: Writer, session: DbSession, clue_id: Annotated[int, Form(ge=1, le=2**31 - 1)], question: Text,
        countries: Annotated[str, Form(max_length=400)] = "") -> Response:  # fmt: skip
    """Draft a help request about one of the agency's clues (with a crop of its box)."""
    try:
        record = help_requests.ask(session, request.app.state.blobs, actor(user), clue_id, question, tuple(countries.replace(",", " ").split()))
    except (LookupError, ValueError) as exc:
        raise refused(exc) from None
    audit(session, user.event(AuditAction.HELP_REQUESTED, "help_request", record.id, clue=clue_id, crop=record.has_crop, countries=list(record.countries)))
    return back(f"/help-requests/{record.id}")


@router.get("/help-requests/{request_id}")
def help_request_page(request_id: ObjectId, request: Request, user: Reader, session: DbSession) -> Response:
    try:
        record = help_requests.get_request(session, request_id, actor(user))
        answers = help_requests.answers(session, request_id, actor(user))
    except LookupError as exc:
        raise refused(exc) from None
    may_decide = user.may(Permission.APPROVE_HELP_REQUESTS) and record.agency == user.agency and record.author != user.username
    response = render(
        request, "help_request.html.j2", item=record, answers=answers, may_decide=may_decide and record.status == "awaiting_approval",
        may_answer=user.may(Permission.WRITE_CLUES) and (record.status == "sent" or record.agency == user.agency),
        may_view=user.may(Permission.VIEW_THUMBNAIL),
    )  # fmt: skip
    audit(session, user.event(AuditAction.SEARCH, "help_request", request_id))
    return response


@router.get("/help-requests/{request_id}/crop", response_class=Response)
def crop(request_id: ObjectId, request: Request, user: Viewer, session: DbSession, reveal: bool = False) -> Response:
    """The crop at the account's thumbnail size, blurred unless `reveal`; audited like every picture."""
    try:
        data = help_requests.crop_of(session, request.app.state.blobs, request_id, actor(user))
        picture = thumbnails.thumbnail(data, user.wellness.thumb_px, reveal=reveal)
    except (LookupError, thumbnails.ThumbnailError) as exc:
        raise refused(exc) from None
    audit(session, user.event(AuditAction.VIEW_THUMBNAIL, "help_request", request_id, revealed=reveal))
    return Response(thumbnails.jpeg_bytes(picture), media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post("/help-requests/{request_id}/decision")
def decide(request_id: ObjectId, user: Approver, session: DbSession, approve: Annotated[bool, Form()]) -> Response:
    """The second person's decision (never the author's)."""
    try:
        decision = help_requests.decide(session, request_id, actor(user), approve)
    except (LookupError, ValueError) as exc:
        raise refused(exc) from None
    audit(session, user.event(AuditAction.HELP_REQUEST_DECIDED, "help_request", request_id, approved=approve, notified=list(decision.notified)))
    return back(f"/help-requests/{request_id}")


@router.post("/help-requests/{request_id}/answers")
def answer(request_id: ObjectId, user: Writer, session: DbSession, body: Text) -> Response:
    try:
        comment = help_requests.answer(session, request_id, actor(user), body)
    except (LookupError, ValueError) as exc:
        raise refused(exc) from None
    audit(session, user.event(AuditAction.COMMENT_POSTED, "help_request", request_id, comment=comment.id))
    return back(f"/help-requests/{request_id}")


# Statistics --------------------------------------------------------------------------------


@router.get("/statistics")
def statistics_page(request: Request, user: Statistician, session: DbSession) -> Response:
    """Bar charts (server-drawn SVG) and tables of the statistics."""
    figures = statistics(session)

    def by(rows, key) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
        totals: Counter[str] = Counter()
        for row in rows:
            totals[key(row)] += row.count
        return sorted(totals.items())

    charts = [
        bar_chart("Series added per month", by(figures.series_added, lambda row: row.month)),
        bar_chart("Victims identified per month", by(figures.victims_identified, lambda row: row.month)),
        bar_chart("Victims identified per country", by(figures.victims_identified, lambda row: row.country)),
        bar_chart("Matches by agencies' triage per month", by([r for r in figures.matches if r.label == "triage"], lambda row: row.month)),
        bar_chart("Platform hits per month", by([r for r in figures.matches if r.label == "platform"], lambda row: row.month)),
        bar_chart("Open investigations per agency", by(figures.open_investigations, lambda row: row.label)),
    ]
    response = render(request, "statistics.html.j2", charts=charts, figures=figures)
    audit(session, user.event(AuditAction.SEARCH, "statistics", ""))
    return response
