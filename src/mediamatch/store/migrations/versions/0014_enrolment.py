"""Enrolment codes: an account created or reset by an administrator waits for its person to set
their own password with a one-time code (store/models/enrolment.py).

Revision ID: 0014_enrolment
Revises: 0009_interop_hashes
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_enrolment"
down_revision = "0009_interop_hashes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enrolments",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_enrolments_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_enrolments")),
    )


def downgrade() -> None:
    op.drop_table("enrolments")
