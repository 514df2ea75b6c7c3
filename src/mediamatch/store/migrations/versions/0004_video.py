"""Videos in the catalogue: a duration per item and the stream time of each frame hash.

A video's frame hashes are `media_signals` rows of signal "vpdq" (one per distinct frame
hash, with its quality), so frames join the PDQ search like any signal; `timestamp` says
where in the video each one is, which a match reports as a time range.

Revision ID: 0004_video
Revises: 0003_server
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_video"
down_revision = "0003_server"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("media_items", sa.Column("duration", sa.Float(), nullable=True))
    op.add_column("media_signals", sa.Column("timestamp", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("media_signals") as batch:
        batch.drop_column("timestamp")
    with op.batch_alter_table("media_items") as batch:
        batch.drop_column("duration")
