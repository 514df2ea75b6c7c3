"""The demo: a small catalogue and a "seized" folder, both generated, then a triage of it.

Everything is drawn by `samples.py`: nothing is downloaded and no real material is involved.
The seized folder holds what a real one would: exact and edited copies of known pictures
(re-encoded, resized, a thin crop, a mirror image), pictures the catalogue has never seen, a
document, and broken files. The crop is thin (1% of the height) on purpose: PDQ tolerates
little cropping (measured on the demo pictures: 8-24 bits at 1%, 30-62 at 3%; the match
radius is 31). Where PyAV is installed (the `video` extra), the Harbour series also holds a
video clip, and the seized folder a longer video that contains it and one that is new.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps
from sqlalchemy import select
from sqlalchemy.orm import Session

from mediamatch.audit.events import AuditAction, AuditEvent
from mediamatch.audit.trail import record
from mediamatch.auth.permissions import Role
from mediamatch.auth.users import create_user
from mediamatch.media.hashing import hash_bytes
from mediamatch.services import review
from mediamatch.services.contribute import ContributionRequest, contribute
from mediamatch.services.samples import generated_picture, generated_video
from mediamatch.services.triage import ERROR, KNOWN_IDENTIFIED, KNOWN_UNIDENTIFIED, NEW, NOT_MEDIA, TriageState, TriageSummary, triage
from mediamatch.services.triage_report import write_reports
from mediamatch.store import repo
from mediamatch.store.blobs import EncryptedBlobStore
from mediamatch.store.db import migrate, open_engine, session_scope
from mediamatch.store.keys import Keyring, generate_key, load_keyring, write_key_file
from mediamatch.store.models.catalogue import MediaItem, MediaSignal

MARKER = ".mediamatch-demo"
SERIES = (
    # (series, agency, country, case, victim identified, seeds of its pictures)
    ("Harbour", "Demo unit NL", "NL", "NL-2026-017", True, range(6)),
    ("Meadow", "Demo unit BR", "BR", "BR-2026-231", False, range(6, 12)),
)
UNRELATED_SEEDS = range(1000, 1006)
VIDEO_SERIES = "Harbour"
VIDEO_CLIP: dict[str, Any] = {"seconds": 6, "fps": 15, "seed": 50}  # the known clip, drawn the same way twice


def _has_video() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class DemoResult:
    folder: Path
    db_url: str
    report: Path
    summary: TriageSummary
    expected: dict[str, str]  # file name in the seized folder -> the status triage should give


def _jpeg(picture: Image.Image, quality: int = 92) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def build_catalogue(folder: Path, db_url: str, workers: int | None) -> None:
    """Contribute the demo series, each from its own agency and case."""
    engine = open_engine(db_url)
    migrate(engine)
    for series, agency, country, case, identified, seeds in SERIES:
        known = folder / "known" / series
        known.mkdir(parents=True, exist_ok=True)
        for seed in seeds:
            (known / f"{series.lower()}-{seed:02d}.jpg").write_bytes(_jpeg(generated_picture(seed)))
        if series == VIDEO_SERIES and _has_video():
            generated_video(known / f"{series.lower()}-clip.mp4", **VIDEO_CLIP)
        request = ContributionRequest(series=series, category=1, baseline=False, victim_identified=identified, agency=agency, country=country, case=case)
        contribute(engine, sorted(known.iterdir()), request, workers=workers)
    engine.dispose()


def build_seized_folder(seized: Path) -> dict[str, str]:
    """Write the seized folder; returns what triage should say of each file."""
    seized.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}

    def put(name: str, data: bytes, status: str) -> None:
        path = seized / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        expected[name] = status

    for series, _, _, _, identified, seeds in SERIES:
        status = KNOWN_IDENTIFIED if identified else KNOWN_UNIDENTIFIED
        first, second, third = list(seeds)[:3]
        picture = generated_picture(first)
        width, height = picture.size
        put(f"DCIM/{series.lower()}-exact-copy.jpg", _jpeg(picture), status)
        put(f"DCIM/{series.lower()}-reencoded-q50.jpg", _jpeg(picture, quality=50), status)
        put(f"Downloads/{series.lower()}-half-size.png", _png(generated_picture(second).resize((width // 2, height // 2))), status)
        put(f"Downloads/{series.lower()}-thin-crop.jpg", _jpeg(generated_picture(third).crop((0, 0, width, int(height * 0.99)))), status)
        put(f"Pictures/{series.lower()}-mirrored.webp", _webp(ImageOps.mirror(generated_picture(first))), status)
    for seed in UNRELATED_SEEDS:
        put(f"Pictures/holiday-{seed}.jpg", _jpeg(generated_picture(seed)), NEW)
    if _has_video():
        with tempfile.TemporaryDirectory() as scratch:
            clip = generated_video(Path(scratch) / "clip.mp4", **VIDEO_CLIP)
            compilation = generated_video(Path(scratch) / "compilation.mp4", seconds=8, fps=15, seed=60, insert=(clip, 3.0))
            put("Videos/harbour-compilation.mp4", compilation.read_bytes(), KNOWN_IDENTIFIED)
        with tempfile.TemporaryDirectory() as scratch:
            put("Videos/holiday-video.mp4", generated_video(Path(scratch) / "new.mp4", seconds=5, fps=15, seed=70, motion="zoom").read_bytes(), NEW)
    put("Documents/notes.txt", b"shopping list\nmilk\nbread\n", NOT_MEDIA)
    truncated = _jpeg(generated_picture(2000))
    put("Pictures/damaged-transfer.jpg", truncated[: len(truncated) // 3], ERROR)
    put("Pictures/empty.jpg", b"", ERROR)
    put("Pictures/not-really-a-picture.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, ERROR)
    return expected


def _png(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


def _webp(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "WEBP", quality=90)
    return buffer.getvalue()


def run_demo(folder: Path, workers: int | None = None, db_url: str | None = None) -> DemoResult:
    """Build the demo in `folder` (replacing an earlier demo there), triage it, write reports."""
    if folder.exists():
        if not (folder / MARKER).exists() and any(folder.iterdir()):
            raise FileExistsError(f"{folder} exists and is not a mediamatch demo folder; choose another --dir")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("created by `mediamatch demo`; safe to delete\n")
    db_url = db_url or f"sqlite:///{folder / 'catalogue.sqlite'}"
    build_catalogue(folder, db_url, workers)
    expected = build_seized_folder(folder / "seized")
    engine = open_engine(db_url)
    out = folder / "report"
    summary = triage(folder / "seized", out, engine, workers=workers)
    state = TriageState(out / "triage-state.sqlite")
    try:
        reports = write_reports(state, out)
    finally:
        state.close()
    engine.dispose()
    return DemoResult(folder=folder, db_url=db_url, report=reports["html"], summary=summary, expected=expected)


#: The workspace demo's accounts: one per role that works in the pages, in the Harbour series' agency.
DEMO_ROLES = (Role.INVESTIGATOR, Role.CONTRIBUTOR, Role.REVIEWER, Role.ADMIN, Role.AUDITOR)
DEMO_PLATFORM = ("Demo platform", "IE")


@dataclass(frozen=True, slots=True)
class DemoWorkspace:
    """What `mediamatch demo --serve` starts the server with, and the accounts it prints."""

    key_file: Path
    blob_root: Path
    password: str
    accounts: dict[str, Role]  # username -> role
    hits: int


def prepare_workspace(folder: Path, db_url: str) -> DemoWorkspace:
    """Make the demo catalogue ready to browse: a content key, the known pictures stored
    encrypted (so the pages can show their reduced thumbnails), one account per role with a
    fresh random password, and two platform hits waiting for review. `folder` and `db_url`
    are the demo's (`run_demo`, or `build_catalogue` alone)."""
    key_file = folder / "content.keys"
    write_key_file(key_file, Keyring({"demo": generate_key()}, current_id="demo"))
    blobs = EncryptedBlobStore(folder / "blobs", load_keyring(key_file))
    known = sorted(path for path in (folder / "known").rglob("*") if path.is_file())
    for path in known:
        blobs.put(path.read_bytes())
    password = secrets.token_urlsafe(12)
    agency_name, country = SERIES[0][1], SERIES[0][2]
    engine = open_engine(db_url)
    accounts: dict[str, Role] = {}
    try:
        with session_scope(engine) as session:
            agency = repo.get_or_create_agency(session, agency_name, country)
            for role in DEMO_ROLES:
                user = create_user(session, agency, f"demo-{role.value}", password, role)
                accounts[user.username] = role
                record(session, AuditEvent("demo", agency.name, AuditAction.USER_CREATED, "user", str(user.id), {"role": role.value}))
            platform = create_user(session, repo.get_or_create_agency(session, *DEMO_PLATFORM), "demo-platform", password, Role.PLATFORM)
            hits = _report_demo_hits(session, blobs, platform.agency_id, platform.id, [path for path in known if path.suffix == ".jpg"][:2])
    finally:
        engine.dispose()
    return DemoWorkspace(key_file, folder / "blobs", password, accounts, hits)


def _report_demo_hits(session: Session, blobs: EncryptedBlobStore, agency_id: int, account_id: int, pictures: list[Path]) -> int:
    """A platform's hits on `pictures` (re-encoded copies, uploaded), as the review queue shows them."""
    for number, path in enumerate(pictures):
        copy = _jpeg(Image.open(path), quality=60)
        pdq = hash_bytes(copy, path.name).value("pdq")
        assert pdq is not None  # a generated photograph always has a PDQ hash
        indicator = session.scalars(
            select(MediaSignal).join(MediaItem).where(MediaItem.sha256 == hashlib.sha256(path.read_bytes()).hexdigest(), MediaSignal.signal == "pdq")
        ).one()
        hit = review.report_hit(
            session, signal="pdq", value=pdq, signal_id=indicator.id, distance=(int(pdq, 16) ^ int(indicator.value, 16)).bit_count(),
            reference=f"demo-post-{number + 1}", agency_id=agency_id, account_id=account_id, list_name="demo", list_version=1,
        )  # fmt: skip
        session.flush()
        review.attach_content(session, blobs, hit.id, agency_id, copy)
    return len(pictures)
