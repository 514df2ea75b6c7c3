"""Per-account wellness settings of the browser workspace (`wellness_settings`).

Revision ID: 0011_web
Revises: 0006_uncategorised
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_web"
down_revision = "0006_uncategorised"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wellness_settings",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("blur_px", sa.Integer(), nullable=False),
        sa.Column("greyscale", sa.Boolean(), nullable=False),
        sa.Column("thumb_px", sa.Integer(), nullable=False),
        sa.Column("muted", sa.Boolean(), nullable=False),
        sa.Column("autoplay", sa.Boolean(), nullable=False),
        sa.Column("break_minutes", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("blur_px BETWEEN 0 AND 64", name=op.f("ck_wellness_settings_blur_px_range")),
        sa.CheckConstraint("thumb_px BETWEEN 64 AND 1024", name=op.f("ck_wellness_settings_thumb_px_range")),
        sa.CheckConstraint("break_minutes BETWEEN 0 AND 480", name=op.f("ck_wellness_settings_break_minutes_range")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_wellness_settings_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_wellness_settings")),
    )


def downgrade() -> None:
    op.drop_table("wellness_settings")
