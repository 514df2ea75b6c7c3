"""The administrator's work over agencies, accounts and tokens, as the browser workspace's admin
page does it: lists with what an administrator needs to decide, and the changes.

The rules are the components' (`auth.users`: password policy, unique usernames, token
revocation on deactivation or a role change; `auth.tokens`: tokens are issued by an
administrator only for service accounts; `services.webhooks`: a webhook is a public HTTPS
address). Changes are flushed, not committed: the front end audits and commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mediamatch.auth.permissions import Role
from mediamatch.auth.tokens import IssuedToken, issue_service_token, revoke_token
from mediamatch.auth.users import change_role, create_user, deactivate_user
from mediamatch.catalog.validate import agency_name, country_code
from mediamatch.services.webhooks import WebhookPolicy, check_webhook
from mediamatch.store.models.auth import ApiToken, User
from mediamatch.store.models.catalogue import Agency
from mediamatch.store.models.hashlists import PlatformSharingConsent
from mediamatch.store.models.server import AgencyWebhook


class AdminError(ValueError):
    """A change the rules refuse; the message says why, for the administrator."""


@dataclass(frozen=True, slots=True)
class AgencyRow:
    id: int
    name: str
    country: str
    accounts: int
    shares_with_platforms: bool
    webhook: str | None


@dataclass(frozen=True, slots=True)
class AccountRow:
    id: int
    username: str
    role: Role
    agency: str
    active: bool
    last_login_at: datetime | None
    locked: bool


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: int
    prefix: str
    name: str
    username: str
    role: Role
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None


def agencies(session: Session) -> list[AgencyRow]:
    """Every agency by name, with its account count, platform-sharing consent and webhook."""
    counts: dict[int, int] = dict(session.execute(select(User.agency_id, func.count()).group_by(User.agency_id)).all())
    consenting = set(session.scalars(select(PlatformSharingConsent.agency_id)))
    hooks: dict[int, str] = dict(session.execute(select(AgencyWebhook.agency_id, AgencyWebhook.url)).all())
    return [
        AgencyRow(a.id, a.name, a.country, counts.get(a.id, 0), a.id in consenting, hooks.get(a.id))
        for a in session.scalars(select(Agency).order_by(Agency.name))
    ]


def add_agency(session: Session, name: str, country: str, webhook_url: str | None, policy: WebhookPolicy) -> Agency:
    """A new agency (its name unique, its country an ISO code), with an optional webhook that
    `policy` allows. AdminError otherwise."""
    try:
        name, country = agency_name(name), country_code(country)
        if webhook_url:
            check_webhook(webhook_url, policy)
    except ValueError as exc:  # WebhookRefused is a ValueError too
        raise AdminError(str(exc)) from None
    if session.scalar(select(Agency.id).where(Agency.name == name)) is not None:
        raise AdminError(f"an agency named {name!r} exists")
    agency = Agency(name=name, country=country)
    session.add(agency)
    session.flush()
    if webhook_url:
        session.add(AgencyWebhook(agency_id=agency.id, url=webhook_url))
    return agency


def accounts(session: Session) -> list[AccountRow]:
    """Every account, by agency then username."""
    now = datetime.now(timezone.utc)
    rows = session.execute(select(User, Agency.name).join(Agency, Agency.id == User.agency_id).order_by(Agency.name, User.username))
    return [
        AccountRow(u.id, u.username, Role(u.role), agency, u.active, u.last_login_at, u.locked_until is not None and u.locked_until > now) for u, agency in rows
    ]


def add_account(session: Session, agency_id: int, username: str, password: str, role: Role) -> User:
    """A new account in an existing agency (AdminError for a taken name or a refused password)."""
    agency = session.get(Agency, agency_id)
    if agency is None:
        raise AdminError("there is no such agency")
    try:
        return create_user(session, agency, username, password, Role(role))
    except ValueError as exc:  # UsernameTaken, PasswordPolicyError and a bad length are ValueErrors
        raise AdminError(str(exc)) from None


def _account(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise AdminError("there is no such account")
    return user


def close_account(session: Session, user_id: int, acting_user_id: int) -> User:
    """Deactivate an account (its tokens are revoked); an administrator cannot close their own."""
    if user_id == acting_user_id:
        raise AdminError("you cannot close your own account; another administrator can")
    user = _account(session, user_id)
    deactivate_user(session, user, datetime.now(timezone.utc))
    return user


def set_role(session: Session, user_id: int, role: Role, acting_user_id: int) -> tuple[User, Role]:
    """Give an account another role (its tokens are revoked); returns it and its old role."""
    if user_id == acting_user_id:
        raise AdminError("you cannot change your own role; another administrator can")
    user = _account(session, user_id)
    old = Role(user.role)
    change_role(session, user, Role(role), datetime.now(timezone.utc))
    return user, old


def live_tokens(session: Session) -> list[TokenRow]:
    """Tokens that still work (not revoked, not expired), newest first: sessions and service
    tokens alike, so an administrator can end any of them."""
    now = datetime.now(timezone.utc)
    rows = session.execute(
        select(ApiToken, User.username, User.role)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
        .order_by(ApiToken.id.desc())
    )
    return [TokenRow(t.id, t.prefix, t.name, username, Role(role), t.created_at, t.expires_at, t.last_used_at) for t, username, role in rows]


def issue_for_service(session: Session, user_id: int, name: str, days: int) -> tuple[IssuedToken, User]:
    """A token for a service (platform) account, shown once. AdminError for a person's account."""
    user = _account(session, user_id)
    try:
        return issue_service_token(session, user, name, timedelta(days=days), datetime.now(timezone.utc)), user
    except (PermissionError, ValueError) as exc:  # NotAServiceAccount; a bad name, lifetime or an inactive account
        raise AdminError(str(exc)) from None


def revoke(session: Session, token_id: int) -> None:
    """End a token at once."""
    try:
        revoke_token(session, token_id, datetime.now(timezone.utc))
    except LookupError:
        raise AdminError("there is no such token") from None
