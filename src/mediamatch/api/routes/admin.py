"""Agencies, accounts and API tokens: the admin role's work. Every change is audited."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from sqlalchemy import select

from mediamatch.api.deps import Limit, ObjectId, Offset, Principal, SessionDep, audit, require
from mediamatch.api.schemas import AgencyIn, AgencyOut, EnrolmentOut, TokenIn, TokenOut, UserCreated, UserIn
from mediamatch.audit.events import AuditAction
from mediamatch.auth.permissions import Permission
from mediamatch.auth.tokens import NotAServiceAccount, issue_service_token, revoke_token
from mediamatch.auth.users import IssuedEnrolment, UsernameTaken, create_enrolling_user, deactivate_user, issue_enrolment
from mediamatch.catalog import validate
from mediamatch.services.webhooks import WebhookRefused, check_webhook
from mediamatch.store.models.auth import ApiToken, User
from mediamatch.store.models.catalogue import Agency
from mediamatch.store.models.server import AgencyWebhook

router = APIRouter(prefix="/api/v1", tags=["admin"])
Admin = Annotated[Principal, Depends(require(Permission.MANAGE_AGENCIES))]
UserAdmin = Annotated[Principal, Depends(require(Permission.MANAGE_USERS))]
TokenAdmin = Annotated[Principal, Depends(require(Permission.MANAGE_TOKENS))]


@router.get("/agencies", response_model=list[AgencyOut])
def list_agencies(principal: Admin, session: SessionDep, limit: Limit = 100, offset: Offset = 0) -> list[AgencyOut]:
    """Every agency, by name."""
    rows = session.scalars(select(Agency).order_by(Agency.name).limit(limit).offset(offset))
    return [AgencyOut(id=row.id, name=row.name, country=row.country) for row in rows]


@router.post("/agencies", response_model=AgencyOut, status_code=status.HTTP_201_CREATED)
def create_agency(body: AgencyIn, request: Request, principal: Admin, session: SessionDep) -> AgencyOut:
    """Register an agency (a country's unit, its ISO 3166-1 code), optionally with a webhook for
    notifications: a public HTTPS address (or one on the server's allow-list), never an internal one."""
    try:
        name, country = validate.agency_name(body.name), validate.country_code(body.country)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    if session.scalar(select(Agency.id).where(Agency.name == name)) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"agency {name!r} exists")
    if body.webhook_url:
        try:
            check_webhook(body.webhook_url, request.app.state.settings.webhook_policy())
        except WebhookRefused as exc:
            raise HTTPException(422, str(exc)) from None
    agency = Agency(name=name, country=country)
    session.add(agency)
    session.flush()
    if body.webhook_url:
        session.add(AgencyWebhook(agency_id=agency.id, url=body.webhook_url))
    audit(session, principal.event(AuditAction.PERMISSION_CHANGE, "agency", agency.id, created=name, country=country))
    return AgencyOut(id=agency.id, name=agency.name, country=agency.country)


@router.post("/users", response_model=UserCreated, status_code=status.HTTP_201_CREATED)
def add_user(body: UserIn, principal: UserAdmin, session: SessionDep) -> UserCreated:
    """Create an account in an agency with one role. It has no password yet: the answer holds a
    one-time enrolment code (shown once) for the person, who sets their own password with it
    (`POST /api/v1/auth/enrol`), so no administrator ever knows it."""
    agency = session.scalar(select(Agency).where(Agency.name == body.agency))
    if agency is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no agency named {body.agency!r}")
    try:
        user, issued = create_enrolling_user(session, agency, body.username, body.role, datetime.now(timezone.utc))
    except UsernameTaken:
        raise HTTPException(status.HTTP_409_CONFLICT, "username taken") from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    audit(session, principal.event(AuditAction.USER_CREATED, "user", user.id, username=user.username, role=str(user.role), agency=agency.name, enrolment=True))
    return UserCreated(id=user.id, username=user.username, role=user.role, agency=agency.name, active=user.active, enrolment=_enrolment_out(issued))


@router.post("/users/{user_id}/password-reset", response_model=EnrolmentOut)
def reset_password(user_id: ObjectId, principal: UserAdmin, session: SessionDep) -> EnrolmentOut:
    """Reset an account's password the way accounts start: the old password and every token stop
    working at once, and a new one-time enrolment code (shown once) lets the person set a new one."""
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such user")
    issued = issue_enrolment(session, user, datetime.now(timezone.utc))
    audit(session, principal.event(AuditAction.ENROLMENT_ISSUED, "user", user.id, username=user.username, reason="password reset"))
    return _enrolment_out(issued)


def _enrolment_out(issued: IssuedEnrolment) -> EnrolmentOut:
    return EnrolmentOut(user_id=issued.user_id, enrolment_code=issued.code, expires_at=issued.expires_at)


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def disable_user(user_id: ObjectId, principal: UserAdmin, session: SessionDep) -> None:
    """Deactivate an account; its tokens stop working."""
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such user")
    deactivate_user(session, user, datetime.now(timezone.utc))
    audit(session, principal.event(AuditAction.USER_DISABLED, "user", user.id, username=user.username))


@router.post("/users/{user_id}/tokens", response_model=TokenOut, status_code=status.HTTP_201_CREATED)
def create_token(user_id: ObjectId, body: TokenIn, principal: TokenAdmin, session: SessionDep) -> TokenOut:
    """Issue an API token for a service account (a platform's); shown once. Accounts of people
    get tokens only by logging in: an administrator sees no content, not even through a token."""
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such user")
    try:
        issued = issue_service_token(session, user, body.name, timedelta(days=body.days), datetime.now(timezone.utc))
    except NotAServiceAccount as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    audit(session, principal.event(AuditAction.TOKEN_CREATED, "token", issued.token_id, user=user.username, days=body.days))
    return TokenOut(id=issued.token_id, token=issued.plaintext)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_token(token_id: ObjectId, principal: TokenAdmin, session: SessionDep) -> None:
    """Revoke an API token at once."""
    if session.get(ApiToken, token_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such token")
    revoke_token(session, token_id, datetime.now(timezone.utc))
    audit(session, principal.event(AuditAction.TOKEN_REVOKED, "token", token_id))
