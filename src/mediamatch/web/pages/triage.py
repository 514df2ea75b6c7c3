"""Triage in the browser: start a run (uploaded folder or archive, a collection on the server's
evidence volume, or a CLI report to open), follow its progress, then work through the results
grid: filter, sort, page, reveal, categorise, open a file, and contribute a selection.

Handlers are thin: they parse, authorise (`require_page`), call services/triage_runs.py and
audit. Runs execute in the server's background runner, one at a time, created on first use.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any, Literal

from fastapi import Depends, File, Form, HTTPException, Path, Query, Request, UploadFile, status
from fastapi.responses import RedirectResponse, Response

from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Permission
from mediamatch.catalog.records import Category, category_label
from mediamatch.media.thumbnail import ThumbnailError
from mediamatch.services import triage_grid, triage_runs
from mediamatch.services.shared_matchers import catalogue_matcher_of
from mediamatch.web.deps import DbSession, audit
from mediamatch.web.render import render
from mediamatch.web.routing import page_router
from mediamatch.web.session import SignedIn, require_page

router = page_router()
Triager = Annotated[SignedIn, Depends(require_page(Permission.TRIAGE))]
Contributor = Annotated[SignedIn, Depends(require_page(Permission.CONTRIBUTE_MEDIA))]
Viewer = Annotated[SignedIn, Depends(require_page(Permission.VIEW_THUMBNAIL))]
RunId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Seq = Annotated[int, Path(ge=0, le=2**31 - 1)]
NO_STORE = {"Cache-Control": "no-store"}
THUMB_SIZES = {"small": 128, "medium": 192, "large": 256}
STATUS_LABELS = {
    "known_identified": "Known, victim identified",
    "known_unidentified": "Known, victim not identified",
    "related": "Related: shares a scene or object with known material (not a copy)",
    "new": "New",
    "not_media": "Not media",
    "error": "Error",
}
_runner_lock = threading.Lock()


def runner(request: Request) -> triage_runs.RunRunner:
    """The server's background triage runner, started with the first run."""
    state = request.app.state
    with _runner_lock:
        if getattr(state, "triage_runner", None) is None:
            state.triage_runner = triage_runs.RunRunner(state.engine, lambda: catalogue_matcher_of(state), state.settings.triage_workers)
    return state.triage_runner


#: What every triage template is given to name statuses and categories.
LABELS: dict[str, Any] = {"status_labels": STATUS_LABELS, "category_label": category_label, "categories": list(Category)}


@router.get("/triage")
def triage_home(request: Request, user: Triager, session: DbSession, error: str | None = None) -> Response:
    """The agency's runs, and the forms that start one."""
    runner(request)  # after a restart, runs the stopped server left start again
    settings = request.app.state.settings
    return render(
        request,
        "triage_runs.html.j2",
        runs=triage_grid.list_runs(session, user.agency_id),
        evidence_roots=settings.evidence_roots,
        max_upload_mb=settings.max_upload_bytes // (1024 * 1024),
        error=error,
        **LABELS,
    )


@router.post("/triage/upload")
def start_upload(request: Request, user: Triager, session: DbSession, files: Annotated[list[UploadFile], File()]) -> Response:
    """Triage uploaded files: a folder's files (with their relative paths) or one archive."""
    try:
        run_id = triage_runs.create_upload_run(
            session, request.app.state.settings.triage_folder(), user.agency_id, user.username, ((f.filename or "upload", f.file) for f in files)
        )
    except triage_runs.RunRefused as exc:
        session.rollback()
        return _refused(request, user, session, str(exc))
    return _started(request, user, session, run_id, files=len(files))


@router.post("/triage/server")
def start_server_path(request: Request, user: Triager, session: DbSession, path: Annotated[str, Form(min_length=1, max_length=4000)]) -> Response:
    """Triage a collection already on the server's evidence volume (where the deployment allows)."""
    settings = request.app.state.settings
    try:
        run_id = triage_runs.create_server_run(session, settings.triage_folder(), user.agency_id, user.username, path, settings.evidence_roots)
    except triage_runs.RunRefused as exc:
        session.rollback()
        return _refused(request, user, session, str(exc))
    return _started(request, user, session, run_id, path=path)


@router.post("/triage/report")
async def open_report(request: Request, user: Triager, session: DbSession, report: Annotated[UploadFile, File()]) -> Response:
    """Open a CLI triage's report.json in the grid."""
    document = await report.read(request.app.state.settings.max_upload_bytes + 1)
    try:
        run_id = triage_runs.import_report(
            session, request.app.state.settings.triage_folder(), user.agency_id, user.username, report.filename or "report.json", document
        )
    except triage_runs.RunRefused as exc:
        session.rollback()
        return _refused(request, user, session, str(exc))
    audit(session, user.event(AuditAction.TRIAGE, "triage_run", run_id, kind="report", report=report.filename or ""))
    return RedirectResponse(f"/triage/{run_id}", status_code=status.HTTP_303_SEE_OTHER)


def _started(request: Request, user: SignedIn, session: DbSession, run_id: int, **detail: object) -> Response:
    audit(session, user.event(AuditAction.TRIAGE, "triage_run", run_id, **detail))  # commits the run before it is queued
    runner(request).submit(run_id)
    return RedirectResponse(f"/triage/{run_id}", status_code=status.HTTP_303_SEE_OTHER)


def _refused(request: Request, user: SignedIn, session: DbSession, message: str) -> Response:
    settings = request.app.state.settings
    return render(
        request,
        "triage_runs.html.j2",
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        runs=triage_grid.list_runs(session, user.agency_id),
        evidence_roots=settings.evidence_roots,
        max_upload_mb=settings.max_upload_bytes // (1024 * 1024),
        error=message,
        **LABELS,
    )


def _get_run(session: DbSession, run_id: int, user: SignedIn) -> triage_grid.RunView:
    try:
        return triage_grid.get_run(session, run_id, user.agency_id)
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Your agency has no triage run with this number.") from None


@router.get("/triage/{run_id}")
def run_page(
    request: Request,
    run_id: RunId,
    user: Triager,
    session: DbSession,
    filter_status: Annotated[
        Literal["", "known_identified", "known_unidentified", "related", "new", "not_media", "error"] | None, Query(alias="status")
    ] = None,
    series: Annotated[str | None, Query(max_length=200)] = None,
    kind: Annotated[Literal["", "image", "video", "other"] | None, Query()] = None,
    category: Annotated[Literal["", "none", "0", "1", "2", "3", "4"] | None, Query()] = None,
    sort: Literal["seq", "path", "size", "distance"] = "seq",
    order: Literal["asc", "desc"] = "asc",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=max(triage_grid.PER_PAGE_CHOICES))] = triage_grid.PER_PAGE_CHOICES[1],
    size: Literal["", "small", "medium", "large"] = "",
) -> Response:
    """The run: its progress while it runs, then the results grid."""
    run = _get_run(session, run_id, user)
    query = triage_grid.RowQuery(
        status=filter_status or None, series=series or None, media_kind=kind or None, category=category or None,
        sort=sort, descending=order == "desc", page=page, per_page=per_page,
    )  # fmt: skip
    grid = None if run.running else triage_grid.page_rows(session, run_id, user.agency_id, query)
    thumb = THUMB_SIZES.get(size) or user.wellness.thumb_px
    filters = {"status": filter_status or "", "series": series or "", "kind": kind or "", "category": category or "", "sort": sort, "order": order}
    return render(
        request,
        "triage_run.html.j2",
        run=run,
        grid=grid,
        filters={**filters, "per_page": per_page, "size": size},
        thumb=thumb,
        may_contribute=user.may(Permission.CONTRIBUTE_MEDIA),
        may_view=user.may(Permission.VIEW_THUMBNAIL),
        per_page_choices=triage_grid.PER_PAGE_CHOICES,
        **LABELS,
    )


@router.get("/triage/{run_id}/progress")
def run_progress(request: Request, run_id: RunId, user: Triager, session: DbSession) -> Response:
    """The progress fragment the run page polls; once the run is over, the page reloads into its grid."""
    run = _get_run(session, run_id, user)
    response = render(request, "_triage_progress.html.j2", run=run)
    if not run.running:
        response.headers["HX-Refresh"] = "true"
    return response


@router.get("/triage/{run_id}/rows/{seq}/picture", response_class=Response)
def row_picture(
    request: Request,
    run_id: RunId,
    seq: Seq,
    user: Viewer,
    session: DbSession,
    reveal: bool = False,
    size: Annotated[int, Query(ge=64, le=triage_runs.FULL_SIZE)] = triage_runs.PICTURE_SIZE,
) -> Response:
    """A file of the run as a JPEG, greyscale and blurred unless `reveal`; audited either way."""
    if not user.may(Permission.TRIAGE):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"Your role ({user.role}) does not open triage triage_runs.")
    try:
        jpeg = triage_runs.row_picture(session, run_id, user.agency_id, seq, reveal=reveal, size=size)
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Your agency has no such file in its triage triage_runs.") from None
    except ThumbnailError as exc:
        raise HTTPException(422, f"This file has no picture to show ({exc}).") from None
    audit(session, user.event(AuditAction.VIEW_THUMBNAIL, "triage_row", f"{run_id}/{seq}", revealed=reveal, size=size))
    return Response(jpeg, media_type="image/jpeg", headers=NO_STORE)


@router.get("/triage/{run_id}/rows/{seq}")
def row_page(request: Request, run_id: RunId, seq: Seq, user: Triager, session: DbSession) -> Response:
    """One file: full-size view, signals, every match with who first contributed it."""
    run = _get_run(session, run_id, user)
    try:
        detail = triage_grid.row_detail(session, run_id, user.agency_id, seq)
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "This triage run has no such file.") from None
    return render(request, "triage_row.html.j2", run=run, detail=detail, may_view=user.may(Permission.VIEW_THUMBNAIL), **LABELS)


@router.post("/triage/{run_id}/rows/{seq}/category")
def row_category(request: Request, run_id: RunId, seq: Seq, user: Triager, session: DbSession, category: Annotated[int, Form(ge=0, le=4)]) -> Response:
    """Set the Project VIC category of one file (the grid's digit keys); answers the new label."""
    try:
        before = triage_grid.set_category(session, run_id, user.agency_id, seq, category)
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "This triage run has no such file.") from None
    audit(session, user.event(AuditAction.METADATA_CHANGE, "triage_row", f"{run_id}/{seq}", category=[before, category]))
    return render(request, "_triage_category.html.j2", category=category, category_set=True, **LABELS)


@router.post("/triage/{run_id}/contribute")
def contribute_selection(
    request: Request,
    run_id: RunId,
    user: Contributor,
    session: DbSession,
    seq: Annotated[list[int], Form(min_length=1, max_length=10_000)],
    series: Annotated[str, Form(min_length=1, max_length=200)],
    category: Annotated[int, Form(ge=0, le=4)] = int(Category.CHILD_ABUSE_MATERIAL),
    case: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    """Contribute the selected files to a new or existing series, with their categories."""
    run = _get_run(session, run_id, user)
    session.commit()  # contributing opens its own units of work: hold no transaction meanwhile
    selection = triage_runs.SelectionContribution(series=series.strip(), category=category, case=(case or "").strip() or None)
    try:
        outcomes = triage_runs.contribute_rows(request.app.state.engine, request.app.state.blobs, run_id, user.agency_id, seq, selection)
    except triage_runs.RunRefused as exc:
        raise HTTPException(422, str(exc)) from None
    added = sum(outcome.status == "added" for outcome in outcomes)
    audit(session, user.event(AuditAction.UPLOAD, "series", selection.series, files=len(outcomes), added=added, triage_run=run_id))
    return render(request, "triage_contributed.html.j2", run=run, series=selection.series, outcomes=outcomes, added=added, **LABELS)
