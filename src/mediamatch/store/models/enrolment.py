"""Pending enrolments: the one-time code an account waits on before its person sets a password.

An administrator who creates (or resets) an account never chooses its password, so never knows
it: the server makes a random code, shown once to the administrator to hand to the person out
of band, and stores only its SHA-256 (the code is 192 random bits: a slow hash would add
nothing, as for API tokens). Redeeming the code sets the person's own password and deletes
this row; while it exists the account has no usable password.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from mediamatch.store.models.auth import UTCDateTime, utcnow
from mediamatch.store.models.base import Base


class Enrolment(Base):
    __tablename__ = "enrolments"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64))  # hex SHA-256 of the code
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
