"""Settings: the account's wellness settings (how pictures and videos are shown)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from mediamatch.services.wellness import Wellness, WellnessError, save_settings
from mediamatch.web.deps import DbSession
from mediamatch.web.render import render
from mediamatch.web.routing import page_router
from mediamatch.web.session import PageUser

router = page_router()


@router.get("/settings")
def settings_page(request: Request, user: PageUser, saved: bool = False) -> Response:
    """The wellness settings form."""
    return render(request, "settings.html.j2", saved=saved, problem="")


@router.post("/settings")
def save(
    request: Request,
    user: PageUser,
    session: DbSession,
    blur_px: Annotated[int, Form()],
    thumb_px: Annotated[int, Form()],
    break_minutes: Annotated[int, Form()],
    greyscale: Annotated[bool, Form()] = False,
    muted: Annotated[bool, Form()] = False,
    autoplay: Annotated[bool, Form()] = False,
) -> Response:
    """Save the settings (an unticked box is "off")."""
    try:
        wellness = Wellness(blur_px=blur_px, greyscale=greyscale, thumb_px=thumb_px, muted=muted, autoplay=autoplay, break_minutes=break_minutes)
    except WellnessError as exc:
        return render(request, "settings.html.j2", status_code=400, saved=False, problem=str(exc))
    save_settings(session, user.user_id, wellness)
    session.commit()
    return RedirectResponse("/settings?saved=1", status_code=303)
