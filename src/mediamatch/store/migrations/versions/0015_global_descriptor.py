"""Global-descriptor embeddings of catalogued pictures and video frames (`media_embeddings`),
for the optional learned similarity signal (signals/global_descriptor.py).

Revision ID: 0015_global_descriptor
Revises: 0007_similarity
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_global_descriptor"
down_revision = "0007_similarity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media_embeddings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("signal", sa.String(length=32), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["media_id"], ["media_items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_media_embeddings_media_id"), "media_embeddings", ["media_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_media_embeddings_media_id"), table_name="media_embeddings")
    op.drop_table("media_embeddings")
