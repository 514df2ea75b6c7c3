"""API tokens on real databases (SQLite and PostgreSQL): issued once in the documented form,
stored only as a SHA-256, refused when unknown, wrong, expired, revoked or of an inactive user,
and revoked when the user is deactivated or changes role.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from mediamatch.auth.errors import PUBLIC_MESSAGE, AuthError, AuthFailure
from mediamatch.auth.permissions import Role
from mediamatch.auth.tokens import MAX_TTL, authenticate_token, issue_token, revoke_token
from mediamatch.auth.users import change_role, create_user, deactivate_user
from mediamatch.store import repo
from mediamatch.store.db import session_scope
from mediamatch.store.models import Base
from mediamatch.store.models.auth import ApiToken, User

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)
TOKEN_FORM = re.compile(r"mm_([a-z0-9]{8})_([A-Za-z0-9_-]{43})")


@pytest.fixture
def user_id(engine: sa.Engine) -> int:
    with session_scope(engine) as session:
        agency = repo.get_or_create_agency(session, "example-platform", "NL")
        return create_user(session, agency, "platform-bot", "a long platform password", Role.PLATFORM).id


def issue(engine: sa.Engine, user_id: int, ttl: timedelta = DAY, name: str = "matcher") -> tuple[int, str]:
    with session_scope(engine) as session:
        return issue_token(session, session.get_one(User, user_id), name, ttl, NOW)


def parts(plaintext: str) -> tuple[str, str]:
    """The prefix and the secret of a token in the documented form."""
    match = TOKEN_FORM.fullmatch(plaintext)
    assert match, plaintext
    return match[1], match[2]


def authenticate(engine: sa.Engine, plaintext: str, now: datetime = NOW) -> int:
    with session_scope(engine) as session:
        return authenticate_token(session, plaintext, now).id


def refusal(engine: sa.Engine, plaintext: str, now: datetime = NOW) -> AuthFailure:
    with pytest.raises(AuthError) as caught:
        authenticate(engine, plaintext, now)
    assert str(caught.value) == PUBLIC_MESSAGE
    return caught.value.reason


def test_issued_token_has_the_documented_form_and_authenticates(engine: sa.Engine, user_id: int) -> None:
    token_id, plaintext = issue(engine, user_id)
    prefix, _ = parts(plaintext)
    assert authenticate(engine, plaintext, NOW + timedelta(hours=1)) == user_id
    with session_scope(engine) as session:
        token = session.get_one(ApiToken, token_id)
        assert token.prefix == prefix
        assert token.name == "matcher"
        assert token.expires_at == NOW + DAY
        assert token.last_used_at == NOW + timedelta(hours=1)


def test_only_the_sha256_of_the_secret_is_stored(engine: sa.Engine, user_id: int, db_url: str) -> None:
    token_id, plaintext = issue(engine, user_id)
    _, secret = parts(plaintext)
    with engine.connect() as conn:
        dump = "\n".join(repr(row) for table in Base.metadata.sorted_tables for row in conn.execute(sa.select(table)))
        token_hash = conn.scalar(sa.select(ApiToken.token_hash).where(ApiToken.id == token_id))
    assert token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in dump and plaintext not in dump
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":  # the files themselves, write-ahead log included
        files = [Path(url.database), Path(url.database + "-wal")]  # type: ignore[operator]
        raw = b"".join(path.read_bytes() for path in files if path.exists())
        assert secret.encode() not in raw


def test_prefixes_are_distinct(engine: sa.Engine, user_id: int) -> None:
    prefixes = {parts(issue(engine, user_id, name=f"t{n}")[1])[0] for n in range(20)}
    assert len(prefixes) == 20


@pytest.mark.parametrize(
    "forged",
    ["", "mm_", "mm__", "bearer", "mm_abcdefgh_", "xx_abcdefgh_" + "a" * 43, "mm_abcdefgh_" + "a" * 43],
)
def test_malformed_or_unknown_tokens_are_refused(engine: sa.Engine, user_id: int, forged: str) -> None:
    issue(engine, user_id)
    assert refusal(engine, forged) is AuthFailure.UNKNOWN_TOKEN


def test_a_wrong_secret_with_a_real_prefix_is_refused(engine: sa.Engine, user_id: int) -> None:
    _, plaintext = issue(engine, user_id)
    flipped = plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")
    assert refusal(engine, flipped) is AuthFailure.UNKNOWN_TOKEN


def test_token_expires_at_the_end_of_its_lifetime(engine: sa.Engine, user_id: int) -> None:
    _, plaintext = issue(engine, user_id, ttl=DAY)
    assert authenticate(engine, plaintext, NOW + DAY - timedelta(seconds=1)) == user_id
    assert refusal(engine, plaintext, NOW + DAY) is AuthFailure.EXPIRED


def test_revoked_token_is_refused_and_keeps_its_first_revocation_time(engine: sa.Engine, user_id: int) -> None:
    token_id, plaintext = issue(engine, user_id)
    with session_scope(engine) as session:
        revoke_token(session, token_id, NOW + timedelta(minutes=1))
    with session_scope(engine) as session:
        revoke_token(session, token_id, NOW + timedelta(minutes=2))
    assert refusal(engine, plaintext) is AuthFailure.REVOKED
    with session_scope(engine) as session:
        assert session.get_one(ApiToken, token_id).revoked_at == NOW + timedelta(minutes=1)


def test_revoking_an_unknown_token_says_so(engine: sa.Engine) -> None:
    with session_scope(engine) as session, pytest.raises(LookupError):
        revoke_token(session, 999, NOW)


def test_token_of_an_inactive_user_is_refused(engine: sa.Engine, user_id: int) -> None:
    _, plaintext = issue(engine, user_id)
    with session_scope(engine) as session:
        session.get_one(User, user_id).active = False
    assert refusal(engine, plaintext) is AuthFailure.INACTIVE


def test_deactivating_a_user_revokes_their_tokens(engine: sa.Engine, user_id: int) -> None:
    _, plaintext = issue(engine, user_id)
    with session_scope(engine) as session:
        deactivate_user(session, session.get_one(User, user_id), NOW)
    with session_scope(engine) as session:
        session.get_one(User, user_id).active = True  # even if reactivated, the old token stays dead
    assert refusal(engine, plaintext) is AuthFailure.REVOKED


def test_changing_role_revokes_tokens(engine: sa.Engine, user_id: int) -> None:
    _, plaintext = issue(engine, user_id)
    with session_scope(engine) as session:
        change_role(session, session.get_one(User, user_id), Role.INVESTIGATOR, NOW)
    assert refusal(engine, plaintext) is AuthFailure.REVOKED
    with session_scope(engine) as session:
        assert session.get_one(User, user_id).role is Role.INVESTIGATOR


@pytest.mark.parametrize("ttl", [timedelta(0), -DAY, MAX_TTL + timedelta(seconds=1)], ids=["zero", "negative", "too-long"])
def test_lifetime_must_be_positive_and_bounded(engine: sa.Engine, user_id: int, ttl: timedelta) -> None:
    with pytest.raises(ValueError, match="lifetime"):
        issue(engine, user_id, ttl=ttl)


def test_no_token_for_an_inactive_user_or_without_a_name(engine: sa.Engine, user_id: int) -> None:
    with pytest.raises(ValueError, match="name"):
        issue(engine, user_id, name="  ")
    with session_scope(engine) as session:
        session.get_one(User, user_id).active = False
    with pytest.raises(ValueError, match="inactive"):
        issue(engine, user_id)
