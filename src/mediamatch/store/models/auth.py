"""Accounts and API tokens.

Each user belongs to one agency and has one role (`auth.permissions.Role`). Passwords are
stored only as argon2id hashes; API tokens only as the SHA-256 of their secret, so neither a
backup nor a read of the database yields a usable credential.

Why two different hashes: argon2id exists to make guessing a human-chosen password expensive.
A token's secret is 32 random bytes chosen by us, which no one can guess however cheap each
try is, so a slow hash would add nothing but tens of milliseconds of CPU and 64 MiB of memory
to every API request: a platform matching at volume would pay that on each call, and an
attacker sending junk tokens could make us spend it. SHA-256 is the right tool for a
high-entropy secret.

Times are stored and returned as aware UTC (`UTCDateTime`): SQLite hands back naive values,
and comparing those with an aware `now` would fail, or worse, be done in the wrong zone.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Boolean, CheckConstraint, DateTime, Dialect, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from mediamatch.auth.permissions import Role
from mediamatch.store.models.base import Base
from mediamatch.store.models.catalogue import Agency


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always aware UTC in Python, on every back end; naive input is refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC time")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


ROLE_VALUES = tuple(role.value for role in Role)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN (" + ", ".join(f"'{value}'" for value in ROLE_VALUES) + ")", name="role_known"),
        CheckConstraint("failed_logins >= 0", name="failed_logins_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    username: Mapped[str] = mapped_column(String(200), unique=True)  # stored casefolded
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, create_constraint=False, length=32, values_callable=lambda _: list(ROLE_VALUES)))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    agency: Mapped[Agency] = relationship()


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(8), unique=True)  # public: shown in lists, used for lookup
    token_hash: Mapped[str] = mapped_column(String(64))  # hex SHA-256 of the secret part
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user: Mapped[User] = relationship()
