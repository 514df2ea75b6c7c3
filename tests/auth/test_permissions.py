"""The permission table keeps need-to-know: platforms only match hashes, auditors see the audit
trail and no content, only admins manage accounts, and no permission is left to nobody.
"""

from __future__ import annotations

import pytest

from mediamatch.auth.permissions import (
    AUDIT_PERMISSIONS,
    CONTENT_PERMISSIONS,
    ROLE_PERMISSIONS,
    Permission,
    Role,
    allowed,
)

NON_CASEWORK = (Role.ADMIN, Role.AUDITOR, Role.PLATFORM)


def holders(permission: Permission) -> set[Role]:
    return {role for role in Role if allowed(role, permission)}


def test_every_role_has_a_row() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)


@pytest.mark.parametrize("permission", list(Permission))
def test_every_permission_is_granted_to_some_role(permission: Permission) -> None:
    assert holders(permission), f"{permission} is granted to no role"


def test_platform_may_only_match_hashes_report_hits_and_download_the_list() -> None:
    assert ROLE_PERMISSIONS[Role.PLATFORM] == {Permission.MATCH_HASHES, Permission.REPORT_HITS, Permission.DOWNLOAD_HASHLIST}


def test_auditor_reads_the_audit_trail_and_nothing_else() -> None:
    assert ROLE_PERMISSIONS[Role.AUDITOR] == AUDIT_PERMISSIONS
    assert not ROLE_PERMISSIONS[Role.AUDITOR] & CONTENT_PERMISSIONS


@pytest.mark.parametrize("role", NON_CASEWORK)
def test_non_casework_roles_see_no_content(role: Role) -> None:
    assert not ROLE_PERMISSIONS[role] & CONTENT_PERMISSIONS


def test_full_content_is_for_investigators_only() -> None:
    assert holders(Permission.VIEW_CONTENT) == {Role.INVESTIGATOR}


def test_admin_manages_agencies_users_and_tokens_and_nobody_else_does() -> None:
    for permission in (Permission.MANAGE_AGENCIES, Permission.MANAGE_USERS, Permission.MANAGE_TOKENS):
        assert holders(permission) == {Role.ADMIN}, permission


def test_only_auditors_read_the_audit_trail() -> None:
    for permission in AUDIT_PERMISSIONS:
        assert holders(permission) == {Role.AUDITOR}, permission


def test_allowed_agrees_with_the_table_for_every_pair() -> None:
    granted = {(role, permission) for role in Role for permission in Permission if allowed(role, permission)}
    expected = {(role, permission) for role, permissions in ROLE_PERMISSIONS.items() for permission in permissions}
    assert granted == expected


def test_unknown_roles_and_permissions_are_refused() -> None:
    assert not allowed("root", Permission.MATCH_HASHES)  # type: ignore[arg-type]
    assert not allowed(Role.ADMIN, "drop_tables")  # type: ignore[arg-type]


def test_the_table_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        ROLE_PERMISSIONS[Role.PLATFORM] = frozenset(Permission)  # type: ignore[index]
