"""Contributing known media: hash the files, store each distinct content once, record who
contributed it, and tell the contributor at once what was already known.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from mediamatch.catalog import validate
from mediamatch.catalog.hashes import BytesSource, HashRecord, Source
from mediamatch.catalog.records import Category, ContributionOutcome
from mediamatch.media.hashing import hash_many
from mediamatch.media.limits import CATALOGUE_LIMITS
from mediamatch.services.catalogue_changes import catalogue_changed
from mediamatch.services.identify import note_interest
from mediamatch.store import embeddings, features, repo
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import Agency, Case, Contribution, Series

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


class ContentStore(Protocol):
    """Where contributed files are kept (the server's encrypted blob store)."""

    def put(self, data: bytes) -> str: ...


def checked_request(request: ContributionRequest) -> ContributionRequest:
    """`request` with its names and country as they will be stored, or ValueError saying what
    to type instead: the same checks as `mediamatch db add`, so the API stores nothing the
    command line would refuse."""
    return ContributionRequest(
        series=validate.series_name(request.series),
        category=Category(request.category),
        baseline=request.baseline,
        victim_identified=request.victim_identified,
        agency=validate.agency_name(request.agency) if request.agency is not None else None,
        country=validate.country_code(request.country),
        case=validate.case_reference(request.case) if request.case is not None else None,
    )


def contribute_uploads(
    engine: Engine, session: Session, uploads: Sequence[BytesSource], request: ContributionRequest, agency_id: int, store: ContentStore
) -> list[ContributionOutcome]:
    """An API contribution: the files hashed and recorded, each one that could be hashed kept
    encrypted in `store`, and the agency noted as holding media of the series (so it hears
    when its victim is identified). `request` must have passed `checked_request`."""
    outcomes = contribute(engine, uploads, request, workers=1)
    stored = {outcome.path for outcome in outcomes if outcome.status != "error"}
    for upload in uploads:
        if upload.name in stored:
            store.put(upload.data)
    series_id = session.scalar(select(Series.id).where(Series.name == request.series))
    note_interest(session, agency_id, {series_id} if series_id else set(), "contributed")
    return outcomes


def contribute(
    engine: Engine,
    sources: Iterable[Source],
    request: ContributionRequest,
    *,
    workers: int | None = None,
    on_outcome: Callable[[ContributionOutcome], None] | None = None,
) -> list[ContributionOutcome]:
    """Add files to the catalogue; one outcome per file, in input order.

    Files that cannot be hashed are reported and never stored; the agency, case and series are
    created with the first file stored, so a contribution of which nothing could be stored
    leaves nothing behind. Work is committed in batches, so an interrupted contribution keeps
    what it finished; a re-run stores no duplicate items, and no second contribution of a file
    an earlier run recorded (same item, agency, case, series and file name: a contribution
    keeps the file's name, not its folders). Within one run every file is a contribution, so
    the same content at two paths is recorded twice.
    """
    Category(request.category)  # refuse an unknown category before hashing anything
    with session_scope(engine) as session:
        earlier_runs = session.scalar(select(func.max(Contribution.id))) or 0
    outcomes: list[ContributionOutcome] = []
    batch: list[HashRecord] = []
    # Known videos are hashed densely, once, with local features (media/limits.py CATALOGUE_LIMITS).
    for record in hash_many(sources, workers=workers, limits=CATALOGUE_LIMITS):
        batch.append(record)
        if len(batch) >= COMMIT_EVERY:
            outcomes += _store(engine, batch, request, earlier_runs, on_outcome)
            batch = []
    if batch:
        outcomes += _store(engine, batch, request, earlier_runs, on_outcome)
    return outcomes


@dataclass(slots=True)
class _Contributor:
    """The agency, case and series of one batch, looked up or created when first needed."""

    session: Session
    request: ContributionRequest
    agency: Agency | None = None
    case: Case | None = None
    series: Series | None = None

    def resolve(self) -> tuple[Agency, Case | None, Series]:
        if self.agency is None or self.series is None:
            self.agency = repo.get_or_create_agency(self.session, self.request.agency, self.request.country)
            self.case = repo.get_or_create_case(self.session, self.agency, self.request.case)
            self.series = repo.get_or_create_series(self.session, self.request.series)
            if self.request.victim_identified:
                repo.mark_series_victim_identified(self.session, self.series, self.agency)
        return self.agency, self.case, self.series


def _store(
    engine: Engine,
    records: list[HashRecord],
    request: ContributionRequest,
    earlier_runs: int,
    on_outcome: Callable[[ContributionOutcome], None] | None,
) -> list[ContributionOutcome]:
    """Store one batch in one transaction; `earlier_runs` is the last contribution id recorded
    before this run began."""
    outcomes = []
    with session_scope(engine) as session:
        contributor = _Contributor(session, request)
        for record in records:
            sha256 = record.value(repo.IDENTITY_SIGNAL)
            if record.error or not sha256:
                outcome = ContributionOutcome(path=record.path, status="error", sha256=sha256, error=record.error)
            else:
                agency, case, series = contributor.resolve()
                media_id, created, earlier = _contribute_once(session, record, request, agency, case, series, earlier_runs)
                detail = repo.match_details(session, [media_id])[media_id]
                outcome = ContributionOutcome(
                    path=record.path,
                    status="added" if created else "known",
                    media_id=media_id,
                    sha256=sha256,
                    known_from=earlier,
                    victim_identified=detail.victim_identified,
                )
            outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
    catalogue_changed(engine)
    return outcomes


def _contribute_once(
    session: Session, record: HashRecord, request: ContributionRequest, agency: Agency, case: Case | None, series: Series, earlier_runs: int
) -> tuple[int, bool, tuple[str, ...]]:
    """(media id, whether the item is new, earlier contributions) of storing `record`; a file
    an earlier run already recorded (a re-run after an interruption) is not recorded again."""
    md5, sha1 = (record.value(name) for name in repo.ITEM_DIGESTS)
    item = repo.find_item(session, sha256=record.value(repo.IDENTITY_SIGNAL), md5=md5, sha1=sha1)
    if item is not None and item.sha256 is not None and _recorded(session, item.id, agency, case, series, record.path, earlier_runs):
        return item.id, False, repo.describe_contributions(session, item.id)
    added = repo.add_media(session, record, series=series, agency=agency, case=case, category=request.category, baseline=request.baseline)
    features.add_features(session, added.media_id, record)  # the similarity index's rows (services/similar.py)
    embeddings.add_embeddings(session, added.media_id, record)  # the embedding index's rows (services/global_similar.py)
    return added.media_id, added.created, added.earlier


def _recorded(session: Session, media_id: int, agency: Agency, case: Case | None, series: Series, path: str, up_to: int) -> bool:
    same = select(Contribution.id).where(
        Contribution.id <= up_to,
        Contribution.media_id == media_id,
        Contribution.agency_id == agency.id,
        Contribution.case_id.is_(None) if case is None else Contribution.case_id == case.id,
        Contribution.series_id == series.id,
        Contribution.original_name == repo.original_name(path),
    )
    return session.scalar(same.limit(1)) is not None
