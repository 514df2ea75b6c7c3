"""API tokens: issued once, stored only as a hash, always expiring, revocable.

A token reads `mm_<prefix>_<secret>`. The prefix (8 characters, public) finds the row and lets
people recognise a token in lists and logs; the secret (32 random bytes, URL-safe base64) is
shown once at issue and never stored: the row keeps only its SHA-256 (see
`store.models.auth` for why not argon2). A token acts as its user with the user's current
role, so deactivating the user stops every token at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from mediamatch.auth.errors import AuthError, AuthFailure
from mediamatch.auth.permissions import Role
from mediamatch.store.models.auth import ApiToken, User

SCHEME = "mm"
PREFIX_LENGTH = 8
PREFIX_ALPHABET = string.ascii_lowercase + string.digits  # no "_", so the token splits unambiguously
SECRET_BYTES = 32
MAX_TTL = timedelta(days=366)
LAST_USED_PRECISION = timedelta(minutes=1)  # a forgotten token dies within a year
_MISSING_HASH = "0" * 64  # compared against when the prefix is unknown, to keep timing alike


class IssuedToken(NamedTuple):
    token_id: int
    plaintext: str  # show it to the person once; it cannot be recovered


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _new_prefix(session: Session) -> str:
    while True:
        prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
        if session.scalar(select(ApiToken.id).where(ApiToken.prefix == prefix)) is None:
            return prefix


def issue_token(session: Session, user: User, name: str, ttl: timedelta, now: datetime) -> IssuedToken:
    """A new token for `user`, valid from `now` for `ttl` (at most `MAX_TTL`)."""
    if not timedelta(0) < ttl <= MAX_TTL:
        raise ValueError(f"a token's lifetime must be positive and at most {MAX_TTL.days} days")
    if not user.active:
        raise ValueError("cannot issue a token to an inactive user")
    if not name.strip():
        raise ValueError("a token needs a name saying what it is for")
    prefix = _new_prefix(session)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    token = ApiToken(
        user_id=user.id,
        name=name.strip(),
        prefix=prefix,
        token_hash=_digest(secret),
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(token)
    session.flush()
    return IssuedToken(token.id, f"{SCHEME}_{prefix}_{secret}")


#: The roles whose tokens may be issued by someone else (an administrator): service accounts,
#: which see no content, catalogue metadata or audit trail. A token acts as its user, so one
#: issued to an investigator's account would let the administrator read content under the
#: investigator's name; people get their tokens only by logging in themselves.
SERVICE_ROLES = frozenset({Role.PLATFORM})


class NotAServiceAccount(PermissionError):
    """A token for this account may only come from its own login."""


def issue_service_token(session: Session, user: User, name: str, ttl: timedelta, now: datetime) -> IssuedToken:
    """`issue_token` on another account's behalf, for service accounts only (`SERVICE_ROLES`)."""
    if Role(user.role) not in SERVICE_ROLES:
        allowed = ", ".join(sorted(SERVICE_ROLES))
        raise NotAServiceAccount(f"tokens for {user.role} accounts come only from their own login; administrators issue tokens for {allowed} accounts")
    return issue_token(session, user, name, ttl, now)


def _parts(plaintext: str) -> tuple[str, str]:
    """(prefix, secret) of a well-formed `mm_<prefix>_<secret>` token, else ("", "")."""
    scheme, _, rest = plaintext.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme == SCHEME and len(prefix) == PREFIX_LENGTH and secret:
        return prefix, secret
    return "", ""


def token_id_of(session: Session, plaintext: str) -> int | None:
    """The id of the token `plaintext` names (not authenticated: for revoking one's own)."""
    prefix, _ = _parts(plaintext)
    return session.scalar(select(ApiToken.id).where(ApiToken.prefix == prefix)) if prefix else None


def authenticate_token(session: Session, plaintext: str, now: datetime) -> User:
    """The user `plaintext` acts for, or `AuthError` if it is unknown, expired, revoked or its
    user inactive. Records `last_used_at` on success, at most once per LAST_USED_PRECISION: a
    platform sends many concurrent requests with one token, and a write to the same row on
    every request would queue them all behind its row lock.

    The token, its user and the user's agency come in one statement: this runs on every API
    request, and each separate lookup would be one more database round trip."""
    prefix, secret = _parts(plaintext)
    with_user = joinedload(ApiToken.user).joinedload(User.agency)
    token = session.scalar(select(ApiToken).options(with_user).where(ApiToken.prefix == prefix)) if prefix else None
    matches = hmac.compare_digest(token.token_hash if token else _MISSING_HASH, _digest(secret))
    if token is None or not matches:
        raise AuthError(AuthFailure.UNKNOWN_TOKEN)
    if token.revoked_at is not None:
        raise AuthError(AuthFailure.REVOKED)
    if now >= token.expires_at:
        raise AuthError(AuthFailure.EXPIRED)
    if not token.user.active:
        raise AuthError(AuthFailure.INACTIVE)
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        token.last_used_at = now
    return token.user


def revoke_token(session: Session, token_id: int, now: datetime) -> None:
    """Stop the token from working. Revoking twice keeps the first time."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise LookupError(f"no API token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = now


def revoke_user_tokens(session: Session, user: User, now: datetime) -> None:
    """Revoke every live token of `user` (on deactivation or a change of role)."""
    for token in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))):
        token.revoked_at = now
