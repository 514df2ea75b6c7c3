"""Data for page tests, written through the services the pages and the API use: known items
(stored encrypted, as the API's contribution stores them) and platform hits awaiting review."""

from __future__ import annotations

import io

from sqlalchemy import select

from mediamatch.catalog.hashes import BytesSource
from mediamatch.media.hashing import hash_bytes
from mediamatch.services import review
from mediamatch.services.contribute import ContributionRequest, contribute
from mediamatch.services.identify import note_interest
from mediamatch.services.samples import generated_picture
from mediamatch.store.models.auth import User
from mediamatch.store.models.catalogue import Agency, MediaSignal, Series
from tests.web.conftest import HOME_AGENCY, LiveServer


def jpeg(seed: int, quality: int = 92) -> bytes:
    """A generated, benign, colourful picture."""
    buffer = io.BytesIO()
    generated_picture(seed, (480, 360)).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def contribute_items(live: LiveServer, seeds: list[int], series: str, agency: str = HOME_AGENCY[0]) -> dict[int, int]:
    """Contribute one picture per seed to `series` for `agency` (which then holds the series);
    returns media id → seed."""
    sources = [BytesSource(f"{series}-{seed}.jpg", jpeg(seed)) for seed in seeds]
    outcomes = contribute(live.app.state.engine, sources, ContributionRequest(series=series, agency=agency, country="NL"), workers=1)
    for source in sources:
        live.app.state.blobs.put(source.data)
    with live.session() as session:
        agency_id = session.scalar(select(Agency.id).where(Agency.name == agency))
        assert agency_id is not None
        note_interest(session, agency_id, set(session.scalars(select(Series.id).where(Series.name == series))), "contributed")
    items = {outcome.media_id: seed for outcome, seed in zip(outcomes, seeds) if outcome.media_id is not None}
    assert len(items) == len(seeds), outcomes
    return items


def report_hits(live: LiveServer, items: dict[int, int], platform_username: str) -> list[int]:
    """One pending platform hit per item (media id → seed), each with the platform's upload
    (a re-encoded copy); returns the hit ids, oldest first."""
    hit_ids = []
    with live.session() as session:
        platform = session.scalar(select(User).where(User.username == platform_username))
        assert platform is not None
        for number, (media_id, seed) in enumerate(items.items()):
            indicator = session.scalars(select(MediaSignal).where(MediaSignal.media_id == media_id, MediaSignal.signal == "pdq")).one()
            copy = jpeg(seed, quality=60)
            pdq = hash_bytes(copy, "upload").value("pdq")
            assert pdq is not None
            hit = review.report_hit(
                session, signal="pdq", value=pdq, signal_id=indicator.id, distance=(int(pdq, 16) ^ int(indicator.value, 16)).bit_count(),
                reference=f"post-{number}", agency_id=platform.agency_id, account_id=platform.id, list_name="baseline", list_version=1,
            )  # fmt: skip
            session.flush()
            review.attach_content(session, live.app.state.blobs, hit.id, platform.agency_id, copy)
            hit_ids.append(hit.id)
    return hit_ids
