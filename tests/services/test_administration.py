"""The admin page's service: agencies, accounts, roles and tokens under the components' rules."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mediamatch.auth.permissions import Role
from mediamatch.services import administration as admin
from mediamatch.services.webhooks import WebhookPolicy
from mediamatch.store.db import session_scope

PASSWORD = "correct horse battery staple"


def test_agencies_accounts_roles_and_tokens(engine: sa.Engine) -> None:
    policy = WebhookPolicy.from_entries(())
    with session_scope(engine) as session:
        nl = admin.add_agency(session, " Unit NL ", "nl", None, policy)
        assert (nl.name, nl.country) == ("Unit NL", "NL")
        for name, country, hook, message in (
            ("Unit NL", "NL", None, "exists"),
            ("Unit X", "Netherlands", None, "ISO 3166-1"),
            ("Unit Y", "DE", "http://10.0.0.1/hook", "HTTPS|public|private"),
            ("Unit\u202eZ", "DE", None, "invisible"),
        ):
            with pytest.raises(admin.AdminError, match=message):
                admin.add_agency(session, name, country, hook, policy)
        boss = admin.add_account(session, nl.id, "boss", PASSWORD, Role.ADMIN)
        platform = admin.add_account(session, nl.id, "platform-1", PASSWORD, Role.PLATFORM)
        with pytest.raises(admin.AdminError, match="taken"):
            admin.add_account(session, nl.id, "BOSS", PASSWORD, Role.AUDITOR)
        with pytest.raises(admin.AdminError, match="12 characters"):
            admin.add_account(session, nl.id, "short", "too short", Role.AUDITOR)

        issued, _ = admin.issue_for_service(session, platform.id, "matcher", 30)
        assert issued.plaintext.startswith("mm_")
        with pytest.raises(admin.AdminError, match="own login"):
            admin.issue_for_service(session, boss.id, "mine", 30)
        assert [(row.name, row.username) for row in admin.live_tokens(session)] == [("matcher", "platform-1")]

        with pytest.raises(admin.AdminError, match="own role"):
            admin.set_role(session, boss.id, Role.AUDITOR, boss.id)
        _, old = admin.set_role(session, platform.id, Role.REVIEWER, boss.id)
        assert old == Role.PLATFORM and admin.live_tokens(session) == []  # a role change revokes the tokens
        with pytest.raises(admin.AdminError, match="own account"):
            admin.close_account(session, boss.id, boss.id)
        admin.close_account(session, platform.id, boss.id)
        rows = {row.username: row for row in admin.accounts(session)}
        assert rows["platform-1"].role == Role.REVIEWER and not rows["platform-1"].active and rows["boss"].active
        assert [(row.name, row.accounts, row.shares_with_platforms) for row in admin.agencies(session)] == [("Unit NL", 2, False)]
        with pytest.raises(admin.AdminError, match="no such token"):
            admin.revoke(session, 999)
