"""Each account's wellness settings: how the browser workspace shows known material.

Defaults are the safe way (greyscale, blurred, muted, no autoplay, a break reminder after
twenty minutes of revealed viewing), and an account without a saved row gets them. Bounds are
checked here, so every front end stores only settings the pages can honour: a blur of 0 is
allowed (a person may choose it) but the server's own blur of unrevealed thumbnails
(`media.thumbnail`) applies whatever this says.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone

from sqlalchemy.orm import Session

from mediamatch.store.models.wellness import WellnessSettings

BLUR_RANGE = (0, 64)
THUMB_RANGE = (64, 1024)
BREAK_RANGE = (0, 480)


class WellnessError(ValueError):
    """A setting out of its range; the message names it and the range."""


@dataclass(frozen=True, slots=True)
class Wellness:
    blur_px: int = 12
    greyscale: bool = True
    thumb_px: int = 192
    muted: bool = True
    autoplay: bool = False
    break_minutes: int = 20  # of revealed viewing; 0: no reminder

    def __post_init__(self) -> None:
        for name, title, (low, high) in (
            ("blur_px", "the blur", BLUR_RANGE),
            ("thumb_px", "the thumbnail size", THUMB_RANGE),
            ("break_minutes", "the break reminder", BREAK_RANGE),
        ):
            value = getattr(self, name)
            if not low <= value <= high:
                raise WellnessError(f"{title} must be between {low} and {high}, not {value}")


DEFAULT = Wellness()


def settings_of(session: Session, user_id: int) -> Wellness:
    """The user's saved settings, or the defaults."""
    row = session.get(WellnessSettings, user_id)
    if row is None:
        return DEFAULT
    return Wellness(
        blur_px=row.blur_px, greyscale=row.greyscale, thumb_px=row.thumb_px, muted=row.muted, autoplay=row.autoplay, break_minutes=row.break_minutes
    )


def save_settings(session: Session, user_id: int, wellness: Wellness) -> None:
    """Store `wellness` for the user (a personal preference: not audited; every reveal is)."""
    row = session.get(WellnessSettings, user_id) or WellnessSettings(user_id=user_id)
    for name, value in asdict(wellness).items():
        setattr(row, name, value)
    row.updated_at = datetime.now(timezone.utc)
    session.add(row)
    session.flush()
