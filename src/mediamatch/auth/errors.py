"""The one error every failed login or token check raises.

Its message is the same whatever went wrong, so a caller who shows it cannot tell an attacker
whether a username exists, an account is locked or a token has expired. The precise `reason`
is for the audit trail and the server log, never for the response.
"""

from __future__ import annotations

from enum import StrEnum

PUBLIC_MESSAGE = "invalid credentials"


class AuthFailure(StrEnum):
    """Why authentication failed. Values are audit detail keys: never rename one."""

    UNKNOWN_USER = "unknown_user"
    WRONG_PASSWORD = "wrong_password"
    LOCKED = "locked"
    INACTIVE = "inactive"
    UNKNOWN_TOKEN = "unknown_token"
    EXPIRED = "expired"
    REVOKED = "revoked"


class AuthError(Exception):
    """Authentication failed; `str()` is always `PUBLIC_MESSAGE`."""

    def __init__(self, reason: AuthFailure) -> None:
        super().__init__(PUBLIC_MESSAGE)
        self.reason = reason
