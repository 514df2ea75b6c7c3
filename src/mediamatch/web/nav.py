"""The navigation bar: one entry per page area and the permission that opens it.

The base template shows an account only the entries its role may open, so a page never
appears as a link to someone who would get its 403 page. A page area added later adds its
entry here."""

from __future__ import annotations

from dataclasses import dataclass

from mediamatch.auth.permissions import Permission, Role, allowed


@dataclass(frozen=True, slots=True)
class NavEntry:
    label: str
    path: str
    permission: Permission | None  # None: every signed-in account


NAV: tuple[NavEntry, ...] = (
    NavEntry("Home", "/", None),
    NavEntry("Triage", "/triage", Permission.TRIAGE),
    NavEntry("Series", "/series", Permission.SEARCH_METADATA),
    NavEntry("Region search", "/similar", Permission.SEARCH_SIMILAR),
    NavEntry("Investigations", "/investigations", Permission.SEARCH_METADATA),
    NavEntry("Clues", "/clues", Permission.SEARCH_METADATA),
    NavEntry("Help requests", "/help-requests", Permission.SEARCH_METADATA),
    NavEntry("Statistics", "/statistics", Permission.READ_STATISTICS),
    NavEntry("Review", "/review", Permission.REVIEW_HITS),
    NavEntry("Error rates", "/review/error-rates", Permission.VIEW_ERROR_RATES),
    NavEntry("Audit", "/audit", Permission.READ_AUDIT),
    NavEntry("Admin", "/admin", Permission.MANAGE_USERS),
    NavEntry("Settings", "/settings", None),
)


def visible(role: Role) -> list[NavEntry]:
    """The entries an account with `role` may open, in bar order."""
    return [entry for entry in NAV if entry.permission is None or allowed(role, entry.permission)]
