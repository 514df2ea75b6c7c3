"""A real server app per test (SQLite and PostgreSQL), with two agencies and one account of
every role in each, each holding an API token."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mediamatch.api.app import create_app
from mediamatch.api.settings import ServerSettings
from mediamatch.auth.permissions import Role
from mediamatch.auth.tokens import issue_token
from mediamatch.auth.users import create_user
from mediamatch.services.samples import generated_picture
from mediamatch.store import repo
from mediamatch.store.db import session_scope
from mediamatch.store.keys import Keyring, generate_key, write_key_file

PASSWORD = "correct horse battery staple"
AGENCIES = (("Unit NL", "NL"), ("Unit BR", "BR"))


@dataclass
class Server:
    client: TestClient
    settings: ServerSettings
    tokens: dict[tuple[str, Role], str] = field(default_factory=dict)  # (agency, role) -> token

    def headers(self, role: Role, agency: str = AGENCIES[0][0]) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[(agency, role)]}"}


def jpeg(seed: int, quality: int = 92, mirror: bool = False) -> bytes:
    picture = generated_picture(seed, (480, 360))
    if mirror:
        picture = picture.transpose(0)  # FLIP_LEFT_RIGHT
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def make_server(db_url: str, root: Path, key_id: str = "k1") -> tuple[TestClient, ServerSettings]:
    root.mkdir(parents=True, exist_ok=True)
    key_file = root / f"{key_id}.keys"
    if not key_file.exists():
        write_key_file(key_file, Keyring({key_id: generate_key()}, current_id=key_id))
    settings = ServerSettings(db_url=db_url, blob_root=root / "blobs", key_file=key_file, secure_cookies=False)
    return TestClient(create_app(settings)), settings


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    client, settings = make_server(db_url, tmp_path)
    state = Server(client, settings)
    now = datetime.now(timezone.utc)
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        for name, country in AGENCIES:
            agency = repo.get_or_create_agency(session, name, country)
            for role in Role:
                user = create_user(session, agency, f"{role.value}@{country.lower()}", PASSWORD, role)
                state.tokens[(name, role)] = issue_token(session, user, "test", timedelta(days=1), now).plaintext
    with client:
        yield state
    client.app.state.engine.dispose()  # type: ignore[attr-defined]
