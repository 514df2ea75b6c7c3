"""Typed audit events: what one person did, to what, from where.

An event is built where the action happens (a route, a service, a CLI command) and handed to
`audit.trail.record`, which stamps the time and chains it. Actions are an enum so a typo cannot
create a new, unsearchable kind of event; the database column is plain text, so adding an
action later needs no schema change and old rows stay readable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class AuditAction(StrEnum):
    """Everything the audit trail records. Values are storage keys: never rename one."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    SEARCH = "search"
    VIEW_THUMBNAIL = "view_thumbnail"
    VIEW_CONTENT = "view_content"
    UPLOAD = "upload"
    METADATA_CHANGE = "metadata_change"
    IDENTIFY = "identify"
    EXPORT = "export"
    EXCHANGE_EXPORTED = "exchange_exported"  # Project VIC / ICSE / CSV hash list written
    EXCHANGE_IMPORTED = "exchange_imported"
    PERMISSION_CHANGE = "permission_change"
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"
    USER_CREATED = "user_created"
    USER_DISABLED = "user_disabled"
    HIT_REVIEWED = "hit_reviewed"
    HASHLIST_EXPORTED = "hashlist_exported"
    HASHLIST_DOWNLOADED = "hashlist_downloaded"
    SHARING_CONSENT = "sharing_consent"
    HIT_REPORTED = "hit_reported"
    HIT_CONTENT_UPLOADED = "hit_content_uploaded"
    VIEW_HIT_COMPARISON = "view_hit_comparison"
    ENROLMENT_ISSUED = "enrolment_issued"  # an account created or its password reset: a one-time code made
    ENROLLED = "enrolled"  # a code redeemed: the person set their own password
    ENROL_FAILED = "enrol_failed"
    INVESTIGATION_CLAIMED = "investigation_claimed"
    INVESTIGATION_ENDED = "investigation_ended"
    CLUE_CREATED = "clue_created"
    CLUE_EDITED = "clue_edited"
    CLUE_DELETED = "clue_deleted"
    COMMENT_POSTED = "comment_posted"
    HELP_REQUESTED = "help_requested"  # a help request and its crop made, awaiting a second person
    HELP_REQUEST_DECIDED = "help_request_decided"  # the four-eyes approval or rejection
    SUBSCRIPTION_CHANGED = "subscription_changed"
    TRIAGE = "triage"  # a triage started in the browser, or a CLI report opened there


def canonical_json(detail: Mapping[str, Any]) -> str:
    """The one text form of `detail` that is stored and hashed: sorted keys, no spaces, UTF-8
    kept as is. NaN and infinities are refused, since JSON readers disagree about them and a
    detail one reader cannot parse could not be checked by an auditor's own tools."""
    return json.dumps(dict(detail), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One action by one person (or service account) of one agency.

    `object_type`/`object_id` name what was acted on (`media`, `42`; `series`, `Lark`; empty
    for a login). `detail` holds what else an auditor needs (a search's criteria, a changed
    field's old and new value) and must be JSON-serialisable: it is checked here, so a bad
    detail fails where the event is built rather than inside someone else's transaction.
    `source_ip` is empty for local command-line use.
    """

    actor: str
    agency: str
    action: AuditAction
    object_type: str = ""
    object_id: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    source_ip: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", AuditAction(self.action))
        object.__setattr__(self, "object_id", str(self.object_id))  # media ids are ints; the column is text
        object.__setattr__(self, "detail", MappingProxyType(dict(self.detail)))
        if not self.actor:
            raise ValueError("an audit event needs an actor")
        canonical_json(self.detail)

    @property
    def detail_json(self) -> str:
        return canonical_json(self.detail)
