"""Uncategorised media items: `media_items.category` becomes nullable, NULL meaning that no
source stated a category.

Before, a VICS record without `Category` (a v1.2 known-file set of benign files, or a writer
that leaves out category 0) was stored as category 1 and so reached platforms' hash lists.
Now such an item is stored with NULL, which the hash-list filter never selects, until someone
categorises it. The range check (0-4) stays: SQL's CHECK passes NULL and still refuses any
other number. Existing rows keep their category: what was stored cannot be told apart from a
stated 1 after the fact.

On SQLite the table is recreated (batch mode; see `migrations/env.py`).

Revision ID: 0006_uncategorised
Revises: 0005_linear
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_uncategorised"
down_revision = "0005_linear"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("media_items", schema=None) as batch_op:
        batch_op.alter_column("category", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    """Refused while uncategorised items exist: the old schema would have to invent a category."""
    uncategorised = op.get_bind().scalar(sa.text("SELECT count(*) FROM media_items WHERE category IS NULL"))
    if uncategorised:
        raise RuntimeError(f"cannot downgrade 0006_uncategorised: {uncategorised} uncategorised item(s) would need a category")
    with op.batch_alter_table("media_items", schema=None) as batch_op:
        batch_op.alter_column("category", existing_type=sa.Integer(), nullable=False)
