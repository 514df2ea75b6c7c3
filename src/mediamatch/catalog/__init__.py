"""Domain records with no I/O: what services and front ends pass around instead of ORM rows."""

from mediamatch.catalog.records import (
    Category,
    ContributionOutcome,
    MatchDetail,
    SeriesDetail,
    SeriesSummary,
    TimelineEvent,
)

__all__ = ["Category", "ContributionOutcome", "MatchDetail", "SeriesDetail", "SeriesSummary", "TimelineEvent"]
