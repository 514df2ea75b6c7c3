"""The browser workspace under test: a real server on a free port (uvicorn in a thread), its
accounts, and one chromium per test module.

`live_server` is module-scoped: one catalogue, one server and one set of accounts per module,
because argon2 account creation and server start-up cost more than most page tests. A module
that needs data of its own seeds it through `LiveServer.session()`. `start_live_server` is the
factory for modules that need a differently configured server.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy.orm import Session

from mediamatch.api.app import create_app
from mediamatch.api.settings import ServerSettings
from mediamatch.auth.permissions import Role
from mediamatch.auth.users import create_user
from mediamatch.store import repo
from mediamatch.store.db import session_scope
from mediamatch.store.keys import Keyring, generate_key, write_key_file

if TYPE_CHECKING:
    from fastapi import FastAPI
    from playwright.sync_api import Browser, Page

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REPO_AXE = Path(__file__).resolve().parents[2] / ".cache" / "node_modules" / "axe-core" / "axe.min.js"  # scripts/test.sh installs it
PASSWORD = "correct horse battery staple"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
HOME_AGENCY = ("Unit NL", "NL")
OTHER_AGENCY = ("Unit BR", "BR")


@dataclass
class LiveServer:
    url: str
    app: FastAPI
    settings: ServerSettings
    usernames: dict[Role, str] = field(default_factory=dict)  # one account of each role, in HOME_AGENCY

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work on the server's catalogue, for seeding and checking."""
        with session_scope(self.app.state.engine) as session:
            yield session

    def add_account(self, username: str, role: Role, agency: tuple[str, str] = HOME_AGENCY) -> str:
        with self.session() as session:
            create_user(session, repo.get_or_create_agency(session, *agency), username, PASSWORD, role)
        return username

    def client(self, role_or_username: Role | str | None = None) -> httpx.Client:
        """An HTTP client (cookies kept, redirects not followed), signed in through the form
        as the account (of that role) unless None."""
        client = httpx.Client(base_url=self.url)
        if role_or_username is not None:
            username = self.usernames[role_or_username] if isinstance(role_or_username, Role) else role_or_username
            answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(client.get("/login").text)})
            assert answer.status_code == 303, answer.text
        return client

    def sign_in(self, page: Page, role_or_username: Role | str, next_path: str = "/") -> None:
        """Sign `page` in through the form as the account (of that role), landing on `next_path`."""
        username = self.usernames[role_or_username] if isinstance(role_or_username, Role) else role_or_username
        page.goto(f"{self.url}/login?next={next_path}")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{self.url}{next_path}*")


def csrf_token(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def start_live_server(root: Path, **settings: Any) -> Iterator[LiveServer]:
    """A server over a new SQLite catalogue in `root`, with one account of every role in
    HOME_AGENCY, listening on 127.0.0.1 until the block ends."""
    import uvicorn

    key_file = root / "content.keys"
    write_key_file(key_file, Keyring({"k1": generate_key()}, current_id="k1"))
    options = {"db_url": f"sqlite:///{root / 'catalogue.sqlite'}", "blob_root": root / "blobs", "key_file": key_file, "secure_cookies": False, **settings}
    server_settings = ServerSettings(**options)
    app = create_app(server_settings)
    port = free_port()
    live = LiveServer(f"http://127.0.0.1:{port}", app, server_settings)
    for role in Role:
        live.usernames[role] = live.add_account(f"{role.value}@nl", role)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name=f"live-server-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield live
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with start_live_server(tmp_path_factory.mktemp("web")) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless chromium per module (skips where chromium or Playwright is absent)."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (scripts/test.sh installs Debian's package when run as root)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) per test. Fails the test on a script error, on
    anything the Content-Security-Policy refused, and on any request that leaves this machine
    (everything must come from the server itself: no CDN)."""
    context = browser.new_context()
    opened = context.new_page()
    errors: list[str] = []
    outside: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None)
    opened.on(
        "request",
        lambda request: (
            outside.append(request.url) if urlsplit(request.url).hostname not in LOCAL_HOSTS and not request.url.startswith(("data:", "blob:")) else None
        ),
    )
    yield opened
    context.close()
    assert errors == [], f"script errors or CSP refusals on the page: {errors}"
    assert outside == [], f"requests that left the server's origin: {outside}"
