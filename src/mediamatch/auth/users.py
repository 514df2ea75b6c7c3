"""Accounts: creation, enrolment, password login with throttling, deactivation and role changes.

An administrator sees no content, so must not be able to become someone who does. Accounts an
administrator creates therefore start without a password: `create_enrolling_user` returns a
one-time enrolment code (shown once, handed to the person out of band: in person, by phone,
by the unit's own channel), and the person redeems it (`redeem_enrolment`) to set a password
only they know. A password reset (`issue_enrolment`) works the same way: the old password and
every token stop working, and a new code is issued. Why a code rather than a second admin's
approval: small units often have one administrator, and an approver would still learn nothing
that stops the first admin from knowing a password they chose. An administrator who redeemed a
code themselves would leave the real person with a code that no longer works (noticed at once)
and an `enrolled` event in the audit trail with their address.

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

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediamatch.auth.errors import AuthError, AuthFailure
from mediamatch.auth.passwords import burn_verify_time, check_policy, hash_password, needs_rehash, verify_password
from mediamatch.auth.permissions import Role
from mediamatch.auth.tokens import revoke_user_tokens
from mediamatch.store.models.auth import User
from mediamatch.store.models.catalogue import Agency
from mediamatch.store.models.enrolment import Enrolment

MAX_FAILURES = 5
LOCK_PERIOD = timedelta(minutes=15)
MAX_LOCK_PERIOD = timedelta(hours=24)
MAX_USERNAME_LENGTH = 200
ENROLMENT_TTL = timedelta(days=3)
NO_PASSWORD = "!enrolment-pending"  # not an argon2 hash: no password verifies against it


class UsernameTaken(ValueError):
    """Another account already has this username (told only to the admin creating one)."""


def normalise_username(username: str) -> str:
    """Usernames compare without case or surrounding space, so `Alice` and `alice ` are one account."""
    return username.strip().casefold()


def create_user(session: Session, agency: Agency, username: str, password: str, role: Role) -> User:
    """A new active account with a password its person chose (the first admin, made at the
    server's console); refuses a taken username or a password the policy refuses."""
    username = _free_username(session, username)
    check_policy(password, username)
    return _add_user(session, agency, username, hash_password(password), role)


@dataclass(frozen=True, slots=True)
class IssuedEnrolment:
    user_id: int
    code: str  # shown once; only its SHA-256 is stored
    expires_at: datetime


class EnrolmentError(ValueError):
    """An enrolment code was not accepted. One message whatever the reason (unknown user, wrong,
    used or expired code), so the answer tells a guesser nothing; `reason` is for the audit trail."""

    def __init__(self, reason: str) -> None:
        super().__init__("this enrolment code is not valid (wrong, already used or expired); ask your administrator for a new one")
        self.reason = reason


def create_enrolling_user(session: Session, agency: Agency, username: str, role: Role, now: datetime) -> tuple[User, IssuedEnrolment]:
    """A new account without a usable password, and the one-time code its person redeems to set one."""
    user = _add_user(session, agency, _free_username(session, username), NO_PASSWORD, role)
    return user, issue_enrolment(session, user, now)


def issue_enrolment(session: Session, user: User, now: datetime) -> IssuedEnrolment:
    """A fresh enrolment code for `user` (an administrator's password reset): the current
    password stops working, every token is revoked, and an earlier code is replaced."""
    code = secrets.token_urlsafe(24)
    user.password_hash = NO_PASSWORD
    user.failed_logins = 0
    user.locked_until = None
    revoke_user_tokens(session, user, now)
    enrolment = session.get(Enrolment, user.id) or Enrolment(user_id=user.id)
    enrolment.code_hash = _code_hash(code)
    enrolment.issued_at = now
    enrolment.expires_at = now + ENROLMENT_TTL
    session.add(enrolment)
    session.flush()
    return IssuedEnrolment(user.id, code, enrolment.expires_at)


def redeem_enrolment(session: Session, username: str, code: str, password: str, now: datetime) -> User:
    """Set the password of the account the code was issued for, and use the code up.

    EnrolmentError for a wrong, used or expired code (or an unknown or closed account);
    PasswordPolicyError for a password the policy refuses, which leaves the code usable."""
    user = session.scalar(select(User).where(User.username == normalise_username(username)).with_for_update())
    enrolment = session.get(Enrolment, user.id) if user is not None else None
    if user is None or enrolment is None:
        raise EnrolmentError("no enrolment pending for this username")
    if not hmac.compare_digest(enrolment.code_hash, _code_hash(code)):
        raise EnrolmentError("wrong enrolment code")
    if now >= enrolment.expires_at:
        raise EnrolmentError("enrolment code expired")
    if not user.active:
        raise EnrolmentError("account deactivated")
    check_policy(password, user.username)
    user.password_hash = hash_password(password)
    session.delete(enrolment)
    session.flush()
    return user


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


def _free_username(session: Session, username: str) -> str:
    username = normalise_username(username)
    if not username or len(username) > MAX_USERNAME_LENGTH:
        raise ValueError(f"a username needs 1 to {MAX_USERNAME_LENGTH} characters")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UsernameTaken(f"username {username!r} is taken")
    return username


def _add_user(session: Session, agency: Agency, username: str, password_hash: str, role: Role) -> User:
    user = User(agency_id=agency.id, username=username, password_hash=password_hash, role=Role(role), active=True, failed_logins=0)
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
