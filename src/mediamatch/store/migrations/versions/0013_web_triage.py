"""Triage runs started in the browser and their rows, indexed for the results grid.

Revision ID: 0013_web_triage
Revises: 0008_collaboration
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_web_triage"
down_revision = "0008_collaboration"
branch_labels = None
depends_on = None

ROW_INDEXES = {
    "ix_triage_run_rows_status": ["run_id", "status", "seq"],
    "ix_triage_run_rows_series": ["run_id", "series", "seq"],
    "ix_triage_run_rows_media_kind": ["run_id", "media_kind", "seq"],
    "ix_triage_run_rows_category": ["run_id", "category", "seq"],
    "ix_triage_run_rows_path": ["run_id", "path", "seq"],
    "ix_triage_run_rows_size": ["run_id", "size", "seq"],
    "ix_triage_run_rows_distance": ["run_id", "best_distance", "seq"],
    "ix_triage_run_rows_media_id": ["media_id"],
}


def upgrade() -> None:
    op.create_table(
        "triage_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_triage_runs_agency_id_agencies"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_runs")),
    )
    op.create_index(op.f("ix_triage_runs_agency_id"), "triage_runs", ["agency_id"], unique=False)
    op.create_table(
        "triage_run_rows",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("media_kind", sa.String(length=16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("series", sa.String(length=200), nullable=True),
        sa.Column("category", sa.Integer(), nullable=True),
        sa.Column("category_set", sa.Boolean(), nullable=False),
        sa.Column("best_distance", sa.Integer(), nullable=True),
        sa.Column("media_id", sa.Integer(), nullable=True),
        sa.Column("known_from", sa.Text(), nullable=True),
        sa.Column("contributed_series", sa.String(length=200), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["triage_runs.id"], name=op.f("fk_triage_run_rows_run_id_triage_runs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "seq", name=op.f("pk_triage_run_rows")),
    )
    for name, columns in ROW_INDEXES.items():
        op.create_index(name, "triage_run_rows", columns, unique=False)


def downgrade() -> None:
    for name in ROW_INDEXES:
        op.drop_index(name, table_name="triage_run_rows")
    op.drop_table("triage_run_rows")
    op.drop_index(op.f("ix_triage_runs_agency_id"), table_name="triage_runs")
    op.drop_table("triage_runs")
