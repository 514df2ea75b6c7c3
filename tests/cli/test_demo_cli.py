"""`mediamatch demo --serve`: after the demo is built, the server starts on loopback with the
demo's catalogue and content key (its pictures stored encrypted), the terminal shows an account
per role and their password, and that account signs in to find platform hits to review."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from mediamatch.cli.main import app
from mediamatch.services import demo
from mediamatch.services.triage import TriageSummary
from tests.web.conftest import csrf_token


def test_demo_serve_prints_the_accounts_and_serves_the_demo_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def built(folder: Path, workers: int | None = None, db_url: str | None = None) -> demo.DemoResult:
        """The demo's catalogue without its triage (tested with the demo itself)."""
        folder.mkdir(parents=True)
        db_url = f"sqlite:///{folder / 'catalogue.sqlite'}"
        demo.build_catalogue(folder, db_url, workers=1)
        return demo.DemoResult(folder, db_url, folder / "report.html", TriageSummary(str(folder / "seized"), folder), {})

    served: dict[str, Any] = {}
    monkeypatch.setattr(demo, "run_demo", built)
    monkeypatch.setattr("uvicorn.run", lambda asgi, host, port, log_level: served.update(app=asgi, host=host, port=port))
    answer = CliRunner().invoke(app, ["demo", "--dir", str(tmp_path / "demo"), "--serve", "--port", "8123"])
    assert answer.exit_code == 0, answer.output
    assert served["host"] == "127.0.0.1" and served["port"] == 8123
    settings = served["app"].state.settings
    assert settings.db_url.endswith("demo/catalogue.sqlite") and settings.key_file == tmp_path / "demo" / "content.keys" and not settings.secure_cookies
    for username in ("demo-investigator", "demo-contributor", "demo-reviewer", "demo-admin", "demo-auditor"):
        assert username in answer.output
    assert "http://127.0.0.1:8123/" in answer.output and "2 platform hits await review" in answer.output
    password = re.search(r"password for each: (\S+)\)", answer.output)
    assert password is not None
    assert oct(settings.key_file.stat().st_mode)[-3:] == "600"

    # The printed account signs in, and the review queue shows the demo's hits with their pictures.
    with TestClient(served["app"], follow_redirects=False) as client:
        form = {"username": "demo-reviewer", "password": password.group(1), "csrf_token": csrf_token(client.get("/login").text)}
        assert client.post("/login", data=form).status_code == 303
        assert client.get("/review").text.count('class="mm-hit"') == 2
        for side in ("upload", "known"):
            picture = client.get(f"/review/hits/1/{side}.jpg")
            assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg" and len(picture.content) > 1000
    served["app"].state.engine.dispose()
