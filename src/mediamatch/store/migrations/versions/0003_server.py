"""The shared server's notifications, the agencies interested in each series, and agency webhooks.

Revision ID: 0003_server
Revises: 0002_auth
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_server"
down_revision = "0002_auth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_notifications_agency_id_agencies"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["series_id"], ["series.id"], name=op.f("fk_notifications_series_id_series"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(op.f("ix_notifications_agency_id"), "notifications", ["agency_id"], unique=False)
    op.create_table(
        "series_interest",
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_series_interest_agency_id_agencies"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["series_id"], ["series.id"], name=op.f("fk_series_interest_series_id_series"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("agency_id", "series_id", name=op.f("pk_series_interest")),
    )
    op.create_table(
        "agency_webhooks",
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_agency_webhooks_agency_id_agencies"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("agency_id", name=op.f("pk_agency_webhooks")),
    )


def downgrade() -> None:
    op.drop_table("agency_webhooks")
    op.drop_table("series_interest")
    op.drop_index(op.f("ix_notifications_agency_id"), table_name="notifications")
    op.drop_table("notifications")
