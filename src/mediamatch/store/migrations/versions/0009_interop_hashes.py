"""Pictures' hashes as stored and as displayed: `media_signals.displayed`.

A picture's PDQ is now the hash of its pixels as stored, as the PDQ reference, python-
threatexchange and HMA compute it, so hash lists and exports agree with other tools. Where EXIF
orientation turns the picture for a viewer, the hash of the turned picture is stored as a second
row with `displayed` true: searched by the catalogue, never exported.

Existing rows become `displayed = false`. A picture contributed before this revision with an
EXIF orientation other than 1 was stored with the hash of the turned picture only; that cannot
be told apart here (the file is not at hand to hash again), so such a row stays as it was and is
still exported.

Revision ID: 0009_interop_hashes
Revises: 0011_web
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_interop_hashes"
down_revision = "0011_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("media_signals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("displayed", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    """The displayed rows go: the old schema would take them for hashes as stored and export them."""
    op.execute(sa.text("DELETE FROM media_signals WHERE displayed"))
    with op.batch_alter_table("media_signals", schema=None) as batch_op:
        batch_op.drop_column("displayed")
