"""Who may do what: the roles, the permissions, and the one table that joins them.

Every front end asks `allowed(role, permission)` and nothing else, so the rules of access are
read and reviewed in one place (`ROLE_PERMISSIONS`) rather than rediscovered in each route.
Role and permission values are storage and API keys: never rename one.

A plain module (standard library only, no I/O): the user table in `store/models/auth.py` stores a
`Role`, while auth's account services use store's tables, so this table sits in the bottom layer,
below both, instead of making store and auth import each other (tests/test_layers.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class Role(StrEnum):
    """What a user account is for. Each account has exactly one role; a person who needs two
    (an investigator who also reviews platform hits) gets two accounts, so every audited action
    says in which capacity it was taken."""

    ADMIN = "admin"
    CONTRIBUTOR = "contributor"
    INVESTIGATOR = "investigator"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"
    PLATFORM = "platform"


class Permission(StrEnum):
    """One thing a front end may let an account do."""

    MANAGE_AGENCIES = "manage_agencies"
    MANAGE_USERS = "manage_users"
    MANAGE_TOKENS = "manage_tokens"  # issue and revoke other accounts' API tokens
    CONTRIBUTE_MEDIA = "contribute_media"
    EDIT_METADATA = "edit_metadata"
    SEARCH_HASHES = "search_hashes"  # "is this known?" with the catalogue's answer
    SEARCH_SIMILAR = "search_similar"  # similarity search by local descriptors: region search, remote triage's second pass
    SEARCH_METADATA = "search_metadata"  # series, victims, cases, free text
    VIEW_THUMBNAIL = "view_thumbnail"
    VIEW_CONTENT = "view_content"  # the decrypted original
    TRIAGE = "triage"  # check a seized collection against the catalogue
    MARK_IDENTIFIED = "mark_identified"
    REVIEW_HITS = "review_hits"
    READ_AUDIT = "read_audit"
    EXPORT_AUDIT = "export_audit"
    MATCH_HASHES = "match_hashes"  # a platform's yes/no: no metadata, no content
    EXPORT_HASHLIST = "export_hashlist"
    DOWNLOAD_HASHLIST = "download_hashlist"  # the signed lists and deltas the operator published
    READ_NOTIFICATIONS = "read_notifications"
    REPORT_HITS = "report_hits"  # a platform reports its matches and, after one, the matched upload
    VIEW_ERROR_RATES = "view_error_rates"  # confirmed/rejected counts per indicator and per list
    READ_HIT_REPORTS = "read_hit_reports"  # the report records confirmed hits produce
    CLAIM_INVESTIGATION = "claim_investigation"  # say "my unit works this series", end such a claim
    WRITE_CLUES = "write_clues"  # clues, discussion, help requests and their answers, subscriptions
    APPROVE_HELP_REQUESTS = "approve_help_requests"  # the second person who lets a help request's crop go out
    READ_STATISTICS = "read_statistics"  # counts of series, identifications, matches, investigations


#: Permissions that show abuse material itself, however reduced.
CONTENT_PERMISSIONS = frozenset({Permission.VIEW_THUMBNAIL, Permission.VIEW_CONTENT})

#: Permissions over the audit trail.
AUDIT_PERMISSIONS = frozenset({Permission.READ_AUDIT, Permission.EXPORT_AUDIT})

_P = Permission

ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        Role.ADMIN: frozenset(
            {
                _P.MANAGE_AGENCIES,
                _P.MANAGE_USERS,
                _P.MANAGE_TOKENS,
                _P.READ_NOTIFICATIONS,
                _P.VIEW_ERROR_RATES,
                _P.READ_STATISTICS,
            }
        ),
        Role.CONTRIBUTOR: frozenset(
            {
                _P.CONTRIBUTE_MEDIA,
                _P.EDIT_METADATA,
                _P.SEARCH_HASHES,
                _P.TRIAGE,
                _P.VIEW_THUMBNAIL,
                _P.READ_NOTIFICATIONS,
            }
        ),
        Role.INVESTIGATOR: frozenset(
            {
                _P.SEARCH_HASHES,
                _P.SEARCH_METADATA,
                _P.SEARCH_SIMILAR,
                _P.VIEW_THUMBNAIL,
                _P.VIEW_CONTENT,
                _P.TRIAGE,
                _P.EDIT_METADATA,
                _P.MARK_IDENTIFIED,
                _P.EXPORT_HASHLIST,
                _P.READ_NOTIFICATIONS,
                _P.READ_HIT_REPORTS,
                _P.CLAIM_INVESTIGATION,
                _P.WRITE_CLUES,
                _P.APPROVE_HELP_REQUESTS,
                _P.READ_STATISTICS,
            }
        ),
        Role.REVIEWER: frozenset(
            {
                _P.REVIEW_HITS,
                _P.SEARCH_HASHES,
                _P.VIEW_THUMBNAIL,
                _P.READ_NOTIFICATIONS,
                _P.READ_HIT_REPORTS,
            }
        ),
        Role.AUDITOR: AUDIT_PERMISSIONS,
        Role.PLATFORM: frozenset({_P.MATCH_HASHES, _P.REPORT_HITS, _P.DOWNLOAD_HASHLIST}),
    }
)
"""Need-to-know, as a table: each role holds only what its work requires.

Every view of abuse material harms the victim again and exposes the viewer, so content (even a
thumbnail) goes only to the casework roles that must look: investigators identifying victims,
contributors categorising what they add, reviewers confirming a platform's hit. Full content is
for investigators alone.

- admin manages agencies, accounts and tokens, and sees no content or metadata by virtue of
  that role: running the system is not a reason to look at it.
- auditor reads and exports the audit trail and nothing else: oversight of who looked at what
  must not itself require looking.
- platform (a service account of an online service, used through an API token) may only ask
  whether a hash is known and report its own hits. It never sees metadata (series, victims, agencies) or content, and
  downloads the signed hash lists the operator published (hashes and indicator ids only, so
  it can match where its users' content is, sending nothing to us).
- only admin manages users and only auditor reads the audit trail, so the people who grant
  access and the people who check its use are different people.
- hits: a platform reports its own matches (and may upload the matched item afterwards) and
  learns each hit's status, never another platform's hits. Reviewers decide them. The report
  record a confirmed hit produces is read by reviewers (who wrote it) and investigators (it is
  the lead they follow up with the provider under their own legal process); not by platforms
  (it names our indicator and the reviewer), admins or auditors (the audit trail already
  records every decision). Error rates are counts, with no content or series: admins see them
  to decide which lists and indicators to withdraw.
- working together on a series (claims, clues, help requests) is casework: investigators only.
  Reading clues and claims and searching them is `search_metadata`; a help request's crop is a
  thumbnail (`view_thumbnail`). Its four-eyes approval is a second investigator of the asking
  agency (the services refuse the author). Statistics are counts with no content: investigators
  and admins (the hotline's operator) read them.
"""


def allowed(role: Role, permission: Permission) -> bool:
    """Whether an account with `role` may do `permission`; unknown values are refused."""
    return permission in ROLE_PERMISSIONS.get(role, frozenset())
