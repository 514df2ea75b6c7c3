"""The catalogue: agencies, cases, series, victims, offenders, media items, signals, contributions.

Revision ID: 0001_catalogue
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_catalogue"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agencies")),
        sa.UniqueConstraint("name", name=op.f("uq_agencies_name")),
    )
    op.create_table(
        "media_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=False),
        sa.Column("sha1", sa.String(length=40), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("category", sa.Integer(), nullable=False),
        sa.Column("baseline", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("category BETWEEN 0 AND 4", name=op.f("ck_media_items_category_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_items")),
        sa.UniqueConstraint("sha256", name=op.f("uq_media_items_sha256")),
    )
    with op.batch_alter_table("media_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_items_md5"), ["md5"], unique=False)
        batch_op.create_index(batch_op.f("ix_media_items_sha1"), ["sha1"], unique=False)

    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series")),
        sa.UniqueConstraint("name", name=op.f("uq_series_name")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_cases_agency_id_agencies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("agency_id", "reference", name=op.f("uq_cases_agency_id")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_agency_id"), ["agency_id"], unique=False)

    op.create_table(
        "media_series",
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["media_id"], ["media_items.id"], name=op.f("fk_media_series_media_id_media_items"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["series_id"], ["series.id"], name=op.f("fk_media_series_series_id_series"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("media_id", "series_id", name=op.f("pk_media_series")),
    )
    with op.batch_alter_table("media_series", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_series_series_id"), ["series_id"], unique=False)

    op.create_table(
        "media_signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("signal", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["media_id"], ["media_items.id"], name=op.f("fk_media_signals_media_id_media_items"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_signals")),
        sa.UniqueConstraint("media_id", "signal", "value", name=op.f("uq_media_signals_media_id")),
    )
    with op.batch_alter_table("media_signals", schema=None) as batch_op:
        batch_op.create_index("ix_media_signals_signal_value", ["signal", "value"], unique=False)

    op.create_table(
        "offenders",
        sa.Column("identified_by_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("identified", sa.Boolean(), nullable=False),
        sa.Column("identified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["identified_by_id"], ["agencies.id"], name=op.f("fk_offenders_identified_by_id_agencies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offenders")),
        sa.UniqueConstraint("reference", name=op.f("uq_offenders_reference")),
    )
    op.create_table(
        "victims",
        sa.Column("identified_by_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("identified", sa.Boolean(), nullable=False),
        sa.Column("identified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["identified_by_id"], ["agencies.id"], name=op.f("fk_victims_identified_by_id_agencies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_victims")),
        sa.UniqueConstraint("reference", name=op.f("uq_victims_reference")),
    )
    op.create_table(
        "contributions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column("original_name", sa.Text(), nullable=False),
        sa.Column("contributed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_contributions_agency_id_agencies")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_contributions_case_id_cases")),
        sa.ForeignKeyConstraint(["media_id"], ["media_items.id"], name=op.f("fk_contributions_media_id_media_items"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["series_id"], ["series.id"], name=op.f("fk_contributions_series_id_series")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contributions")),
    )
    with op.batch_alter_table("contributions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contributions_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contributions_media_id"), ["media_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contributions_series_id"), ["series_id"], unique=False)

    op.create_table(
        "media_victims",
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("victim_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["media_id"], ["media_items.id"], name=op.f("fk_media_victims_media_id_media_items"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["victim_id"], ["victims.id"], name=op.f("fk_media_victims_victim_id_victims"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("media_id", "victim_id", name=op.f("pk_media_victims")),
    )
    with op.batch_alter_table("media_victims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_victims_victim_id"), ["victim_id"], unique=False)

    op.create_table(
        "series_offenders",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("offender_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["offender_id"], ["offenders.id"], name=op.f("fk_series_offenders_offender_id_offenders"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["series_id"], ["series.id"], name=op.f("fk_series_offenders_series_id_series"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("series_id", "offender_id", name=op.f("pk_series_offenders")),
    )
    with op.batch_alter_table("series_offenders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_series_offenders_offender_id"), ["offender_id"], unique=False)

    op.create_table(
        "series_victims",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("victim_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["series_id"], ["series.id"], name=op.f("fk_series_victims_series_id_series"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["victim_id"], ["victims.id"], name=op.f("fk_series_victims_victim_id_victims"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("series_id", "victim_id", name=op.f("pk_series_victims")),
    )
    with op.batch_alter_table("series_victims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_series_victims_victim_id"), ["victim_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("series_victims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_series_victims_victim_id"))

    op.drop_table("series_victims")
    with op.batch_alter_table("series_offenders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_series_offenders_offender_id"))

    op.drop_table("series_offenders")
    with op.batch_alter_table("media_victims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_victims_victim_id"))

    op.drop_table("media_victims")
    with op.batch_alter_table("contributions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contributions_series_id"))
        batch_op.drop_index(batch_op.f("ix_contributions_media_id"))
        batch_op.drop_index(batch_op.f("ix_contributions_agency_id"))

    op.drop_table("contributions")
    op.drop_table("victims")
    op.drop_table("offenders")
    with op.batch_alter_table("media_signals", schema=None) as batch_op:
        batch_op.drop_index("ix_media_signals_signal_value")

    op.drop_table("media_signals")
    with op.batch_alter_table("media_series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_series_series_id"))

    op.drop_table("media_series")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_agency_id"))

    op.drop_table("cases")
    op.drop_table("series")
    with op.batch_alter_table("media_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_items_sha1"))
        batch_op.drop_index(batch_op.f("ix_media_items_md5"))

    op.drop_table("media_items")
    op.drop_table("agencies")
