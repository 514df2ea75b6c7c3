"""Contributing known media: hash the files, store each distinct content once, record who
contributed it, and tell the contributor at once what was already known.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Engine

from mediamatch.catalog.records import Category, ContributionOutcome
from mediamatch.media.hashing import hash_many
from mediamatch.catalog.hashes import HashRecord, Source
from mediamatch.store import repo
from mediamatch.store.db import session_scope

COMMIT_EVERY = 200


@dataclass(frozen=True, slots=True)
class ContributionRequest:
    """What the contributor states about every file of one upload."""

    series: str
    category: int = Category.CHILD_ABUSE_MATERIAL
    baseline: bool = False
    victim_identified: bool = False
    agency: str | None = None
    country: str = "XX"
    case: str | None = None


def contribute(
    engine: Engine,
    sources: Iterable[Source],
    request: ContributionRequest,
    *,
    workers: int | None = None,
    on_outcome: Callable[[ContributionOutcome], None] | None = None,
) -> list[ContributionOutcome]:
    """Add files to the catalogue; one outcome per file, in input order.

    Files that cannot be hashed are reported and never stored. Work is committed in batches,
    so an interrupted contribution keeps what it finished and a re-run adds contributions,
    never duplicate items.
    """
    Category(request.category)  # refuse an unknown category before hashing anything
    outcomes: list[ContributionOutcome] = []
    batch: list[HashRecord] = []
    for record in hash_many(sources, workers=workers):
        batch.append(record)
        if len(batch) >= COMMIT_EVERY:
            outcomes += _store(engine, batch, request, on_outcome)
            batch = []
    if batch:
        outcomes += _store(engine, batch, request, on_outcome)
    return outcomes


def _store(
    engine: Engine,
    records: list[HashRecord],
    request: ContributionRequest,
    on_outcome: Callable[[ContributionOutcome], None] | None,
) -> list[ContributionOutcome]:
    outcomes = []
    with session_scope(engine) as session:
        agency = repo.get_or_create_agency(session, request.agency, request.country)
        case = repo.get_or_create_case(session, agency, request.case)
        series = repo.get_or_create_series(session, request.series)
        if request.victim_identified:
            repo.mark_series_victim_identified(session, series, agency)
        for record in records:
            sha256 = record.value(repo.IDENTITY_SIGNAL)
            if record.error or not sha256:
                outcome = ContributionOutcome(path=record.path, status="error", sha256=sha256, error=record.error)
            else:
                added = repo.add_media(
                    session, record, series=series, agency=agency, case=case,
                    category=request.category, baseline=request.baseline,
                )
                detail = repo.match_details(session, [added.media_id])[added.media_id]
                outcome = ContributionOutcome(
                    path=record.path,
                    status="added" if added.created else "known",
                    media_id=added.media_id,
                    sha256=sha256,
                    known_from=added.earlier,
                    victim_identified=detail.victim_identified,
                )
            outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
    return outcomes
