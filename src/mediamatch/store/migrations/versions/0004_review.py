"""Platform hits and their human review: `hits`, `hit_reviews`, `hit_reports` and
`indicator_disputes` (an open dispute keeps an indicator out of later hash lists).

Hits and reports refer to `media_signals` without ON DELETE CASCADE: a report is the record of
a decision and must not vanish with its indicator, so deleting an indicator that has hits is
refused until someone decides what happens to those records.

Revision ID: 0004_review
Revises: 0003_server
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_review"
down_revision = "0003_server"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_label", sa.Text(), nullable=True),
        sa.Column("signal", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("signal_id", sa.Integer(), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=False),
        sa.Column("list_name", sa.String(length=200), nullable=True),
        sa.Column("list_version", sa.Integer(), nullable=True),
        sa.Column("reference", sa.String(length=500), nullable=False),
        sa.Column("stream_time", sa.Float(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'confirmed', 'rejected')", name=op.f("ck_hits_status_known")),
        sa.CheckConstraint("distance >= 0", name=op.f("ck_hits_distance_positive")),
        sa.ForeignKeyConstraint(["account_id"], ["users.id"], name=op.f("fk_hits_account_id_users")),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_hits_agency_id_agencies")),
        sa.ForeignKeyConstraint(["signal_id"], ["media_signals.id"], name=op.f("fk_hits_signal_id_media_signals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hits")),
        sa.UniqueConstraint("agency_id", "source", "signal_id", "signal", "value", "reference", name="uq_hits_report"),
    )
    op.create_index(op.f("ix_hits_agency_id"), "hits", ["agency_id"], unique=False)
    op.create_index(op.f("ix_hits_signal_id"), "hits", ["signal_id"], unique=False)
    op.create_index("ix_hits_status_reported_at", "hits", ["status", "reported_at"], unique=False)
    op.create_table(
        "hit_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hit_id", sa.Integer(), nullable=False),
        sa.Column("provider_agency_id", sa.Integer(), nullable=True),
        sa.Column("provider_name", sa.String(length=200), nullable=False),
        sa.Column("provider_country", sa.String(length=2), nullable=True),
        sa.Column("provider_reference", sa.String(length=500), nullable=False),
        sa.Column("hit_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stream_time", sa.Float(), nullable=True),
        sa.Column("signal", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("signal_id", sa.Integer(), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=False),
        sa.Column("material_type", sa.String(length=8), nullable=False),
        sa.Column("content_available", sa.Boolean(), nullable=False),
        sa.Column("action_taken", sa.Text(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("material_type IN ('known', 'new')", name=op.f("ck_hit_reports_material_type_known")),
        sa.ForeignKeyConstraint(["hit_id"], ["hits.id"], name=op.f("fk_hit_reports_hit_id_hits"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["provider_agency_id"], ["agencies.id"], name=op.f("fk_hit_reports_provider_agency_id_agencies")),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"], name=op.f("fk_hit_reports_reviewer_id_users")),
        sa.ForeignKeyConstraint(["signal_id"], ["media_signals.id"], name=op.f("fk_hit_reports_signal_id_media_signals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hit_reports")),
        sa.UniqueConstraint("hit_id", name=op.f("uq_hit_reports_hit_id")),
    )
    op.create_index(op.f("ix_hit_reports_provider_agency_id"), "hit_reports", ["provider_agency_id"], unique=False)
    op.create_table(
        "hit_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hit_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("action_taken", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("decision IN ('confirm', 'reject')", name=op.f("ck_hit_reviews_decision_known")),
        sa.ForeignKeyConstraint(["hit_id"], ["hits.id"], name=op.f("fk_hit_reviews_hit_id_hits"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"], name=op.f("fk_hit_reviews_reviewer_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hit_reviews")),
        sa.UniqueConstraint("hit_id", name=op.f("uq_hit_reviews_hit_id")),
    )
    op.create_table(
        "indicator_disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("signal_id", sa.Integer(), nullable=False),
        sa.Column("hit_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("disputed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disputed_by", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["disputed_by"], ["users.id"], name=op.f("fk_indicator_disputes_disputed_by_users")),
        sa.ForeignKeyConstraint(["hit_id"], ["hits.id"], name=op.f("fk_indicator_disputes_hit_id_hits"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["signal_id"], ["media_signals.id"], name=op.f("fk_indicator_disputes_signal_id_media_signals"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_disputes")),
    )
    op.create_index("ix_indicator_disputes_signal_id_resolved_at", "indicator_disputes", ["signal_id", "resolved_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_indicator_disputes_signal_id_resolved_at", table_name="indicator_disputes")
    op.drop_table("indicator_disputes")
    op.drop_table("hit_reviews")
    op.drop_index(op.f("ix_hit_reports_provider_agency_id"), table_name="hit_reports")
    op.drop_table("hit_reports")
    op.drop_index("ix_hits_status_reported_at", table_name="hits")
    op.drop_index(op.f("ix_hits_signal_id"), table_name="hits")
    op.drop_index(op.f("ix_hits_agency_id"), table_name="hits")
    op.drop_table("hits")
