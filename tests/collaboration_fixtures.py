"""A small catalogue for the collaboration services' tests: three agencies with two accounts
each, one series with a 480x360 picture (stored encrypted) and a second picture."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from mediamatch.auth.permissions import Role
from mediamatch.catalog.collaboration import Actor
from mediamatch.media.hashing import hash_bytes
from mediamatch.services.samples import generated_picture
from mediamatch.store import repo
from mediamatch.store.blobs import EncryptedBlobStore
from mediamatch.store.db import session_scope
from mediamatch.store.keys import Keyring, generate_key
from mediamatch.store.models.auth import User

NO_LOGIN = "!"  # no argon2 hash: these accounts act through the services, never log in (and tests skip argon2's cost)
AGENCIES = {"A": ("Unit NL", "NL"), "B": ("Unit BR", "BR"), "C": ("Unit CH", "CH")}
SERIES = "Lark"


@dataclass
class Catalogue:
    engine: sa.Engine
    blobs: EncryptedBlobStore
    actors: dict[str, Actor]  # "A", "A2" (A's second account), "B", "B2", "C", "C2"
    media_ids: list[int]


def picture(seed: int) -> bytes:
    buffer = io.BytesIO()
    generated_picture(seed, (480, 360)).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def small_catalogue(engine: sa.Engine, root: Path) -> Catalogue:
    blobs = EncryptedBlobStore(root / "blobs", Keyring({"k1": generate_key()}, current_id="k1"))
    actors: dict[str, Actor] = {}
    media_ids = []
    with session_scope(engine) as session:
        agencies = {key: repo.get_or_create_agency(session, name, country) for key, (name, country) in AGENCIES.items()}
        for key, agency in agencies.items():
            for suffix in ("", "2"):
                user = User(agency=agency, username=f"investigator{suffix}@{key.lower()}", password_hash=NO_LOGIN, role=Role.INVESTIGATOR)
                session.add(user)
                session.flush()
                actors[key + suffix] = Actor(user.id, user.username, agency.id)
        series = repo.get_or_create_series(session, SERIES, notes="kitchen with blue tiles")
        for seed in (1, 2):
            data = picture(seed)
            added = repo.add_media(session, hash_bytes(data, f"p{seed}.jpg"), series=series, agency=agencies["A"], case=None, category=1, baseline=False)
            media_ids.append(added.media_id)
            blobs.put(data)
    return Catalogue(engine, blobs, actors, media_ids)
