"""Admin: agencies, accounts and roles, tokens, hash-list consent and versions. Every change is
audited as the API's admin routes audit it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Permission, Role
from mediamatch.services import administration as admin
from mediamatch.services.hashlists import published_versions, set_consent
from mediamatch.web.deps import DbSession, audit
from mediamatch.web.render import render
from mediamatch.web.routing import page_router
from mediamatch.web.session import SignedIn, require_page

router = page_router(prefix="/admin")
UserAdmin = Annotated[SignedIn, Depends(require_page(Permission.MANAGE_USERS))]
AgencyAdmin = Annotated[SignedIn, Depends(require_page(Permission.MANAGE_AGENCIES))]
TokenAdmin = Annotated[SignedIn, Depends(require_page(Permission.MANAGE_TOKENS))]
ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]

#: What a finished change says on the page it returns to (a code in the URL, never free text).
DONE = {
    "agency": "Agency created.",
    "account": "Account created.",
    "closed": "Account closed; its tokens no longer work.",
    "role": "Role changed; the account's tokens were revoked.",
    "revoked": "Token revoked.",
    "consent": "Platform-sharing consent updated.",
}


def _page(request: Request, session: Session, user: SignedIn, status_code: int = 200, problem: str = "", done: str = "", issued: str = "") -> Response:
    return render(
        request,
        "admin.html.j2",
        status_code=status_code,
        agencies=admin.agencies(session),
        accounts=admin.accounts(session),
        tokens=admin.live_tokens(session),
        versions=published_versions(session),
        roles=list(Role),
        problem=problem,
        done=DONE.get(done, ""),
        issued=issued,
    )


def _back(done: str) -> Response:
    return RedirectResponse(f"/admin?done={done}", status_code=303)


@router.get("")
def admin_page(request: Request, user: UserAdmin, session: DbSession, done: str = "") -> Response:
    """Everything an administrator manages, on one page."""
    return _page(request, session, user, done=done)


@router.post("/agencies")
def create_agency(
    request: Request,
    user: AgencyAdmin,
    session: DbSession,
    name: Annotated[str, Form(max_length=200)],
    country: Annotated[str, Form(max_length=60)],
    webhook_url: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Register an agency."""
    try:
        agency = admin.add_agency(session, name, country, webhook_url.strip() or None, request.app.state.settings.webhook_policy())
    except admin.AdminError as exc:
        session.rollback()
        return _page(request, session, user, 400, problem=str(exc))
    audit(session, user.event(AuditAction.PERMISSION_CHANGE, "agency", agency.id, created=agency.name, country=agency.country))
    return _back("agency")


@router.post("/agencies/{agency_id}/consent")
def consent(request: Request, agency_id: ObjectId, user: AgencyAdmin, session: DbSession, share: Annotated[bool, Form()] = False) -> Response:
    """Record whether an agency's contributions go into the hash lists platforms receive."""
    chosen = next((row for row in admin.agencies(session) if row.id == agency_id), None)
    if chosen is None:
        return _page(request, session, user, 404, problem="There is no such agency.")
    set_consent(session, chosen.name, share, actor=user.username, actor_agency=user.agency, source_ip=user.source_ip)  # audits itself
    session.commit()
    return _back("consent")


@router.post("/accounts")
def create_account(
    request: Request,
    user: UserAdmin,
    session: DbSession,
    agency_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
    role: Annotated[Role, Form()],
) -> Response:
    """Create an account with one role in an agency."""
    try:
        account = admin.add_account(session, agency_id, username, password, role)
    except admin.AdminError as exc:
        session.rollback()
        return _page(request, session, user, 400, problem=str(exc))
    audit(session, user.event(AuditAction.USER_CREATED, "user", account.id, username=account.username, role=str(account.role), agency=account.agency.name))
    return _back("account")


@router.post("/accounts/{user_id}/role")
def change_role(request: Request, user_id: ObjectId, user: UserAdmin, session: DbSession, role: Annotated[Role, Form()]) -> Response:
    """Give an account another role."""
    try:
        account, old = admin.set_role(session, user_id, role, user.user_id)
    except admin.AdminError as exc:
        return _page(request, session, user, 400, problem=str(exc))
    audit(session, user.event(AuditAction.PERMISSION_CHANGE, "user", account.id, username=account.username, old_role=str(old), role=str(account.role)))
    return _back("role")


@router.post("/accounts/{user_id}/close")
def close_account(request: Request, user_id: ObjectId, user: UserAdmin, session: DbSession) -> Response:
    """Deactivate an account."""
    try:
        account = admin.close_account(session, user_id, user.user_id)
    except admin.AdminError as exc:
        return _page(request, session, user, 400, problem=str(exc))
    audit(session, user.event(AuditAction.USER_DISABLED, "user", account.id, username=account.username))
    return _back("closed")


@router.post("/accounts/{user_id}/tokens")
def issue_token(
    request: Request,
    user_id: ObjectId,
    user: TokenAdmin,
    session: DbSession,
    name: Annotated[str, Form(max_length=200)],
    days: Annotated[int, Form(ge=1, le=366)] = 90,
) -> Response:
    """Issue a token for a service account; shown on this answer only."""
    try:
        issued, account = admin.issue_for_service(session, user_id, name, days)
    except admin.AdminError as exc:
        return _page(request, session, user, 400, problem=str(exc))
    audit(session, user.event(AuditAction.TOKEN_CREATED, "token", issued.token_id, user=account.username, days=days))
    response = _page(request, session, user, issued=issued.plaintext)
    response.headers["Cache-Control"] = "no-store"  # the token is shown once and kept nowhere
    return response


@router.post("/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: ObjectId, user: TokenAdmin, session: DbSession) -> Response:
    """End a token at once."""
    try:
        admin.revoke(session, token_id)
    except admin.AdminError as exc:
        return _page(request, session, user, 404, problem=str(exc))
    audit(session, user.event(AuditAction.TOKEN_REVOKED, "token", token_id))
    return _back("revoked")
