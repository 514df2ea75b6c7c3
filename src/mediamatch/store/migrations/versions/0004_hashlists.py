"""Published hash-list versions and agencies' consent to share with platforms.

Revision ID: 0004_hashlists
Revises: 0003_server
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_hashlists"
down_revision = "0003_server"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hashlist_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("filter", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("delta_path", sa.Text(), nullable=True),
        sa.Column("delta_sha256", sa.String(length=64), nullable=True),
        sa.Column("delta_size", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hashlist_versions")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_hashlist_versions_name")),
    )
    op.create_table(
        "platform_sharing_consents",
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_platform_sharing_consents_agency_id_agencies"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("agency_id", name=op.f("pk_platform_sharing_consents")),
    )


def downgrade() -> None:
    op.drop_table("platform_sharing_consents")
    op.drop_table("hashlist_versions")
