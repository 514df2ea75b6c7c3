"""Password hashing (argon2id) and the password policy.

argon2id is memory-hard: every guess against a stolen `users` table costs the attacker the same
64 MiB and several passes that it costs us, which is what makes a human-chosen password
survive a leak. The parameters are stored inside each hash, so raising them later needs no
migration: `needs_rehash` tells the login service to re-hash on the next successful login.
"""

from __future__ import annotations

from functools import cache

try:
    from argon2 import PasswordHasher, Type
    from argon2.exceptions import InvalidHashError, VerificationError
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("password hashing needs argon2-cffi: pip install 'mediamatch[server]'") from exc

MIN_LENGTH = 12
MAX_LENGTH = 1024  # bounds the work one login request can ask of the server

# RFC 9106 section 4, second recommended option (for when 2 GiB per hash is too much):
# argon2id, 3 passes, 64 MiB, 4 lanes, 16-byte salt, 32-byte tag.
_HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4, hash_len=32, salt_len=16, type=Type.ID)


class PasswordPolicyError(ValueError):
    """A new password that the policy refuses; the message says why, for the person choosing it."""


def check_policy(password: str, username: str) -> None:
    """Refuse passwords that are short, absurdly long or the username itself.

    Length is the rule that matters (NIST SP 800-63B): no composition rules, which push people
    to predictable substitutions without adding much strength.
    """
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"a password may have at most {MAX_LENGTH} characters")
    if password.strip().casefold() == username.strip().casefold():
        raise PasswordPolicyError("a password must not be the username")


def hash_password(password: str) -> str:
    """The argon2id hash of `password`, in the PHC string form (`$argon2id$v=19$m=...`)."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches; a malformed stored hash counts as a mismatch."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's and should be renewed."""
    return _HASHER.check_needs_rehash(password_hash)


@cache
def _dummy_hash() -> str:
    return hash_password("mediamatch timing equaliser")


def burn_verify_time(password: str) -> None:
    """Spend the time of one verification for nothing, so that a login for an unknown, locked
    or inactive account takes as long as one with a wrong password and timing reveals nothing."""
    verify_password(_dummy_hash(), password)
