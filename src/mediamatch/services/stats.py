"""Statistics for the hotline and the agencies: what the catalogue's work adds up to.

Counts only, no content and no case detail: series added per month; victims identified per
month by identifying agency and its country; days from a series' first contribution to each
identification; matches per month, by agencies' triage and queries (an agency meeting a known
series for the first time, as `series_interest` records it) and by platforms (reported hits);
open investigations per agency. Every figure is one grouped query over indexed columns, so the
page stays fast on a catalogue of millions of items (benchmarks/bench_collab.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mediamatch.catalog.collaboration import CountRow, Statistics
from mediamatch.store.models.catalogue import Agency, Contribution, Series, Victim, series_victims
from mediamatch.store.models.collaboration import Investigation
from mediamatch.store.models.review import Hit
from mediamatch.store.models.server import SeriesInterest

TRIAGE = "triage"
PLATFORM = "platform"


def month_of(column: sa.orm.InstrumentedAttribute[datetime] | sa.orm.InstrumentedAttribute[datetime | None], dialect: str) -> sa.ColumnElement[Any]:
    """The month of a timestamp, in UTC, as cheaply as the back end gives it, to group by.
    SQLite holds a time as naive UTC text ("2026-11-27 08:00:00.000000"), whose first seven
    characters are the month ("YYYY-MM"): `substr` is several times faster than `strftime` over
    every row. PostgreSQL truncates the timestamp (faster than `to_char` over every row; the few
    groups are written as text by `month_label`)."""
    if dialect == "sqlite":
        return func.substr(column, 1, 7)
    return func.date_trunc("month", func.timezone("UTC", column))


def month_label(month: sa.ColumnElement[Any], dialect: str) -> sa.ColumnElement[str]:
    """A grouped `month_of` as "YYYY-MM" text: formatted once per group in the database, so no
    timestamp of each group crosses to Python to be parsed and formatted again."""
    return month if dialect == "sqlite" else func.to_char(month, "YYYY-MM")


def days_between(start: sa.ColumnElement[Any], end: sa.ColumnElement[Any] | sa.orm.InstrumentedAttribute[Any], dialect: str) -> sa.ColumnElement[Any]:
    """Days from `start` to `end` as a float, computed by the back end: one float per row comes
    back instead of two time-zone-aware timestamps to parse and subtract in Python (half the
    client's CPU time for this figure at 5,000 identifications). SQLite's `julianday`
    difference is rounded to the millisecond so whole days stay whole."""
    if dialect == "sqlite":
        return func.round((func.julianday(end) - func.julianday(start)) * 86_400_000) / 86_400_000.0
    return sa.cast(func.extract("epoch", end - start), sa.Float) / 86_400


def statistics(session: Session) -> Statistics:
    dialect = session.get_bind().dialect.name
    return Statistics(
        series_added=_by_month(session, Series.created_at, dialect),
        victims_identified=_identified(session, dialect),
        days_to_identification=_days_to_identification(session, dialect),
        matches=_matches(session, dialect),
        open_investigations=_open_investigations(session),
    )


def _by_month(session: Session, column: sa.orm.InstrumentedAttribute[datetime], dialect: str) -> tuple[CountRow, ...]:
    month = month_of(column, dialect)
    rows = session.execute(select(month_label(month, dialect), func.count()).group_by(month).order_by(month))
    return tuple(CountRow(m, "", "", n) for m, n in rows)


def _identified(session: Session, dialect: str) -> tuple[CountRow, ...]:
    month = month_of(Victim.identified_at, dialect)
    rows = session.execute(
        select(month_label(month, dialect), Agency.name, Agency.country, func.count())
        .join(Agency, Agency.id == Victim.identified_by_id)
        .where(Victim.identified.is_(True), Victim.identified_at.is_not(None))
        .group_by(month, Agency.name, Agency.country)
        .order_by(month, Agency.name)
    )
    return tuple(CountRow(m, agency, country, n) for m, agency, country, n in rows)


def _days_to_identification(session: Session, dialect: str) -> tuple[float, ...]:
    """Per identified victim of a series: days from the series' first contribution to the
    identification. The first contribution is one index-only seek per series
    (`ix_contributions_series_id_contributed_at`), not a scan of every contribution; the days
    are counted by the back end, so only one float per victim comes back."""
    first = select(func.min(Contribution.contributed_at)).where(Contribution.series_id == series_victims.c.series_id).scalar_subquery()
    rows = session.scalars(
        select(days_between(first, Victim.identified_at, dialect))
        .join(series_victims, series_victims.c.victim_id == Victim.id)
        .where(Victim.identified.is_(True), Victim.identified_at.is_not(None))
    )
    return tuple(sorted(max(0.0, days) for days in rows if days is not None))


def _matches(session: Session, dialect: str) -> tuple[CountRow, ...]:
    """Agencies' first matches with a series and platforms' hits, by month: one round trip."""
    triage_month = month_of(SeriesInterest.first_at, dialect)
    platform_month = month_of(Hit.reported_at, dialect)
    triage = select(month_label(triage_month, dialect).label("month"), sa.literal(TRIAGE).label("source"), func.count().label("n"))
    platform = select(month_label(platform_month, dialect).label("month"), sa.literal(PLATFORM).label("source"), func.count().label("n"))
    both = sa.union_all(triage.where(SeriesInterest.reason == "matched").group_by(triage_month), platform.group_by(platform_month)).subquery()
    rows = session.execute(select(both.c.month, both.c.source, both.c.n).order_by(both.c.month, both.c.source))
    return tuple(CountRow(m, source, "", n) for m, source, n in rows)


def _open_investigations(session: Session) -> tuple[CountRow, ...]:
    rows = session.execute(
        select(Agency.name, Agency.country, func.count())
        .join(Investigation, Investigation.agency_id == Agency.id)
        .where(Investigation.ended_at.is_(None))
        .group_by(Agency.name, Agency.country)
        .order_by(Agency.name)
    )
    return tuple(CountRow("", name, country, n) for name, country, n in rows)
