"""The server's settings, read once when the app is built (never at import)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from mediamatch.config import data_dir, default_db_url
from mediamatch.services.webhooks import WebhookPolicy


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Limits are part of security: every input the server accepts is bounded here."""

    db_url: str = field(default_factory=default_db_url)
    blob_root: Path = field(default_factory=lambda: data_dir() / "blobs")
    key_file: Path | None = None  # else $MEDIAMATCH_CONTENT_KEYS
    session_ttl: timedelta = timedelta(hours=8)
    max_upload_bytes: int = 64 * 1024 * 1024  # per request
    max_files_per_upload: int = 100
    max_hashes_per_query: int = 1000
    requests_per_minute: int = 600  # per account
    page_size_limit: int = 500
    secure_cookies: bool = True  # False only for plain-HTTP development on loopback
    # Networks agency webhooks may reach although private, over plain HTTP too (a lab's
    # receivers); everything else must be a public HTTPS address (see services/webhooks.py).
    webhook_allow: tuple[str, ...] = ()
    # Triage in the browser: where runs keep uploads, state and pictures (default: beside the
    # blob store); folders on the server's evidence volume a run may read (none: uploads only);
    # hashing processes per run (default: all cores).
    triage_root: Path | None = None
    evidence_roots: tuple[Path, ...] = ()
    triage_workers: int | None = None

    def triage_folder(self) -> Path:
        return self.triage_root or self.blob_root.parent / "triage-runs"

    def webhook_policy(self) -> WebhookPolicy:
        return WebhookPolicy.from_entries(self.webhook_allow)

    @classmethod
    def from_environment(cls, db_url: str | None = None) -> ServerSettings:
        key_file = os.environ.get("MEDIAMATCH_KEY_FILE")
        blob_root = os.environ.get("MEDIAMATCH_BLOB_ROOT")
        triage_root = os.environ.get("MEDIAMATCH_TRIAGE_ROOT")
        unless_default: dict[str, Any] = {"blob_root": Path(blob_root)} if blob_root else {}
        if triage_root:
            unless_default["triage_root"] = Path(triage_root)
        return cls(
            db_url=db_url or default_db_url(),
            key_file=Path(key_file) if key_file else None,
            webhook_allow=tuple(os.environ.get("MEDIAMATCH_WEBHOOK_ALLOW", "").split(",")),
            evidence_roots=tuple(Path(root) for root in os.environ.get("MEDIAMATCH_EVIDENCE_ROOTS", "").split(os.pathsep) if root),
            **unless_default,
        )
