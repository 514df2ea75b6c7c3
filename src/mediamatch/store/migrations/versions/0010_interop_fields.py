"""Fields of other systems' records kept to be written back: `media_exchange_fields`, one row
per item an import said them about (the sender's id, such as ICSE's `Image ID`; VICS
`DateUpdated`, `IsPrecategorized`, `PrecategorizationSource`, `Comments`). A new table: no
existing row changes.

Revision ID: 0010_interop_fields
Revises: 0006_uncategorised
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_interop_fields"
down_revision = "0006_uncategorised"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media_exchange_fields",
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.String(length=100), nullable=True),
        sa.Column("date_updated", sa.String(length=40), nullable=True),
        sa.Column("precategorized", sa.Boolean(), nullable=True),
        sa.Column("precategorization_source", sa.String(length=200), nullable=True),
        sa.Column("comments", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["media_id"], ["media_items.id"], name=op.f("fk_media_exchange_fields_media_id_media_items"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("media_id", name=op.f("pk_media_exchange_fields")),
    )


def downgrade() -> None:
    op.drop_table("media_exchange_fields")
