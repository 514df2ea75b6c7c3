"""Statistics for the hotline and the agencies: what the catalogue's work adds up to.

Counts only, no content and no case detail: series added per month; victims identified per
month by identifying agency and its country; days from a series' first contribution to each
identification; matches per month, by agencies' triage and queries (an agency meeting a known
series for the first time, as `series_interest` records it) and by platforms (reported hits);
open investigations per agency. Every figure is one grouped query over indexed columns, so the
page stays fast on a catalogue of millions of items (benchmarks/bench_collab.py).
"""

from __future__ import annotations

from datetime import datetime, timezone
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
    """The month of a timestamp, in UTC, as cheaply as the back end gives it (`month_text`
    writes it as "YYYY-MM"). SQLite holds a time as naive UTC text ("2026-11-27 08:00:00.000000"),
    whose first seven characters are the month: `substr` is several times faster than
    `strftime` over every row. PostgreSQL truncates the timestamp (faster than `to_char`)."""
    if dialect == "sqlite":
        return func.substr(column, 1, 7)
    return func.date_trunc("month", func.timezone("UTC", column))


def month_text(value: str | datetime) -> str:
    return value.strftime("%Y-%m") if isinstance(value, datetime) else value


def statistics(session: Session) -> Statistics:
    dialect = session.get_bind().dialect.name
    return Statistics(
        series_added=_by_month(session, Series.created_at, dialect),
        victims_identified=_identified(session, dialect),
        days_to_identification=_days_to_identification(session),
        matches=_matches(session, dialect),
        open_investigations=_open_investigations(session),
    )


def _by_month(session: Session, column: sa.orm.InstrumentedAttribute[datetime], dialect: str) -> tuple[CountRow, ...]:
    month = month_of(column, dialect).label("month")
    rows = session.execute(select(month, func.count()).group_by(month).order_by(month))
    return tuple(CountRow(month_text(m), "", "", n) for m, n in rows)


def _identified(session: Session, dialect: str) -> tuple[CountRow, ...]:
    month = month_of(Victim.identified_at, dialect).label("month")
    rows = session.execute(
        select(month, Agency.name, Agency.country, func.count())
        .join(Agency, Agency.id == Victim.identified_by_id)
        .where(Victim.identified.is_(True), Victim.identified_at.is_not(None))
        .group_by(month, Agency.name, Agency.country)
        .order_by(month, Agency.name)
    )
    return tuple(CountRow(month_text(m), agency, country, n) for m, agency, country, n in rows)


def _days_to_identification(session: Session) -> tuple[float, ...]:
    """Per identified victim of a series: days from the series' first contribution to the
    identification. The first contribution is one index seek per series
    (`ix_contributions_series_id_contributed_at`), not a scan of every contribution."""
    first = select(func.min(Contribution.contributed_at)).where(Contribution.series_id == series_victims.c.series_id).scalar_subquery()
    rows = session.execute(
        select(Victim.identified_at, first)
        .join(series_victims, series_victims.c.victim_id == Victim.id)
        .where(Victim.identified.is_(True), Victim.identified_at.is_not(None))
    )
    return tuple(sorted(max(0.0, (_aware(at) - _aware(start)).total_seconds() / 86400) for at, start in rows if at is not None and start is not None))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)  # SQLite hands back naive UTC


def _matches(session: Session, dialect: str) -> tuple[CountRow, ...]:
    triage_month = month_of(SeriesInterest.first_at, dialect).label("month")
    platform_month = month_of(Hit.reported_at, dialect).label("month")
    triage = session.execute(select(triage_month, func.count()).where(SeriesInterest.reason == "matched").group_by(triage_month))
    platform = session.execute(select(platform_month, func.count()).group_by(platform_month))
    rows = [CountRow(month_text(m), TRIAGE, "", n) for m, n in triage] + [CountRow(month_text(m), PLATFORM, "", n) for m, n in platform]
    return tuple(sorted(rows, key=lambda row: (row.month, row.label)))


def _open_investigations(session: Session) -> tuple[CountRow, ...]:
    rows = session.execute(
        select(Agency.name, Agency.country, func.count())
        .join(Investigation, Investigation.agency_id == Agency.id)
        .where(Investigation.ended_at.is_(None))
        .group_by(Agency.name, Agency.country)
        .order_by(Agency.name)
    )
    return tuple(CountRow("", name, country, n) for name, country, n in rows)
