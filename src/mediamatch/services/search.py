"""Full-text search over clues, comments and series (name and notes), filtered by country,
clue type, agency and date, and never past what the searching agency may see.

One table holds every searchable text (`search_documents`); the back end's own text index
answers the words: SQLite's FTS5 table, PostgreSQL's GIN index on `to_tsvector('simple', ...)`
(both made by migration 0008). A query is taken as words, all of which must occur; operators
of either engine's query language are not passed through, so a stray quote or `NEAR` in what
someone typed cannot break or widen a search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mediamatch.catalog.collaboration import Actor, SearchHit
from mediamatch.store.models.catalogue import Agency, Series
from mediamatch.store.models.collaboration import SEARCH_FTS_TABLE, SearchDocument

MAX_WORDS = 16
DEFAULT_LIMIT = 50
_WORD = re.compile(r"\w+")
_FTS = sa.table(SEARCH_FTS_TABLE, sa.column("rowid"))


@dataclass(frozen=True, slots=True)
class SearchFilters:
    country: str | None = None  # ISO code of the clue's country
    kind: str | None = None  # clue type
    agency: str | None = None  # the author's agency, by name
    since: datetime | None = None
    until: datetime | None = None


def words(query: str) -> list[str]:
    """The words of what was typed, lower-cased, at most MAX_WORDS."""
    return [word.lower() for word in _WORD.findall(query)][:MAX_WORDS]


def search(session: Session, viewer: Actor, query: str, filters: SearchFilters = SearchFilters(), limit: int = DEFAULT_LIMIT) -> list[SearchHit]:
    """Documents holding every word of `query` that the viewer's agency may see, newest first."""
    terms = words(query)
    if not terms:
        return []
    statement = (
        select(SearchDocument, Series.name, Agency.name)
        .outerjoin(Series, Series.id == SearchDocument.series_id)
        .outerjoin(Agency, Agency.id == SearchDocument.agency_id)
        .where(or_(SearchDocument.visible_to.is_(None), SearchDocument.visible_to == viewer.agency_id))
        .order_by(SearchDocument.created_at.desc(), SearchDocument.id.desc())
        .limit(limit)
    )
    if session.get_bind().dialect.name == "sqlite":
        match = " ".join(f'"{term}"' for term in terms)  # quoted: plain words, no operators
        statement = statement.join(_FTS, _FTS.c.rowid == SearchDocument.id).where(sa.literal_column(SEARCH_FTS_TABLE).op("MATCH")(match))
    else:  # the same expression as the GIN index, so the index answers it
        simple: sa.ColumnElement[str] = sa.literal_column("'simple'")
        statement = statement.where(sa.func.to_tsvector(simple, SearchDocument.text).op("@@")(sa.func.plainto_tsquery(simple, " ".join(terms))))
    statement = _filtered(statement, filters)
    return [
        SearchHit(document.kind, document.object_id, series, agency, document.clue_kind, document.country, document.created_at, document.text)
        for document, series, agency in session.execute(statement)
    ]


def _filtered(statement: sa.Select, filters: SearchFilters) -> sa.Select:
    if filters.country:
        statement = statement.where(SearchDocument.country == filters.country)
    if filters.kind:
        statement = statement.where(SearchDocument.clue_kind == filters.kind)
    if filters.agency:
        statement = statement.where(Agency.name == filters.agency)
    if filters.since:
        statement = statement.where(SearchDocument.created_at >= _utc(filters.since))
    if filters.until:
        statement = statement.where(SearchDocument.created_at < _utc(filters.until))
    return statement


def _utc(moment: datetime) -> datetime:
    """A date typed without a zone is taken as UTC, as the catalogue stores every time."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
