"""Signing in to the pages with the existing accounts, and who is signed in.

A sign-in is the API's login (`auth.users.authenticate_password`, the same throttling and
lockout) and issues the same kind of session token (`auth.tokens.issue_token`), kept in an
HttpOnly, SameSite=Strict cookie of its own (Secure unless the server runs with
`--insecure-cookies` on loopback). The pages' cookie is not the API's: the API takes its
cookie without a CSRF token, the pages never do, so a page session cannot be spent on an
API call. Expiry is the token's (`ServerSettings.session_ttl`); signing out revokes it.

A failed sign-in shows one message whatever the reason (unknown account, wrong password,
locked, inactive), as the API does; the reason goes to the audit trail only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from mediamatch.audit.events import AuditAction, AuditEvent
from mediamatch.auth.errors import AuthError
from mediamatch.auth.permissions import Permission, Role, allowed
from mediamatch.auth.tokens import authenticate_token, issue_token, revoke_token, token_id_of
from mediamatch.auth.users import authenticate_password
from mediamatch.services.wellness import Wellness, settings_of
from mediamatch.store.db import session_scope
from mediamatch.web.deps import DbSession, audit, client_ip

SESSION_COOKIE = "mm_page_session"
SIGN_IN_FAILED = "Sign-in failed. Check the username and password; after repeated failures an account is locked for a while."


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The account a page request acts for, with its wellness settings (every page shows them)."""

    user_id: int
    username: str
    agency_id: int
    agency: str
    role: Role
    source_ip: str
    wellness: Wellness

    def may(self, permission: Permission) -> bool:
        return allowed(self.role, permission)

    def event(self, action: AuditAction, object_type: str = "", object_id: object = "", **detail: object) -> AuditEvent:
        """An audit event by this account, marked as coming from the pages."""
        return AuditEvent(
            actor=self.username, agency=self.agency, action=action, object_type=object_type,
            object_id=str(object_id), detail={**detail, "via": "web"}, source_ip=self.source_ip,
        )  # fmt: skip


class SignInRequired(Exception):
    """No valid page session: the handler in `web.errors` sends the browser to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__("sign-in required")
        self.next_path = next_path


def page_user(request: Request, session: DbSession) -> SignedIn:
    """The signed-in account, or SignInRequired (a redirect to /login, then back here)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequired(_here(request))
    try:
        user = authenticate_token(session, token, datetime.now(timezone.utc))
    except AuthError:
        raise SignInRequired(_here(request)) from None
    signed_in = SignedIn(user.id, user.username, user.agency_id, user.agency.name, Role(user.role), client_ip(request), settings_of(session, user.id))
    session.commit()  # the token's last-use stamp, now: see api.deps.current_principal for why
    request.app.state.rate_limiter.check(signed_in.user_id, request.app.state.settings.requests_per_minute)
    request.state.page_user = signed_in  # for the templates (nav, wellness)
    return signed_in


PageUser = Annotated[SignedIn, Depends(page_user)]


def recognise(request: Request) -> None:
    """Set `request.state.page_user` when the browser holds a valid page session, without
    requiring one: an error page (404) then shows the person their navigation."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or getattr(request.state, "page_user", None) is not None:
        return
    with session_scope(request.app.state.engine) as session:
        try:
            user = authenticate_token(session, token, datetime.now(timezone.utc))
        except AuthError:
            return
        request.state.page_user = SignedIn(
            user.id, user.username, user.agency_id, user.agency.name, Role(user.role), client_ip(request), settings_of(session, user.id)
        )


class require_page:  # noqa: N801 - reads as a sentence in handler signatures: Depends(require_page(...))
    """A dependency that lets a page through only when the account's role holds `permission`;
    otherwise the 403 page. Remembers its permission, so tests can read it off the routes."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __call__(self, user: PageUser) -> SignedIn:
        if not user.may(self.permission):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"Your role ({user.role}) does not open this page.")
        return user


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def safe_next(path: str | None) -> str:
    """Where to go after signing in: a path on this site only (no `//host` or `scheme:`)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def sign_in(request: Request, session: Session, username: str, password: str, response: Response) -> bool:
    """Check the password and start a page session on `response`; False (audited with the
    reason) when it fails, whatever the reason."""
    now = datetime.now(timezone.utc)
    try:
        user = authenticate_password(session, username, password, now)
    except AuthError as exc:
        session.rollback()
        audit(
            session,
            AuditEvent(
                actor=username[:200] or "?",
                agency="",
                action=AuditAction.LOGIN_FAILED,
                detail={"reason": str(exc.reason), "via": "web"},
                source_ip=client_ip(request),
            ),
        )
        return False
    settings = request.app.state.settings
    issued = issue_token(session, user, "web session", settings.session_ttl, now)
    audit(session, AuditEvent(actor=user.username, agency=user.agency.name, action=AuditAction.LOGIN, detail={"via": "web"}, source_ip=client_ip(request)))
    response.set_cookie(
        SESSION_COOKIE, issued.plaintext, max_age=int(settings.session_ttl.total_seconds()), path="/",
        httponly=True, secure=settings.secure_cookies or request.url.scheme == "https", samesite="strict",
    )  # fmt: skip
    return True


def sign_out(request: Request, session: Session, user: SignedIn, response: Response) -> None:
    """Revoke this page session's token and clear the cookie."""
    token_id = token_id_of(session, request.cookies.get(SESSION_COOKIE, ""))
    if token_id is not None:
        revoke_token(session, token_id, datetime.now(timezone.utc))
    audit(session, user.event(AuditAction.LOGOUT))
    response.delete_cookie(SESSION_COOKIE, path="/")
