"""One linear history from here on: joins the five heads the feature areas grew side by side.

Until this revision each feature area kept its own branch (audit; auth -> server -> hashlists,
interop, review, video), so a database held up to five heads and `alembic upgrade heads` was the
only way up. A database at any mix of those heads upgrades to this one; every later migration
names `0005_linear` (or its successor) as its single `down_revision` (docs/architecture.md,
"Adding a migration"). The earlier revisions keep their ids, only their branch labels are gone.

Revision ID: 0005_linear
Revises: 0002_audit, 0004_hashlists, 0004_interop, 0004_review, 0004_video
"""

revision = "0005_linear"
down_revision = ("0002_audit", "0004_hashlists", "0004_interop", "0004_review", "0004_video")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """A merge point: no schema change."""


def downgrade() -> None:
    """A merge point: no schema change."""
