"""Accounts: creation, password login with throttling, deactivation and role changes.

Login answers every failure with the same `AuthError` message and about the same delay, so
neither the text nor the timing tells an attacker whether a username exists. Throttling is per
account: after `MAX_FAILURES` wrong passwords in a row the account is locked for
`LOCK_PERIOD`, doubling with each further failure up to `MAX_LOCK_PERIOD`, which makes online
guessing hopeless while a stranger can lock someone out for at most a day at a time. (Throttling
per source address belongs in front of the API, where the address is known.)

Whether the acting user may do any of this is checked by the front end with
`auth.permissions.allowed`; these functions enforce what must hold whoever calls them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediamatch.auth.errors import AuthError, AuthFailure
from mediamatch.auth.passwords import burn_verify_time, check_policy, hash_password, needs_rehash, verify_password
from mediamatch.auth.permissions import Role
from mediamatch.auth.tokens import revoke_user_tokens
from mediamatch.store.models.auth import User
from mediamatch.store.models.catalogue import Agency

MAX_FAILURES = 5
LOCK_PERIOD = timedelta(minutes=15)
MAX_LOCK_PERIOD = timedelta(hours=24)
MAX_USERNAME_LENGTH = 200


class UsernameTaken(ValueError):
    """Another account already has this username (told only to the admin creating one)."""


def normalise_username(username: str) -> str:
    """Usernames compare without case or surrounding space, so `Alice` and `alice ` are one account."""
    return username.strip().casefold()


def create_user(session: Session, agency: Agency, username: str, password: str, role: Role) -> User:
    """A new active account; refuses a taken username or a password the policy refuses."""
    username = normalise_username(username)
    if not username or len(username) > MAX_USERNAME_LENGTH:
        raise ValueError(f"a username needs 1 to {MAX_USERNAME_LENGTH} characters")
    check_policy(password, username)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UsernameTaken(f"username {username!r} is taken")
    user = User(
        agency_id=agency.id,
        username=username,
        password_hash=hash_password(password),
        role=Role(role),
        active=True,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    return user


def lock_period(failed_logins: int) -> timedelta:
    """How long an account stays locked after its `failed_logins`-th failure in a row."""
    if failed_logins < MAX_FAILURES:
        return timedelta(0)
    doublings = min(failed_logins - MAX_FAILURES, 7)  # 15 min * 2**7 already exceeds a day
    return min(LOCK_PERIOD * 2**doublings, MAX_LOCK_PERIOD)


def authenticate_password(session: Session, username: str, password: str, now: datetime) -> User:
    """The user whose password this is, or `AuthError`.

    A wrong password is committed before `AuthError` is raised: the rollback that the error
    triggers in `session_scope` would otherwise erase the failure count, and the throttling
    with it. Call it in a session with no other pending work.
    """
    user = session.scalar(select(User).where(User.username == normalise_username(username)).with_for_update())
    if user is None:
        burn_verify_time(password)
        raise AuthError(AuthFailure.UNKNOWN_USER)
    if user.locked_until is not None and now < user.locked_until:
        burn_verify_time(password)  # a locked account is not even asked: guesses learn nothing
        raise AuthError(AuthFailure.LOCKED)
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        period = lock_period(user.failed_logins)
        user.locked_until = now + period if period else None
        session.commit()
        raise AuthError(AuthFailure.WRONG_PASSWORD)
    if not user.active:
        raise AuthError(AuthFailure.INACTIVE)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def deactivate_user(session: Session, user: User, now: datetime) -> None:
    """Close the account: no login, and every API token revoked, so reactivating it later
    would not bring old tokens back to life."""
    user.active = False
    revoke_user_tokens(session, user, now)


def change_role(session: Session, user: User, role: Role, now: datetime) -> None:
    """Give the account another role and revoke its tokens: they were handed out for what the
    old role could do, and a platform token must not quietly become an investigator's."""
    role = Role(role)
    if role == user.role:
        return
    user.role = role
    revoke_user_tokens(session, user, now)
