"""A source catalogue with every kind of item the exchange formats carry, and round-trip helpers.

The catalogue holds generated benign pictures contributed as files (SHA-256, PDQ), items known
by hashes only (MD5 with PhotoDNA, SHA-1 only, MD5 only), an item in two series, identified
victims (per series and per item) and an identified offender.
"""

from __future__ import annotations

import base64
import hashlib
import random
from pathlib import Path

import sqlalchemy as sa

from mediamatch.interop.records import ExchangeRecord
from mediamatch.services.contribute import ContributionRequest, contribute
from mediamatch.services.exchange import ExportRequest, ImportRequest, export_file, import_records, read_file
from mediamatch.services.samples import generated_picture
from mediamatch.store.db import migrate, open_engine

RNG = random.Random(20261126)
PHOTODNA_BASE64 = base64.b64encode(RNG.randbytes(144)).decode("ascii")  # 192 characters, '+' and '/' likely
PHOTODNA_HEX = RNG.randbytes(144).hex().upper()  # the 288-character form some tools write


def pictures(folder: Path, count: int, first_seed: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(first_seed, first_seed + count):
        path = folder / f"scene-{seed}.jpg"
        generated_picture(seed, (160, 120)).save(path, "JPEG", quality=90)
        paths.append(path)
    return paths


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def build_source(url: str, folder: Path) -> sa.Engine:
    """The source catalogue described above, at `url`."""
    engine = open_engine(url)
    migrate(engine)
    files = pictures(folder / "files", 3)
    contribute(engine, files[:2], ContributionRequest(series="Lark", victim_identified=True, agency="NL unit", country="NL", case="NL-1"), workers=1)
    contribute(engine, files[2:], ContributionRequest(series="Wren", category=2, baseline=True, agency="NL unit"), workers=1)
    records = [
        ExchangeRecord(md5=md5_of(files[0]), series="Heron"),  # the first picture is in Lark and Heron
        ExchangeRecord(
            md5="0" * 31 + "1",
            photodna=PHOTODNA_BASE64,
            series="Heron",
            offender_identified=True,
            distributed=True,
            tags="indoor, known set",
            category=3,
            size=51234,
            media_type="image/png",
        ),
        ExchangeRecord(md5="0" * 31 + "2", photodna=PHOTODNA_HEX, baseline=True, category=0, distributed=False),
        ExchangeRecord(sha1="a" * 40, victim_identified=True),  # in no series: the item's own victim
        ExchangeRecord(md5="0" * 31 + "3", sha1="b" * 40, series="Wren", submissions=7),
    ]
    summary = import_records(engine, records, ImportRequest(agency="BR unit", country="BR"))
    assert (summary.imported, summary.merged, summary.error_count) == (4, 1, 0)
    return engine


def exported(engine: sa.Engine, fmt: str, path: Path, options: dict[str, str | None] | None = None) -> list[ExchangeRecord]:
    """Export, then read the file back: what another system would see. Ids included: an
    imported item keeps the id its sender gave it."""
    export_file(engine, path, ExportRequest(format=fmt, options=options or {}))
    return list(read_file(path, fmt))  # type: ignore[arg-type]


def import_into_fresh(url: str, path: Path, fmt: str) -> sa.Engine:
    engine = open_engine(url)
    migrate(engine)
    summary = import_records(engine, read_file(path, fmt), ImportRequest(agency="DE unit", country="DE"))
    assert summary.error_count == 0, summary.errors
    return engine
