"""Working together on a series: investigations (claims), clues and their revisions,
discussion threads, help requests with four-eyes approval, specialists' subscriptions, and the
full-text search over clues, comments and series.

The search index is made here by hand, per back end, and is no model
(`store.models.collaboration.described_by_models` keeps autogenerate away from it):

- SQLite: an FTS5 table over `search_documents` (external content), kept in step by triggers;
- PostgreSQL: a GIN index on `to_tsvector('simple', text)` (the 'simple' configuration: clues are
  written in many languages, so no stemming of one of them).

Series reach `search_documents` through triggers on `series` (insert, and update of name or
notes), so a series made by any code path is findable; existing series are copied in here. A
later migration that recreates `series` on SQLite (batch mode) must create those triggers again.

Revision ID: 0008_collaboration
Revises: 0014_enrolment
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_collaboration"
down_revision = "0014_enrolment"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("media_id", sa.Integer(), nullable=True),
        sa.Column("box_left", sa.Integer(), nullable=True),
        sa.Column("box_top", sa.Integer(), nullable=True),
        sa.Column("box_width", sa.Integer(), nullable=True),
        sa.Column("box_height", sa.Integer(), nullable=True),
        sa.Column("time_start", sa.Float(), nullable=True),
        sa.Column("time_end", sa.Float(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("confidence", sa.Integer(), nullable=False),
        sa.Column("visibility", sa.String(length=8), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('location', 'language', 'object', 'clothing', 'product', 'landscape', 'audio', 'other')", name=op.f("ck_clues_kind_known")
        ),
        sa.CheckConstraint("visibility IN ('all', 'agency')", name=op.f("ck_clues_visibility_known")),
        sa.CheckConstraint("box_width IS NULL OR (box_width > 0 AND box_height > 0 AND box_left >= 0 AND box_top >= 0)", name=op.f("ck_clues_box_valid")),
        sa.CheckConstraint("confidence BETWEEN 0 AND 100", name=op.f("ck_clues_confidence_range")),
        sa.CheckConstraint("time_start IS NULL OR (time_start >= 0 AND time_end >= time_start)", name=op.f("ck_clues_time_valid")),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_clues_agency_id_agencies")),
        sa.ForeignKeyConstraint(["media_id"], ["media_items.id"], name=op.f("fk_clues_media_id_media_items"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["series_id"], ["series.id"], name=op.f("fk_clues_series_id_series"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clues")),
    )
    with op.batch_alter_table("clues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clues_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_clues_media_id"), ["media_id"], unique=False)
        batch_op.create_index("ix_clues_series_id_deleted_at", ["series_id", "deleted_at"], unique=False)

    op.create_table(
        "investigations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column("media_id", sa.Integer(), nullable=True),
        sa.Column("case_reference", sa.String(length=200), nullable=False),
        sa.Column("contact", sa.String(length=500), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_kind", sa.String(length=16), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("ended_by", sa.String(length=200), nullable=True),
        sa.Column("handed_to_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("end_kind IS NULL OR end_kind IN ('closed', 'handed_over')", name=op.f("ck_investigations_end_kind_known")),
        sa.CheckConstraint(
            "(CASE WHEN series_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN media_id IS NULL THEN 0 ELSE 1 END) = 1", name=op.f("ck_investigations_one_target")
        ),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_investigations_agency_id_agencies")),
        sa.ForeignKeyConstraint(["handed_to_id"], ["agencies.id"], name=op.f("fk_investigations_handed_to_id_agencies")),
        sa.ForeignKeyConstraint(["media_id"], ["media_items.id"], name=op.f("fk_investigations_media_id_media_items"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["series_id"], ["series.id"], name=op.f("fk_investigations_series_id_series"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_investigations")),
    )
    with op.batch_alter_table("investigations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_investigations_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index("ix_investigations_media_id_ended_at", ["media_id", "ended_at"], unique=False)
        batch_op.create_index("ix_investigations_series_id_ended_at", ["series_id", "ended_at"], unique=False)

    op.create_table(
        "search_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("visible_to", sa.Integer(), nullable=True),
        sa.Column("clue_kind", sa.String(length=16), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('clue', 'comment', 'series')", name=op.f("ck_search_documents_kind_known")),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_search_documents_agency_id_agencies")),
        sa.ForeignKeyConstraint(["series_id"], ["series.id"], name=op.f("fk_search_documents_series_id_series"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_documents")),
    )
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.create_index("ix_search_documents_kind_object_id", ["kind", "object_id"], unique=True)

    op.create_table(
        "clue_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clue_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["clue_id"], ["clues.id"], name=op.f("fk_clue_revisions_clue_id_clues"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clue_revisions")),
    )
    with op.batch_alter_table("clue_revisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clue_revisions_clue_id"), ["clue_id"], unique=False)

    op.create_table(
        "help_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clue_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("countries", sa.String(length=400), nullable=False),
        sa.Column("crop_sha256", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('awaiting_approval', 'sent', 'rejected')", name=op.f("ck_help_requests_status_known")),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_help_requests_agency_id_agencies")),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_help_requests_author_id_users")),
        sa.ForeignKeyConstraint(["clue_id"], ["clues.id"], name=op.f("fk_help_requests_clue_id_clues"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_help_requests_decided_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_help_requests")),
    )
    with op.batch_alter_table("help_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_help_requests_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_help_requests_clue_id"), ["clue_id"], unique=False)

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_subscriptions_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subscriptions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clue_id", sa.Integer(), nullable=True),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column("help_request_id", sa.Integer(), nullable=True),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(CASE WHEN clue_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN series_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN help_request_id IS NULL THEN 0 ELSE 1 END) = 1",
            name=op.f("ck_comments_one_thread"),
        ),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_comments_agency_id_agencies")),
        sa.ForeignKeyConstraint(["clue_id"], ["clues.id"], name=op.f("fk_comments_clue_id_clues"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["help_request_id"], ["help_requests.id"], name=op.f("fk_comments_help_request_id_help_requests"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["series_id"], ["series.id"], name=op.f("fk_comments_series_id_series"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_comments_clue_id"), ["clue_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_comments_help_request_id"), ["help_request_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_comments_series_id"), ["series_id"], unique=False)

    with op.batch_alter_table("contributions", schema=None) as batch_op:
        batch_op.create_index("ix_contributions_series_id_contributed_at", ["series_id", "contributed_at"], unique=False)
    _create_search_index()


def downgrade() -> None:
    _drop_search_index()
    with op.batch_alter_table("contributions", schema=None) as batch_op:
        batch_op.drop_index("ix_contributions_series_id_contributed_at")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comments_series_id"))
        batch_op.drop_index(batch_op.f("ix_comments_help_request_id"))
        batch_op.drop_index(batch_op.f("ix_comments_clue_id"))

    op.drop_table("comments")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscriptions_user_id"))

    op.drop_table("subscriptions")
    with op.batch_alter_table("help_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_help_requests_clue_id"))
        batch_op.drop_index(batch_op.f("ix_help_requests_agency_id"))

    op.drop_table("help_requests")
    with op.batch_alter_table("clue_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clue_revisions_clue_id"))

    op.drop_table("clue_revisions")
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_search_documents_kind_object_id")

    op.drop_table("search_documents")
    with op.batch_alter_table("investigations", schema=None) as batch_op:
        batch_op.drop_index("ix_investigations_series_id_ended_at")
        batch_op.drop_index("ix_investigations_media_id_ended_at")
        batch_op.drop_index(batch_op.f("ix_investigations_agency_id"))

    op.drop_table("investigations")
    with op.batch_alter_table("clues", schema=None) as batch_op:
        batch_op.drop_index("ix_clues_series_id_deleted_at")
        batch_op.drop_index(batch_op.f("ix_clues_media_id"))
        batch_op.drop_index(batch_op.f("ix_clues_agency_id"))

    op.drop_table("clues")


SERIES_TEXT = "new.name || ' ' || coalesce(new.notes, '')"
SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE search_documents_fts USING fts5(text, content='search_documents', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN INSERT INTO search_documents_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN "
    "INSERT INTO search_documents_fts(search_documents_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER search_documents_au AFTER UPDATE OF text ON search_documents BEGIN "
    "INSERT INTO search_documents_fts(search_documents_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO search_documents_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER series_search_ai AFTER INSERT ON series BEGIN "
    f"INSERT INTO search_documents (kind, object_id, series_id, created_at, text) VALUES ('series', new.id, new.id, new.created_at, {SERIES_TEXT}); END",
    "CREATE TRIGGER series_search_au AFTER UPDATE OF name, notes ON series BEGIN "
    f"UPDATE search_documents SET text = {SERIES_TEXT} WHERE kind = 'series' AND object_id = new.id; END",
)
POSTGRESQL_SEARCH = (
    "CREATE INDEX ix_search_documents_text_fts ON search_documents USING gin (to_tsvector('simple', text))",
    "CREATE FUNCTION series_search_document() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP = 'INSERT' THEN "
    f"INSERT INTO search_documents (kind, object_id, series_id, created_at, text) VALUES ('series', new.id, new.id, new.created_at, {SERIES_TEXT}); "
    f"ELSE UPDATE search_documents SET text = {SERIES_TEXT} WHERE kind = 'series' AND object_id = new.id; "
    "END IF; RETURN new; END $$",
    "CREATE TRIGGER series_search AFTER INSERT OR UPDATE OF name, notes ON series FOR EACH ROW EXECUTE FUNCTION series_search_document()",
)
EXISTING_SERIES = (
    "INSERT INTO search_documents (kind, object_id, series_id, created_at, text) "
    "SELECT 'series', id, id, created_at, name || ' ' || coalesce(notes, '') FROM series"
)


def _create_search_index() -> None:
    bind = op.get_bind()
    for statement in SQLITE_SEARCH if bind.dialect.name == "sqlite" else POSTGRESQL_SEARCH:
        bind.exec_driver_sql(statement)
    bind.exec_driver_sql(EXISTING_SERIES)


def _drop_search_index() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("series_search_ai", "series_search_au", "search_documents_ai", "search_documents_ad", "search_documents_au"):
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        bind.exec_driver_sql("DROP TABLE IF EXISTS search_documents_fts")
    else:
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS series_search ON series")
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS series_search_document()")
