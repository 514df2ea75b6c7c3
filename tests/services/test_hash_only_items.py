"""Hash-only items meeting their files: a contributed file completes the item imported by its
MD5 or SHA-1, never a duplicate; a hash that disagrees (an MD5 collision) is another file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import sqlalchemy as sa

from mediamatch.interop.records import ExchangeRecord
from mediamatch.services.contribute import ContributionRequest, contribute
from mediamatch.services.exchange import ImportRequest, import_records
from mediamatch.services.samples import generated_picture
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import Contribution, MediaItem


def jpeg(path: Path, seed: int) -> Path:
    generated_picture(seed, (160, 120)).save(path, "JPEG", quality=90)
    return path


def test_files_complete_the_items_their_md5_or_sha1_named(engine: sa.Engine, tmp_path: Path) -> None:
    by_md5, by_sha1, collided = jpeg(tmp_path / "a.jpg", 1), jpeg(tmp_path / "b.jpg", 2), jpeg(tmp_path / "c.jpg", 3)
    records = [
        ExchangeRecord(md5=hashlib.md5(by_md5.read_bytes()).hexdigest(), series="Tern", category=2),
        ExchangeRecord(sha1=hashlib.sha1(by_sha1.read_bytes()).hexdigest()),
        # the file's MD5 but another SHA-1: a different file that collides on MD5
        ExchangeRecord(md5=hashlib.md5(collided.read_bytes()).hexdigest(), sha1="f" * 40),
    ]
    assert import_records(engine, records, ImportRequest(agency="UK unit")).imported == 3

    outcomes = contribute(engine, [by_md5, by_sha1, collided], ContributionRequest(series="Tern", agency="NL unit"), workers=1)
    assert [(o.status, o.known_from) for o in outcomes] == [("known", ("UK unit",)), ("known", ("UK unit",)), ("added", ())]
    again = contribute(engine, [by_md5], ContributionRequest(series="Tern", agency="BE unit"), workers=1)
    assert again[0].media_id == outcomes[0].media_id and again[0].known_from == ("UK unit", "NL unit")

    with session_scope(engine) as session:
        items = {item.id: item for item in session.scalars(sa.select(MediaItem))}
        assert len(items) == 4  # three imported, one new file
        first = items[outcomes[0].media_id]
        assert first.sha256 == hashlib.sha256(by_md5.read_bytes()).hexdigest() and first.category == 2  # the importer's category stays
        assert first.sha1 == hashlib.sha1(by_md5.read_bytes()).hexdigest() and first.file_available is None
        assert items[outcomes[1].media_id].md5 == hashlib.md5(by_sha1.read_bytes()).hexdigest()
        collision = next(item for item in items.values() if item.sha1 == "f" * 40)
        assert collision.sha256 is None and collision.id != outcomes[2].media_id
        contributions = session.scalar(sa.select(sa.func.count()).select_from(Contribution).where(Contribution.media_id == first.id))
        assert contributions == 3
