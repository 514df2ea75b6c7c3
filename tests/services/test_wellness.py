"""Wellness settings: the safe defaults until an account saves its own, bounds checked."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mediamatch.auth.permissions import Role
from mediamatch.auth.users import create_user
from mediamatch.services.wellness import DEFAULT, Wellness, WellnessError, save_settings, settings_of
from mediamatch.store import repo
from mediamatch.store.db import session_scope


def test_defaults_until_saved_then_the_saved_settings(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        user = create_user(session, repo.get_or_create_agency(session, "Unit NL", "NL"), "viewer", "correct horse battery staple", Role.INVESTIGATOR)
        assert settings_of(session, user.id) == DEFAULT
        assert DEFAULT.greyscale and DEFAULT.muted and not DEFAULT.autoplay and DEFAULT.blur_px > 0 and DEFAULT.break_minutes > 0
        chosen = Wellness(blur_px=30, greyscale=False, thumb_px=320, muted=False, autoplay=True, break_minutes=0)
        save_settings(session, user.id, chosen)
        save_settings(session, user.id, chosen)  # saving again updates the one row
        user_id = user.id
    with session_scope(engine) as session:
        assert settings_of(session, user_id) == chosen


@pytest.mark.parametrize(("field", "value"), [("blur_px", -1), ("blur_px", 65), ("thumb_px", 63), ("thumb_px", 1025), ("break_minutes", 481)])
def test_out_of_range_settings_are_refused_with_their_range(field: str, value: int) -> None:
    with pytest.raises(WellnessError, match=f"between .* not {value}"):
        Wellness(**{field: value})
