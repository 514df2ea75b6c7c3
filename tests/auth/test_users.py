"""Accounts on real databases (SQLite and PostgreSQL): creation under the password policy,
login that fails alike for unknown users and wrong passwords, throttling that locks after five
failures and unlocks after the period (with `now` injected), and hashes renewed at login.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher, Type

from mediamatch.auth.errors import PUBLIC_MESSAGE, AuthError, AuthFailure
from mediamatch.auth.passwords import PasswordPolicyError, needs_rehash
from mediamatch.auth.permissions import Role
from mediamatch.auth.users import (
    ENROLMENT_TTL,
    LOCK_PERIOD,
    MAX_FAILURES,
    MAX_LOCK_PERIOD,
    EnrolmentError,
    UsernameTaken,
    authenticate_password,
    create_enrolling_user,
    create_user,
    deactivate_user,
    lock_period,
    redeem_enrolment,
)
from mediamatch.store import repo
from mediamatch.store.db import session_scope
from mediamatch.store.models.auth import User

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)
PASSWORD = "a sufficiently long passphrase"
WRONG = "not the passphrase at all"


def new_user(engine: sa.Engine, username: str = "Investigator.NL", role: Role = Role.INVESTIGATOR, password: str = PASSWORD) -> int:
    with session_scope(engine) as session:
        agency = repo.get_or_create_agency(session, "nl-police", "NL")
        return create_user(session, agency, username, password, role).id


@pytest.fixture
def user_id(engine: sa.Engine) -> int:
    return new_user(engine)


def login(engine: sa.Engine, password: str, now: datetime, username: str = "investigator.nl") -> int:
    """One login request in its own unit of work, as a front end would run it."""
    with session_scope(engine) as session:
        return authenticate_password(session, username, password, now).id


def refusal(engine: sa.Engine, password: str, now: datetime, username: str = "investigator.nl") -> AuthError:
    with pytest.raises(AuthError) as caught:
        login(engine, password, now, username)
    return caught.value


def stored(engine: sa.Engine, user_id: int) -> User:
    with session_scope(engine) as session:
        return session.get_one(User, user_id)


def test_created_user_is_stored_with_an_argon2id_hash_never_the_password(engine: sa.Engine, user_id: int) -> None:
    user = stored(engine, user_id)
    assert user.username == "investigator.nl"
    assert user.role is Role.INVESTIGATOR
    assert user.active and user.failed_logins == 0 and user.locked_until is None
    assert user.password_hash.startswith("$argon2id$")
    with engine.connect() as conn:
        assert PASSWORD not in repr(conn.execute(sa.select(User.__table__)).all())


def test_username_is_unique_whatever_its_case(engine: sa.Engine, user_id: int) -> None:
    with pytest.raises(UsernameTaken):
        new_user(engine, username="  INVESTIGATOR.nl ")


@pytest.mark.parametrize(
    ("username", "password"),
    [("analyst", "short"), ("analyst-long-name", "analyst-long-name"), ("analyst", "x" * 2000)],
    ids=["short", "username", "overlong"],
)
def test_create_user_applies_the_password_policy(engine: sa.Engine, username: str, password: str) -> None:
    with pytest.raises(PasswordPolicyError):
        new_user(engine, username=username, password=password)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_unknown_roles_and_empty_usernames_are_refused(engine: sa.Engine) -> None:
    with pytest.raises(ValueError):
        new_user(engine, role="superuser")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        new_user(engine, username="   ")


def test_the_database_refuses_an_unknown_role(engine: sa.Engine, user_id: int) -> None:
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.text("UPDATE users SET role = 'superuser'"))


def test_login_succeeds_and_records_the_time(engine: sa.Engine, user_id: int) -> None:
    assert login(engine, PASSWORD, NOW, username=" Investigator.NL") == user_id
    assert stored(engine, user_id).last_login_at == NOW


def test_unknown_user_gets_the_same_error_as_a_wrong_password(engine: sa.Engine, user_id: int) -> None:
    unknown = refusal(engine, PASSWORD, NOW, username="nobody")
    wrong = refusal(engine, WRONG, NOW)
    assert type(unknown) is type(wrong)
    assert str(unknown) == str(wrong) == PUBLIC_MESSAGE
    assert unknown.args == wrong.args
    assert (unknown.reason, wrong.reason) == (AuthFailure.UNKNOWN_USER, AuthFailure.WRONG_PASSWORD)


@pytest.mark.parametrize("case", ["unknown", "wrong", "locked", "right"])
def test_every_login_does_one_argon2_verification(engine: sa.Engine, user_id: int, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    """Unknown users and locked accounts cost a dummy verification, so timing tells nothing."""
    if case == "locked":
        for _ in range(MAX_FAILURES):
            refusal(engine, WRONG, NOW)
    calls: list[int] = []
    original: Callable[..., bool] = PasswordHasher.verify
    monkeypatch.setattr(PasswordHasher, "verify", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    username = "nobody" if case == "unknown" else "investigator.nl"
    password = PASSWORD if case in ("unknown", "locked", "right") else WRONG
    if case == "right":
        login(engine, password, NOW, username)
    else:
        refusal(engine, password, NOW, username)
    assert len(calls) == 1


def test_five_failures_lock_the_account_until_the_period_ends(engine: sa.Engine, user_id: int) -> None:
    for attempt in range(MAX_FAILURES):
        failure = refusal(engine, WRONG, NOW + timedelta(seconds=attempt))
        assert failure.reason is AuthFailure.WRONG_PASSWORD
    last = NOW + timedelta(seconds=MAX_FAILURES - 1)
    user = stored(engine, user_id)  # each failure was committed despite the rollback after it
    assert user.failed_logins == MAX_FAILURES
    assert user.locked_until == last + LOCK_PERIOD

    locked = refusal(engine, PASSWORD, last + LOCK_PERIOD - timedelta(seconds=1))
    assert locked.reason is AuthFailure.LOCKED and str(locked) == PUBLIC_MESSAGE
    assert login(engine, PASSWORD, last + LOCK_PERIOD) == user_id
    user = stored(engine, user_id)
    assert user.failed_logins == 0 and user.locked_until is None


def test_attempts_while_locked_are_not_counted(engine: sa.Engine, user_id: int) -> None:
    for _ in range(MAX_FAILURES):
        refusal(engine, WRONG, NOW)
    for _ in range(3):
        assert refusal(engine, WRONG, NOW + timedelta(minutes=1)).reason is AuthFailure.LOCKED
    assert stored(engine, user_id).failed_logins == MAX_FAILURES


def test_a_failure_after_the_lock_doubles_the_next_lock(engine: sa.Engine, user_id: int) -> None:
    for _ in range(MAX_FAILURES):
        refusal(engine, WRONG, NOW)
    after = NOW + LOCK_PERIOD
    refusal(engine, WRONG, after)
    assert stored(engine, user_id).locked_until == after + 2 * LOCK_PERIOD


def test_success_before_the_limit_resets_the_count(engine: sa.Engine, user_id: int) -> None:
    for _ in range(MAX_FAILURES - 1):
        refusal(engine, WRONG, NOW)
    login(engine, PASSWORD, NOW)
    for _ in range(MAX_FAILURES - 1):
        refusal(engine, WRONG, NOW)
    assert stored(engine, user_id).locked_until is None


def test_lock_period_grows_exponentially_to_a_cap() -> None:
    periods = [lock_period(failures) for failures in range(1, 14)]
    assert periods[: MAX_FAILURES - 1] == [timedelta(0)] * (MAX_FAILURES - 1)
    assert periods[MAX_FAILURES - 1 : MAX_FAILURES + 2] == [LOCK_PERIOD, 2 * LOCK_PERIOD, 4 * LOCK_PERIOD]
    assert max(periods) == MAX_LOCK_PERIOD == periods[-1]
    assert lock_period(10_000) == MAX_LOCK_PERIOD


def test_inactive_user_cannot_log_in(engine: sa.Engine, user_id: int) -> None:
    with session_scope(engine) as session:
        session.get_one(User, user_id).active = False
    failure = refusal(engine, PASSWORD, NOW)
    assert failure.reason is AuthFailure.INACTIVE and str(failure) == PUBLIC_MESSAGE


def test_an_outdated_hash_is_renewed_at_login(engine: sa.Engine, user_id: int) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1, type=Type.ID).hash(PASSWORD)
    with session_scope(engine) as session:
        session.get_one(User, user_id).password_hash = weak
    login(engine, PASSWORD, NOW)
    renewed = stored(engine, user_id).password_hash
    assert renewed != weak and not needs_rehash(renewed)
    assert login(engine, PASSWORD, NOW) == user_id


def enrolling(engine: sa.Engine) -> str:
    with session_scope(engine) as session:
        agency = repo.get_or_create_agency(session, "nl-police", "NL")
        return create_enrolling_user(session, agency, "Enrolling.NL", Role.INVESTIGATOR, NOW)[1].code


def enrol(engine: sa.Engine, code: str, now: datetime) -> None:
    with session_scope(engine) as session:
        redeem_enrolment(session, "enrolling.nl", code, PASSWORD, now)


def test_an_enrolment_code_expires(engine: sa.Engine) -> None:
    code = enrolling(engine)
    with pytest.raises(EnrolmentError) as expired:
        enrol(engine, code, NOW + ENROLMENT_TTL)
    assert expired.value.reason == "enrolment code expired"
    enrol(engine, code, NOW + ENROLMENT_TTL - timedelta(seconds=1))
    assert login(engine, PASSWORD, NOW + ENROLMENT_TTL, username="enrolling.nl")


def test_a_deactivated_account_cannot_enrol_and_a_wrong_code_tells_nothing(engine: sa.Engine) -> None:
    code = enrolling(engine)
    with pytest.raises(EnrolmentError) as wrong:
        enrol(engine, code[:-1] + ("A" if code[-1] != "A" else "B"), NOW)
    assert wrong.value.reason == "wrong enrolment code" and str(wrong.value) == str(EnrolmentError("anything"))
    with session_scope(engine) as session:
        deactivate_user(session, session.scalars(sa.select(User).where(User.username == "enrolling.nl")).one(), NOW)
    with pytest.raises(EnrolmentError) as closed:
        enrol(engine, code, NOW)
    assert closed.value.reason == "account deactivated"
