"""Enrolling, logging in and out. A login issues a session token (also set as a Secure, HttpOnly,
SameSite=Strict cookie for browsers); failures answer with one message whatever the reason,
and the reason goes to the audit trail."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, HTTPException, Request, Response, status
from sqlalchemy.orm import Session

from mediamatch.api.deps import SESSION_COOKIE, CurrentPrincipal, SessionDep, audit, bearer_token, client_ip
from mediamatch.api.schemas import EnrolIn, LoginRequest, SessionOut
from mediamatch.audit.events import AuditAction, AuditEvent
from mediamatch.auth.errors import AuthError
from mediamatch.auth.passwords import PasswordPolicyError
from mediamatch.auth.tokens import issue_token, revoke_token, token_id_of
from mediamatch.auth.users import EnrolmentError, authenticate_password, redeem_enrolment

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/login", response_model=SessionOut)
def login(body: LoginRequest, request: Request, response: Response, session: SessionDep) -> SessionOut:
    """Exchange a username and password for a session token (throttled after repeated failures)."""
    now = datetime.now(timezone.utc)
    try:
        user = authenticate_password(session, body.username, body.password, now)
    except AuthError as exc:
        session.rollback()  # release SQLite's write lock before the failure is recorded apart
        _record_failure(request, body.username, exc.reason)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from None
    settings = request.app.state.settings
    issued = issue_token(session, user, "session", settings.session_ttl, now)
    audit(session, AuditEvent(actor=user.username, agency=user.agency.name, action=AuditAction.LOGIN, source_ip=client_ip(request)))
    expires = now + settings.session_ttl
    response.set_cookie(
        SESSION_COOKIE, issued.plaintext, max_age=int(settings.session_ttl.total_seconds()),
        httponly=True, secure=settings.secure_cookies, samesite="strict",
    )  # fmt: skip
    return SessionOut(token=issued.plaintext, expires_at=expires, role=user.role, agency=user.agency.name)


def _record_failure(request: Request, username: str, reason: str, action: AuditAction = AuditAction.LOGIN_FAILED) -> None:
    # Its own unit of work: the request's session is rolled back when the error is raised.
    with Session(request.app.state.engine) as session:
        audit(
            session,
            AuditEvent(actor=username[:200] or "?", agency="", action=action, detail={"reason": str(reason)}, source_ip=client_ip(request)),
        )
        session.commit()


@router.post("/enrol", status_code=status.HTTP_204_NO_CONTENT)
def enrol(body: EnrolIn, request: Request, session: SessionDep) -> None:
    """Set your own password with the one-time enrolment code your administrator handed you
    (a new account, or after a password reset); then log in. The code works once."""
    try:
        user = redeem_enrolment(session, body.username, body.code, body.password, datetime.now(timezone.utc))
    except EnrolmentError as exc:
        session.rollback()
        _record_failure(request, body.username, exc.reason, AuditAction.ENROL_FAILED)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from None
    except PasswordPolicyError as exc:
        raise HTTPException(422, str(exc)) from None
    audit(session, AuditEvent(actor=user.username, agency=user.agency.name, action=AuditAction.ENROLLED, source_ip=client_ip(request)))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, response: Response, principal: CurrentPrincipal, session: SessionDep) -> None:
    """End this session: its token stops working at once."""
    token = bearer_token(request) or ""
    token_id = token_id_of(session, token)
    if token_id is not None:
        revoke_token(session, token_id, datetime.now(timezone.utc))
    audit(session, principal.event(AuditAction.LOGOUT))
    response.delete_cookie(SESSION_COOKIE)
