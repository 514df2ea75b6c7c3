"""Passwords are hashed with argon2id at the stated parameters, verify, and are renewed when the
parameters change; the policy refuses short, overlong and username passwords.
"""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type

from mediamatch.auth.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    PasswordPolicyError,
    check_policy,
    hash_password,
    needs_rehash,
    verify_password,
)

PASSWORD = "correct horse battery"


def test_hash_is_argon2id_with_rfc9106_parameters() -> None:
    assert hash_password(PASSWORD).startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_right_password_verifies_and_wrong_one_does_not() -> None:
    stored = hash_password(PASSWORD)
    assert verify_password(stored, PASSWORD)
    assert not verify_password(stored, PASSWORD + "!")


def test_hashes_are_salted() -> None:
    assert hash_password(PASSWORD) != hash_password(PASSWORD)


def test_malformed_stored_hash_is_a_mismatch_not_a_crash() -> None:
    assert not verify_password("not-a-hash", PASSWORD)


def test_weaker_hashes_need_rehash() -> None:
    assert not needs_rehash(hash_password(PASSWORD))
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1, type=Type.ID).hash(PASSWORD)
    assert needs_rehash(weak)
    assert verify_password(weak, PASSWORD)  # still accepted, so it can be renewed at login


@pytest.mark.parametrize(
    ("password", "username"),
    [
        ("x" * (MIN_LENGTH - 1), "alice"),
        ("x" * (MAX_LENGTH + 1), "alice"),
        ("investigator-01", "investigator-01"),
        ("Investigator-01", "investigator-01"),
    ],
    ids=["short", "overlong", "username", "username-other-case"],
)
def test_policy_refuses(password: str, username: str) -> None:
    with pytest.raises(PasswordPolicyError):
        check_policy(password, username)


def test_policy_accepts_a_long_enough_password() -> None:
    check_policy("x" * MIN_LENGTH, "alice")
