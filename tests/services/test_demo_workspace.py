"""`mediamatch demo --serve`: the demo catalogue becomes a workspace one can sign in to, with its
pictures stored encrypted, an account per role and platform hits waiting for review."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from mediamatch.api.app import create_app
from mediamatch.api.settings import ServerSettings
from mediamatch.auth.permissions import Role
from mediamatch.services.demo import DEMO_ROLES, build_catalogue, prepare_workspace
from tests.web.conftest import csrf_token


def test_the_demo_workspace_signs_in_and_shows_the_review_queue(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'catalogue.sqlite'}"
    build_catalogue(tmp_path, db_url, workers=1)  # what run_demo builds first; its triage is tested elsewhere
    workspace = prepare_workspace(tmp_path, db_url)
    assert set(workspace.accounts.values()) == set(DEMO_ROLES) and len(workspace.password) >= 12
    assert oct(workspace.key_file.stat().st_mode)[-3:] == "600"
    settings = ServerSettings(db_url=db_url, blob_root=workspace.blob_root, key_file=workspace.key_file, secure_cookies=False)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        reviewer = next(name for name, role in workspace.accounts.items() if role == Role.REVIEWER)
        signed_in = client.post("/login", data={"username": reviewer, "password": workspace.password, "csrf_token": csrf_token(client.get("/login").text)})
        assert signed_in.status_code == 303
        queue = client.get("/review")
        assert queue.status_code == 200 and queue.text.count('class="mm-hit"') == workspace.hits == 2
        for side in ("upload", "known"):
            picture = client.get(f"/review/hits/1/{side}.jpg")
            assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg" and len(picture.content) > 1000
        client.app.state.engine.dispose()  # type: ignore[attr-defined]
