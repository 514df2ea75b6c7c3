"""Hash-only media items and what Project VIC / ICSE records carry, for import and export.

- `media_items.sha256` becomes nullable (still unique where present): an item imported from
  another system's hash list is often known by MD5/SHA-1 (and PhotoDNA) only.
- `media_items.distributed`, `tags`, `submissions`, `file_available`: the VICS `IsDistributed`
  and `Tags` and the ICSE "Number of submissions" and "File Available" values, kept so an
  export says what the import was told. None means the source did not say.
- `media_signals.value` widens from 128 to 512 characters: a PhotoDNA value is 144 bytes,
  192 characters in base64 or 288 in hex, and is stored as it came.

On SQLite both tables are recreated (batch mode); `migrations/env.py` runs migrations with
foreign keys off there, so dropping the old copy cascades to nothing.

Revision ID: 0004_interop
Revises: 0003_server
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_interop"
down_revision = "0003_server"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("media_items", schema=None) as batch_op:
        batch_op.alter_column("sha256", existing_type=sa.String(length=64), nullable=True)
        batch_op.add_column(sa.Column("distributed", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("tags", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("submissions", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("file_available", sa.Boolean(), nullable=True))
    with op.batch_alter_table("media_signals", schema=None) as batch_op:
        batch_op.alter_column("value", existing_type=sa.String(length=128), type_=sa.String(length=512), existing_nullable=False)


def downgrade() -> None:
    """Refused while hash-only items or long signal values exist: narrowing would lose them."""
    bind = op.get_bind()
    hash_only = bind.scalar(sa.text("SELECT count(*) FROM media_items WHERE sha256 IS NULL"))
    long_values = bind.scalar(sa.text("SELECT count(*) FROM media_signals WHERE length(value) > 128"))
    if hash_only or long_values:
        raise RuntimeError(f"cannot downgrade 0004_interop: {hash_only} hash-only item(s) and {long_values} signal value(s) over 128 characters would be lost")
    with op.batch_alter_table("media_signals", schema=None) as batch_op:
        batch_op.alter_column("value", existing_type=sa.String(length=512), type_=sa.String(length=128), existing_nullable=False)
    with op.batch_alter_table("media_items", schema=None) as batch_op:
        batch_op.drop_column("file_available")
        batch_op.drop_column("submissions")
        batch_op.drop_column("tags")
        batch_op.drop_column("distributed")
        batch_op.alter_column("sha256", existing_type=sa.String(length=64), nullable=False)
