"""Local features of catalogued pictures and video frames (`media_features`), for similarity
search (crops, rotations, pasted copies, related scenes).

Revision ID: 0007_similarity
Revises: 0013_web_triage
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_similarity"
down_revision = "0013_web_triage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media_features",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("signal", sa.String(length=32), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["media_id"], ["media_items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_media_features_media_id"), "media_features", ["media_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_media_features_media_id"), table_name="media_features")
    op.drop_table("media_features")
