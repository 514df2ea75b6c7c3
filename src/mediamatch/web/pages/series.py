"""Series: the list (search, identified or not), a series' page (items a page at a time,
victims by opaque reference, the agencies that worked on it and the timeline), and the
**Mark victim identified** action, which notifies every other agency as the API's does."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import BackgroundTasks, Depends, Form, HTTPException, Query, Request, status
from fastapi.responses import RedirectResponse, Response

from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Permission
from mediamatch.catalog.records import category_label
from mediamatch.services.catalogue_views import list_series, series_page
from mediamatch.services.identify import deliver, mark_identified
from mediamatch.store.models.catalogue import Agency
from mediamatch.web.deps import DbSession, audit
from mediamatch.web.render import render
from mediamatch.web.routing import page_router
from mediamatch.web.session import SignedIn, require_page

router = page_router()
Reader = Annotated[SignedIn, Depends(require_page(Permission.SEARCH_METADATA))]
Identifier = Annotated[SignedIn, Depends(require_page(Permission.MARK_IDENTIFIED))]
Page = Annotated[int, Query(ge=1, le=1_000_000)]


@router.get("/series")
def series_list(
    request: Request,
    user: Reader,
    session: DbSession,
    q: Annotated[str, Query(max_length=200)] = "",
    identified: Literal["", "yes", "no"] = "",
    page: Page = 1,
) -> Response:
    """Series by name, searched and filtered, a page at a time."""
    found = list_series(session, search=q.strip(), identified={"yes": True, "no": False}.get(identified), page=page)
    audit(session, user.event(AuditAction.SEARCH, "series", "", q=q, identified=identified, page=page))
    return render(request, "series_list.html.j2", found=found, q=q, identified=identified)


@router.post("/series/identify")
def identify(
    request: Request,
    user: Identifier,
    session: DbSession,
    tasks: BackgroundTasks,
    series: Annotated[str, Form(min_length=1, max_length=200)],
    reason: Annotated[str, Form(min_length=3, max_length=2000)],
    confirm: Annotated[Literal["yes"], Form()],
) -> Response:
    """Mark the series' victim identified by the account's agency, after the confirmation and
    with a reason; every other agency that contributed or matched the series is notified."""
    agency = session.get(Agency, user.agency_id)
    assert agency is not None  # an account's agency cannot be deleted under it
    try:
        outcome = mark_identified(session, series, agency)
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no series named {series!r}.") from None
    audit(session, user.event(AuditAction.IDENTIFY, "series", series, notified=list(outcome.notified), reason=reason))
    policy = request.app.state.settings.webhook_policy()
    for delivery in outcome.deliveries:
        tasks.add_task(deliver, delivery, policy)  # after the response, i.e. after the commit
    return RedirectResponse(f"/series/{quote(series, safe='')}?identified=1", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/series/{name:path}")
def series_detail(request: Request, name: str, user: Reader, session: DbSession, page: Page = 1, identified: bool = False) -> Response:
    """One series: identification state and action, items, victims, agencies, timeline."""
    found = series_page(session, name, page=page)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no series named {name!r}.")
    audit(session, user.event(AuditAction.SEARCH, "series", name, page=page))
    return render(
        request,
        "series.html.j2",
        found=found,
        just_identified=identified,
        may_identify=user.may(Permission.MARK_IDENTIFIED),
        may_view=user.may(Permission.VIEW_THUMBNAIL),
        category_label=category_label,
    )
